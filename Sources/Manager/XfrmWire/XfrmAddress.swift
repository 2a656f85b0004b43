public import IPsecModel

/// `xfrm_address_t`: a 16-byte union of an IPv4 address (first 4 bytes) and an IPv6 address, in
/// network byte order. Which one it holds is said by a family field next to it. All 16 bytes are
/// kept as received, so a decoded address re-encodes byte for byte.
public struct XfrmAddress: XfrmStruct, CustomStringConvertible {
    public static let size = 16
    public static let cName = "xfrm_address_t"

    /// The 16 bytes (IPv4 in the first 4, the rest zero when built from an ``IPAddress``).
    public private(set) var bytes: [UInt8]

    /// The all-zero address.
    public static let zero = XfrmAddress(unchecked: Array(repeating: 0, count: 16))

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// An address from up to 16 bytes, zero-filled on the right.
    public init?(bytes: [UInt8]) {
        guard bytes.count <= 16 else { return nil }
        self.bytes = bytes + Array(repeating: 0, count: 16 - bytes.count)
    }

    /// An IPv4 or IPv6 address.
    public init(_ address: IPAddress) { self.init(bytes: address.bytes)! }

    public init(decoding bytes: [UInt8], at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: 16, name: Self.cName)
        self.bytes = r.raw(16)   // 0/16, network order
    }

    public func encode(into bytes: inout [UInt8]) { bytes.append(contentsOf: self.bytes) }

    /// The address as the given family (`AF_INET` 2: the first 4 bytes; `AF_INET6` 10: all 16).
    /// - Throws: ``XfrmWireError/Code/badFamily`` for any other family.
    public func ipAddress(family: UInt16, field: String = "address") throws(XfrmWireError) -> IPAddress {
        switch family {
        case 2: return IPAddress(bytes: Array(bytes[0..<4]))!
        case 10: return IPAddress(bytes: bytes)!
        default: throw XfrmWireError(.badFamily, at: 0, "\(field): expected family 2 (AF_INET) or 10 (AF_INET6), found \(family)")
        }
    }

    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// Hex of the 16 bytes.
    public var description: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}

/// The family number used on the wire for a model family.
extension IPAddress.Family {
    var wire: UInt16 { rawValue }
}
