// Netlink attributes (`struct nlattr`, linux/netlink.h): type-length-value records after a message's
// family header.
//
// Layout (4-byte header, host byte order; Specs/kernel/layouts.md §1.5):
//   0  nla_len   u16  header + payload, excluding the padding to 4 bytes (NLA_ALIGN)
//   2  nla_type  u16  bit 15 NLA_F_NESTED, bit 14 NLA_F_NET_BYTEORDER, bits 0-13 the type (NLA_TYPE_MASK)

/// A netlink attribute: a type, its two flag bits, and a payload. The corresponding C type is
/// `struct nlattr`.
public struct NetlinkAttribute: Hashable, Sendable, CustomStringConvertible {
    /// The size of the attribute header: 4. The corresponding C constant is `NLA_HDRLEN`.
    public static let headerSize = 4
    /// The largest type: 14 bits. The corresponding C constant is `NLA_TYPE_MASK` (0x3fff).
    public static let typeMask: UInt16 = 0x3fff

    /// The two flag bits of `nla_type`.
    public struct Flags: OptionSet, Hashable, Sendable {
        /// The C value of the flags, in `nla_type`'s bits 14 and 15.
        public let rawValue: UInt16
        /// Creates flags from their C value.
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        /// The payload is a list of attributes. The corresponding C constant is `NLA_F_NESTED` (0x8000).
        public static let nested = Flags(rawValue: 0x8000)
        /// The payload is in network byte order. The corresponding C constant is `NLA_F_NET_BYTEORDER`
        /// (0x4000).
        public static let networkByteOrder = Flags(rawValue: 0x4000)
    }

    /// The attribute type, without the flag bits (`nla_type & NLA_TYPE_MASK`).
    public var type: UInt16
    /// The flag bits of `nla_type`.
    public var flags: Flags
    /// The payload, without the attribute header and without padding.
    public var payload: [UInt8]

    /// Creates an attribute.
    ///
    /// - Parameters:
    ///   - type: the type, at most ``typeMask``.
    ///   - flags: `NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`.
    ///   - payload: the value.
    public init(type: UInt16, flags: Flags = [], payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.payload = payload
    }

    /// Creates an attribute from the 16-bit `nla_type` as on the wire (type and flags together).
    public init(rawType: UInt16, payload: [UInt8]) {
        self.init(type: rawType & Self.typeMask, flags: Flags(rawValue: rawType & ~Self.typeMask), payload: payload)
    }

    /// `nla_type` as on the wire: the type with the flag bits.
    public var rawType: UInt16 { type | flags.rawValue }

    /// `nla_len`: header and payload, without padding.
    public var length: Int { Self.headerSize + payload.count }

    /// Whether ``flags`` contains `NLA_F_NESTED`.
    public var isNested: Bool { flags.contains(.nested) }

    // MARK: Values

    /// The payload as a host-order `u8`.
    /// - Throws: ``NetlinkDecodingError/Kind/attributeSizeMismatch(type:expected:actual:)``.
    public func uint8() throws(NetlinkDecodingError) -> UInt8 { try integer() }
    /// The payload as a host-order `u16` (a big-endian one for ``Flags/networkByteOrder``).
    public func uint16() throws(NetlinkDecodingError) -> UInt16 { try integer() }
    /// The payload as a host-order `u32` (a big-endian one for ``Flags/networkByteOrder``).
    public func uint32() throws(NetlinkDecodingError) -> UInt32 { try integer() }
    /// The payload as a host-order `u64` (a big-endian one for ``Flags/networkByteOrder``).
    public func uint64() throws(NetlinkDecodingError) -> UInt64 { try integer() }

    private func integer<T: FixedWidthInteger>() throws(NetlinkDecodingError) -> T {
        guard payload.count == MemoryLayout<T>.size else {
            throw NetlinkDecodingError(
                .attributeSizeMismatch(type: type, expected: MemoryLayout<T>.size, actual: payload.count), at: 0)
        }
        let value: T = payload.hostInteger(at: 0)
        return flags.contains(.networkByteOrder) ? T(bigEndian: value) : value
    }

