public import IPsecModel

/// `xfrm_address_t`: a 16-byte union of an IPv4 address (first 4 bytes) and an IPv6 address, in
/// network byte order. Which one it holds is said by a family field next to it. All 16 bytes are
/// kept as received, so a decoded address re-encodes byte for byte.
public struct XfrmAddress: XfrmStruct, CustomStringConvertible {
    public static let size = 16
    public static let cName = "xfrm_address_t"

    /// Bytes 0–7 and 8–15 as big-endian words (kept inline: a dump or a batch has tens of
    /// thousands of addresses).
    private let high: UInt64, low: UInt64

    /// The 16 bytes (IPv4 in the first 4, the rest zero when built from an `IPAddress`).
    public var bytes: [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: ($0 < 8 ? high : low) >> (56 - 8 * UInt64($0 % 8))) }
    }

    /// The all-zero address.
    public static let zero = XfrmAddress(high: 0, low: 0)

    private init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// An address from up to 16 bytes, zero-filled on the right.
    public init?(bytes: [UInt8]) {
        guard bytes.count <= 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high |= UInt64(b) << (56 - 8 * UInt64(i)) } else { low |= UInt64(b) << (56 - 8 * UInt64(i - 8)) }
        }
        self.init(high: high, low: low)
    }

    /// An IPv4 or IPv6 address.
    public init(_ address: IPAddress) {
        let w = address.words
        self.init(high: w.high, low: w.low)
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: 16, name: Self.cName)
        high = r.big(UInt64.self)  // 0/16, network order
        low = r.big(UInt64.self)
    }

    public func write(to w: inout StructWriter) {
        w.big(high)
        w.big(low)
    }

    /// The address as the given family (`AF_INET` 2: the first 4 bytes; `AF_INET6` 10: all 16).
    /// - Throws: ``XfrmWireError/Code/badFamily`` for any other family.
    public func ipAddress(family: UInt16, field: String = "address") throws(XfrmWireError) -> IPAddress {
        switch family {
        case 2: return IPAddress(family: .inet, words: (high, low))
        case 10: return IPAddress(family: .inet6, words: (high, low))
        default: throw XfrmWireError(.badFamily, at: 0, "\(field): expected family 2 (AF_INET) or 10 (AF_INET6), found \(family)")
        }
    }

    public var isZero: Bool { high == 0 && low == 0 }

    /// Hex of the 16 bytes.
    public var description: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}

/// The family number used on the wire for a model family.
extension IPAddress.Family {
    var wire: UInt16 { rawValue }
}
