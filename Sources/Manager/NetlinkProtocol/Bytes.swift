// Host-order integer access to byte arrays. Netlink headers and attributes are in host byte order
// (little-endian on x86-64); the few big-endian fields (ports, SPIs, addresses) belong to the codecs
// above this module, which say so where they read them.

extension Array where Element == UInt8 {
    /// The integer stored at `offset` in host byte order. The caller has checked the bounds.
    @inline(__always)
    internal func hostInteger<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "read past the end of a checked buffer")
        return withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// Appends `value` in host byte order.
    @inline(__always)
    internal mutating func appendHostInteger<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }

    /// Overwrites the bytes at `offset` with `value` in host byte order.
    @inline(__always)
    internal mutating func setHostInteger<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "write past the end of a buffer")
        Swift.withUnsafeBytes(of: value) { source in
            for (index, byte) in source.enumerated() { self[offset + index] = byte }
        }
    }

    /// Appends zero bytes up to the next multiple of 4 (`NLMSG_ALIGN` / `NLA_ALIGN`).
    @inline(__always)
    internal mutating func padToAlignment() {
        let padding = netlinkAlign(count) - count
        if padding > 0 { append(contentsOf: repeatElement(0, count: padding)) }
    }
}

/// Rounds `length` up to a multiple of 4: the kernel's `NLMSG_ALIGN` and `NLA_ALIGN` (`NLMSG_ALIGNTO` =
/// `NLA_ALIGNTO` = 4).
@inline(__always)
internal func netlinkAlign(_ length: Int) -> Int {
    (length + 3) & ~3
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws one error type (the standard library's `rethrows`
    /// one loses the type).
    @inline(__always)
    internal func withUnsafeBytesThrowing<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
    }
}