    /// The payload as a string: the bytes before the first NUL (all of them if there is none), decoded
    /// as UTF-8 with invalid sequences replaced. The corresponding C function is `nla_get_string`.
    public func string() -> String {
        let end = payload.firstIndex(of: 0) ?? payload.count
        return String(decoding: payload[..<end], as: UTF8.self)
    }

    /// The payload as a list of attributes (for a nested attribute).
    /// - Throws: ``NetlinkDecodingError`` for a malformed list; offsets count from this payload's start.
    public func nested() throws(NetlinkDecodingError) -> [NetlinkAttribute] {
        try NetlinkAttributeDecoder.decodeAll(payload)
    }

    /// `type 8 len 45`, with `nested`/`net-byteorder` when flagged.
    public var description: String {
        var text = "type \(type) len \(length)"
        if flags.contains(.nested) { text += " nested" }
        if flags.contains(.networkByteOrder) { text += " net-byteorder" }
        return text
    }
}

/// Builds a list of attributes: each padded to 4 bytes, `nla_len` excluding the padding, nests
/// written with a placeholder length that is patched once their contents are known.
///
/// ```swift
/// var encoder = NetlinkAttributeEncoder()
/// try encoder.append(type: 8, payload: securityContextBytes)
/// try encoder.appendNested(type: 1) { nested in try nested.append(type: 2, uint32: 7) }
/// let payload = familyHeader + encoder.bytes
/// ```
///
/// The corresponding libmnl functions are `mnl_attr_put`, `mnl_attr_nest_start` and
/// `mnl_attr_nest_end`.
public struct NetlinkAttributeEncoder: Sendable {
    /// The encoded attributes so far; always a multiple of 4 bytes long.
    public private(set) var bytes: [UInt8]

    /// Creates an empty encoder.
    public init() { bytes = [] }

    /// Appends one attribute.
    /// - Throws: ``NetlinkEncodingError`` when the attribute does not fit `nla_len` or the type uses
    ///   the flag bits.
    public mutating func append(type: UInt16, flags: NetlinkAttribute.Flags = [], payload: [UInt8]) throws(NetlinkEncodingError) {
        try Self.check(type: type, length: NetlinkAttribute.headerSize + payload.count)
        bytes.appendHostInteger(UInt16(NetlinkAttribute.headerSize + payload.count))
        bytes.appendHostInteger(type | flags.rawValue)
        bytes.append(contentsOf: payload)
        bytes.padToAlignment()
    }

    /// Appends an attribute as it was decoded, flags included.
    public mutating func append(_ attribute: NetlinkAttribute) throws(NetlinkEncodingError) {
        try append(type: attribute.type, flags: attribute.flags, payload: attribute.payload)
    }

    /// Appends a host-order `u8` attribute.
    public mutating func append(type: UInt16, uint8 value: UInt8) throws(NetlinkEncodingError) {
        try append(type: type, payload: [value])
    }
    /// Appends a host-order `u16` attribute.
    public mutating func append(type: UInt16, uint16 value: UInt16) throws(NetlinkEncodingError) {
        try append(type: type, payload: withUnsafeBytes(of: value, Array.init))
    }
    /// Appends a host-order `u32` attribute.
    public mutating func append(type: UInt16, uint32 value: UInt32) throws(NetlinkEncodingError) {
        try append(type: type, payload: withUnsafeBytes(of: value, Array.init))
    }
    /// Appends a host-order `u64` attribute.
    public mutating func append(type: UInt16, uint64 value: UInt64) throws(NetlinkEncodingError) {
        try append(type: type, payload: withUnsafeBytes(of: value, Array.init))
    }
    /// Appends a NUL-terminated string attribute. The corresponding libmnl function is
    /// `mnl_attr_put_strz`.
    public mutating func append(type: UInt16, string: String) throws(NetlinkEncodingError) {
        try append(type: type, payload: Array(string.utf8) + [0])
    }

