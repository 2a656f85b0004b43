// Bounds-checked reading and writing of the fixed C structs. Integers name their byte order at
// every use: `host` (little-endian on x86-64, as the kernel writes netlink) or `big` (network order:
// SPIs, ports, addresses).

/// A cursor over a struct's bytes. The constructor checks that the whole struct is present, so the
/// reads that follow cannot run past the end.
struct StructReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    /// Checks that `size` bytes of `name` are present at `offset`.
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int, size: Int, name: String) throws(XfrmWireError) {
        let available = offset <= bytes.count ? bytes.count - offset : 0
        guard offset >= 0, available >= size else {
            throw XfrmWireError(.truncatedStruct, at: offset, "\(name): expected \(size) bytes, found \(available)")
        }
        self.bytes = bytes
        self.offset = offset
    }

    mutating func u8() -> UInt8 {
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func host<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        // The struct's size was checked when the reader was made; one unaligned load per field.
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func big<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(bigEndian: value)
    }

    mutating func raw(_ count: Int) -> [UInt8] {
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Skips compiler padding (not kept: the kernel and iproute2 both zero it).
    mutating func pad(_ count: Int) { offset += count }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws one error type (the standard library's `rethrows`
    /// one loses the type).
    @inline(__always)
    func withUnsafeBytesThrowing<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
    }

    // Byte by byte: after inlining each is a store and a count check, where appending a buffer's
    // contents goes through the generic sequence path (most of a message's encoding time).

    /// Appends `value` in x86-64's (little-endian) order.
    @inline(__always)
    mutating func appendHost<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    /// Appends `value` in network (big-endian) order.
    @inline(__always)
    mutating func appendBig<T: FixedWidthInteger>(_ value: T) {
        for index in (0..<MemoryLayout<T>.size).reversed() { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    @inline(__always)
    mutating func appendZeros(_ count: Int) {
        for _ in 0..<count { append(0) }
    }
}

/// A fixed-size kernel struct with a codec. Sizes and offsets are x86-64's (Specs/kernel/layouts.md §1); on
/// i386 the structs with 64-bit members are shorter (Specs/kernel/layouts.md §1.6), which this module does
/// not support.
public protocol XfrmStruct: Hashable, Sendable {
    /// The C `sizeof` on x86-64.
    static var size: Int { get }
    /// The C name, for messages.
    static var cName: String { get }
    /// Decodes the struct at `offset` of bytes read in place (a received datagram).
    /// - Throws: ``XfrmWireError/Code/truncatedStruct`` when fewer than ``size`` bytes remain.
    init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError)
    /// Writes the fields at their offsets, in order, ``size`` bytes in all (padding is skipped: the
    /// writer's bytes start zero).
    func write(to writer: inout StructWriter)
}

/// Writes a fixed struct's fields into bytes already appended as zeros: one growth of the array and
/// one uniqueness check for the whole struct, then a store per field (a message's fixed part has
/// dozens of fields, and a batch thousands of messages).
public struct StructWriter {
    private let base: UnsafeMutableRawPointer
    /// Bytes written (or skipped) so far.
    public private(set) var offset = 0

    fileprivate init(base: UnsafeMutableRawPointer) { self.base = base }

    /// A host-order (x86-64: little-endian) integer.
    @inline(__always)
    public mutating func host<T: FixedWidthInteger>(_ value: T) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    /// A network-order (big-endian) integer.
    @inline(__always)
    public mutating func big<T: FixedWidthInteger>(_ value: T) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    /// One byte.
    @inline(__always)
    public mutating func u8(_ value: UInt8) { host(value) }

    /// Skips `count` bytes of padding (left zero).
    @inline(__always)
    public mutating func pad(_ count: Int) { offset += count }
}

/// Zeros to grow an array by before a struct is written over them.
private let zeroBytes = [UInt8](repeating: 0, count: 512)

extension Array where Element == UInt8 {
    /// Appends `size` bytes that `write` fills in place (``StructWriter``).
    @inline(__always)
    mutating func appendStruct(size: Int, _ write: (inout StructWriter) -> Void) {
        let start = count
        var left = size
        while left > 0 {
            let n = Swift.min(left, zeroBytes.count)
            append(contentsOf: zeroBytes[0..<n])
            left -= n
        }
        withUnsafeMutableBytes { raw in
            var writer = StructWriter(base: raw.baseAddress! + start)
            write(&writer)
            assert(writer.offset == size, "a struct writer wrote \(writer.offset) of \(size) bytes")
        }
    }
}

extension XfrmStruct {
    /// Decodes the struct at `offset` of `bytes`.
    /// - Throws: ``XfrmWireError/Code/truncatedStruct`` when fewer than ``size`` bytes remain.
    public init(decoding bytes: [UInt8], at offset: Int) throws(XfrmWireError) {
        self = try bytes.withUnsafeBytesThrowing { raw throws(XfrmWireError) in try Self(decoding: raw, at: offset) }
    }

    /// Appends exactly ``size`` bytes.
    public func encode(into bytes: inout [UInt8]) {
        bytes.appendStruct(size: Self.size) { write(to: &$0) }
    }

    /// The struct's ``size`` bytes.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.size)
        encode(into: &bytes)
        return bytes
    }

    /// Decodes a struct that must fill `bytes` exactly (an attribute payload).
    static func decodeExactly(_ bytes: UnsafeRawBufferPointer, attribute: @autoclosure () -> String) throws(XfrmWireError) -> Self {
        guard bytes.count == size else {
            throw XfrmWireError(.badAttributeLength, at: 0, "\(attribute()): expected a \(size)-byte \(cName), found \(bytes.count) bytes")
        }
        return try Self(decoding: bytes, at: 0)
    }
}