    /// Appends a nested attribute (`NLA_F_NESTED` set) whose contents `body` writes; its `nla_len` is
    /// patched when `body` returns.
    ///
    /// - Throws: what `body` throws, or ``NetlinkEncodingError`` when the nest is longer than 65535
    ///   bytes. On error the encoder is left as it was before the call.
    public mutating func appendNested(
        type: UInt16, flags: NetlinkAttribute.Flags = .nested,
        _ body: (inout NetlinkAttributeEncoder) throws -> Void
    ) throws {
        let nest = try beginNested(type: type, flags: flags)
        do {
            try body(&self)
            try endNested(nest)
        } catch {
            bytes.removeSubrange(nest.offset...)
            throw error
        }
    }

    /// The start of a nested attribute, returned by ``beginNested(type:flags:)``.
    public struct Nest: Hashable, Sendable {
        /// The offset of the nest's header in ``NetlinkAttributeEncoder/bytes``.
        public let offset: Int
        /// The nest's type.
        public let type: UInt16
    }

    /// Starts a nested attribute: writes its header with a placeholder length. Attributes appended
    /// until ``endNested(_:)`` go inside it. The corresponding libmnl function is `mnl_attr_nest_start`.
    public mutating func beginNested(type: UInt16, flags: NetlinkAttribute.Flags = .nested) throws(NetlinkEncodingError) -> Nest {
        try Self.check(type: type, length: NetlinkAttribute.headerSize)
        let nest = Nest(offset: bytes.count, type: type)
        bytes.appendHostInteger(UInt16(0))  // nla_len, patched by endNested
        bytes.appendHostInteger(type | flags.rawValue)
        return nest
    }

    /// Ends a nested attribute: patches its `nla_len` to cover everything appended since
    /// ``beginNested(type:flags:)``. The corresponding libmnl function is `mnl_attr_nest_end`.
    /// - Throws: ``NetlinkEncodingError/Kind/attributeTooLong(type:length:)`` when the nest is longer
    ///   than 65535 bytes (the caller decides whether to drop it, as `mnl_attr_nest_cancel` would).
    public mutating func endNested(_ nest: Nest) throws(NetlinkEncodingError) {
        precondition(nest.offset + NetlinkAttribute.headerSize <= bytes.count, "endNested for a nest this encoder did not begin")
        let length = bytes.count - nest.offset
        try Self.check(type: nest.type, length: length)
        bytes.setHostInteger(UInt16(length), at: nest.offset)
    }

    private static func check(type: UInt16, length: Int) throws(NetlinkEncodingError) {
        guard type & ~NetlinkAttribute.typeMask == 0 else { throw NetlinkEncodingError(.attributeTypeTooLarge(type)) }
        guard length <= Int(UInt16.max) else { throw NetlinkEncodingError(.attributeTooLong(type: type, length: length)) }
    }
}

/// Reads attributes one by one from a payload, checking every length against the bytes that remain.
///
/// ```swift
/// var decoder = NetlinkAttributeDecoder(message.payload, from: 168)   // after xfrm_userpolicy_info
/// while let attribute = try decoder.next() {
///     switch attribute.type { case 8: ... default: break }
/// }
/// ```
///
/// As the kernel's `nla_ok` / `nla_next`, the padding after the last attribute may be missing;
/// anything else left over (fewer than 4 bytes, or a header whose length does not fit) is an error.
/// Error offsets count from the start of the buffer given to the decoder.
///
/// The corresponding libmnl function is `mnl_attr_parse`; the corresponding kernel macro is
/// `nla_for_each_attr`.
public struct NetlinkAttributeDecoder: Sendable {
    /// The deepest nesting ``decodeAll(_:from:)`` follows when asked to decode nests: 32.
    public static let maximumDepth = 32

    private let bytes: [UInt8]
    /// The offset of the next attribute in the buffer.
    public private(set) var offset: Int

    /// Creates a decoder over `bytes`, starting at `offset` (after a family header).
    public init(_ bytes: [UInt8], from offset: Int = 0) {
        self.bytes = bytes
        self.offset = min(max(0, offset), bytes.count)
    }

    /// The next attribute, or `nil` at the end.
    /// - Throws: ``NetlinkDecodingError`` for a truncated or overlong attribute; the decoder then
    ///   stays at that attribute.
    public mutating func next() throws(NetlinkDecodingError) -> NetlinkAttribute? {
        let start = offset
        guard let frame = try bytes.withUnsafeBytesThrowing({ raw throws(NetlinkDecodingError) in try Self.frame(in: raw, at: start) }) else {
            return nil
        }
        offset = frame.next
        return NetlinkAttribute(rawType: frame.rawType, payload: Array(bytes[frame.payload]))
    }

    /// The attribute at `offset` of bytes read in place (a received datagram), with the checks of
    /// ``next()``: its `nla_type` as on the wire (flag bits included), where its payload lies in
    /// `bytes`, and where the next attribute starts; `nil` at the end.
    /// - Throws: ``NetlinkDecodingError`` for a truncated or overlong attribute, at `offset`.
    public static func frame(
        in bytes: UnsafeRawBufferPointer, at offset: Int
    ) throws(NetlinkDecodingError) -> (rawType: UInt16, payload: Range<Int>, next: Int)? {
        guard offset < bytes.count else { return nil }
        let available = bytes.count - offset
        guard available >= NetlinkAttribute.headerSize else {
            throw NetlinkDecodingError(.truncatedAttributeHeader(available: available), at: offset)
        }
        let length = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        let rawType = bytes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)
        let type = rawType & NetlinkAttribute.typeMask
        guard Int(length) >= NetlinkAttribute.headerSize else {
            throw NetlinkDecodingError(.attributeLengthTooSmall(type: type, length: length), at: offset)
        }
        guard Int(length) <= available else {
            throw NetlinkDecodingError(.attributeLengthExceedsPayload(type: type, length: length, available: available), at: offset)
        }
        let end = offset + Int(length)
        return (rawType, (offset + NetlinkAttribute.headerSize)..<end, min(netlinkAlign(end), bytes.count))
    }

    /// All attributes in `bytes` from `offset` on.
    /// - Throws: ``NetlinkDecodingError`` for the first malformed attribute.
    public static func decodeAll(_ bytes: [UInt8], from offset: Int = 0) throws(NetlinkDecodingError) -> [NetlinkAttribute] {
        var decoder = NetlinkAttributeDecoder(bytes, from: offset)
        var attributes: [NetlinkAttribute] = []
        while let attribute = try decoder.next() { attributes.append(attribute) }
        return attributes
    }

    /// Checks that `bytes` from `offset` on is a well-formed attribute list, following attributes
    /// flagged `NLA_F_NESTED` into their contents down to ``maximumDepth``.
    /// - Throws: ``NetlinkDecodingError`` with the offset (in `bytes`) of the first malformed attribute.
    public static func validate(_ bytes: [UInt8], from offset: Int = 0) throws(NetlinkDecodingError) {
        try validate(bytes, from: offset, base: 0, depth: 0)
    }

    private static func validate(_ bytes: [UInt8], from offset: Int, base: Int, depth: Int) throws(NetlinkDecodingError) {
        guard depth < maximumDepth else { throw NetlinkDecodingError(.nestingTooDeep(limit: maximumDepth), at: base + offset) }
        var decoder = NetlinkAttributeDecoder(bytes, from: offset)
        while true {
            let start = decoder.offset
            let attribute: NetlinkAttribute?
            do {
                attribute = try decoder.next()
            } catch {
                throw NetlinkDecodingError(error.kind, at: base + error.offset)
            }
            guard let attribute else { return }
            if attribute.isNested {
                try validate(attribute.payload, from: 0, base: base + start + NetlinkAttribute.headerSize, depth: depth + 1)
            }
        }
    }
}
