public import IPsecModel

/// Why a decrypted payload is not a datagram the data plane delivers.
public enum InnerPacketError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Shorter than the header it must start with.
    case truncated(String)
    /// A length field disagrees with the bytes (UDP length, IPv4 total length, IPv6 payload length).
    case badLength(String)
    /// The UDP checksum (RFC 768, over the pseudo-header) or the IPv4 header checksum fails.
    case badChecksum(String)
    /// The upper-layer protocol is not UDP (17): the userspace data plane carries datagrams only.
    case notUDP(UInt8)
    /// An IPv4 fragment, or an IPv6 extension header: not reassembled here.
    case unsupported(String)
    /// The IP version nibble is neither 4 nor 6, or does not match the next header (4 or 41).
    case badVersion(UInt8)

    public var description: String {
        switch self {
        case .truncated(let w): "truncated \(w)"
        case .badLength(let w): "bad \(w) length"
        case .badChecksum(let w): "bad \(w) checksum"
        case .notUDP(let p): "upper-layer protocol \(p) is not UDP (17)"
        case .unsupported(let w): "unsupported: \(w)"
        case .badVersion(let v): "IP version \(v) where 4 or 6 (matching the next header) was expected"
        }
    }
}

/// A UDP datagram as the data plane carries it inside ESP: its addresses and ports and its data.
///
/// - Transport mode (next header 17): the ESP payload is the UDP segment (RFC 768: source port,
///   destination port, length, checksum, data); the addresses are the SA's, and the checksum's
///   pseudo-header uses them.
/// - Tunnel mode (next header 4 or 41): the ESP payload is a whole IPv4 (RFC 791, 20-byte header,
///   no options) or IPv6 (RFC 8200, no extension headers) packet carrying the segment; its
///   addresses are the flow's, which may differ from the SA's tunnel endpoints.
public struct UDPDatagram: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var data: [UInt8]

    public init(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16, data: [UInt8]) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.data = data
    }

    /// `IPPROTO_UDP`, the next header of a transport-mode payload.
    public static let udp: UInt8 = 17
    /// `IPPROTO_IPIP` (4) and `IPPROTO_IPV6` (41): the next header of a tunnel-mode payload.
    public static let ipv4: UInt8 = 4, ipv6: UInt8 = 41

    /// The largest UDP payload over IPv4 (65,535 − 20 − 8) and the largest segment.
    public static let maximumData = 65_507

    // MARK: - The segment (transport mode)

    /// The UDP segment: header and data, with the checksum over the IPv4 or IPv6 pseudo-header
    /// (RFC 768; RFC 8200 §8.1). A computed checksum of 0 is sent as 0xFFFF.
    public func segment() -> [UInt8] {
        let length = 8 + data.count
        var s = [UInt8](repeating: 0, count: 8)
        s.reserveCapacity(length)
        Self.put16(&s, 0, sourcePort)
        Self.put16(&s, 2, destinationPort)
        Self.put16(&s, 4, UInt16(truncatingIfNeeded: length))
        s += data
        let sum = Self.checksum(s, pseudo: pseudoHeaderSum(length: length))
        Self.put16(&s, 6, sum == 0 ? 0xFFFF : sum)
        return s
    }

    /// Reads a UDP segment that arrived between `source` and `destination`: the length field must
    /// equal the segment's length and the checksum must verify (0 over IPv4 means none was sent;
    /// over IPv6 it is invalid, RFC 8200 §8.1).
    ///
    /// With `verifyingChecksum` false the checksum is not checked: for a transport-mode ESP
    /// payload, whose every byte the ICV has already authenticated (the kernel marks it
    /// `CHECKSUM_UNNECESSARY` for an SA with UDP encapsulation, `esp_input_done2`; RFC 3948 §3.1.2).
    public init(segment s: [UInt8], source: IPAddress, destination: IPAddress, verifyingChecksum: Bool = true) throws(InnerPacketError) {
        try self.init(segment: s[...], source: source, destination: destination, verifyingChecksum: verifyingChecksum)
    }

    /// Reads a UDP segment from a slice (e.g. behind an IP header); see ``init(segment:source:destination:verifyingChecksum:)``.
    public init(segment slice: ArraySlice<UInt8>, source: IPAddress, destination: IPAddress, verifyingChecksum: Bool = true) throws(InnerPacketError) {
        guard slice.count >= 8 else { throw .truncated("UDP header") }
        let length = Int(Self.get16(slice, 4))
        guard length == slice.count else { throw .badLength("UDP") }
        self.init(
            source: source, destination: destination, sourcePort: Self.get16(slice, 0), destinationPort: Self.get16(slice, 2),
            data: Array(slice.dropFirst(8)))
        let sent = Self.get16(slice, 6)
        if !verifyingChecksum { return }
        if sent == 0 {
            guard source.family == .inet else { throw .badChecksum("UDP (zero over IPv6)") }
        } else {
            guard Self.checksum(slice, pseudo: pseudoHeaderSum(length: length)) == 0 else { throw .badChecksum("UDP") }
        }
    }

    // MARK: - The packet (tunnel mode)

    /// The next header of ``packet(identification:)``: 4 for IPv4, 41 for IPv6.
    public var tunnelNextHeader: UInt8 { source.family == .inet ? Self.ipv4 : Self.ipv6 }

    /// The IP packet carrying the segment: an IPv4 header (no options, don't fragment, TTL 64,
    /// header checksum) or an IPv6 header (hop limit 64), then the segment.
    public func packet(identification: UInt16 = 0) -> [UInt8] {
        let seg = segment()
        if source.family == .inet {
            var h = [UInt8](repeating: 0, count: 20)
            h[0] = 0x45
            Self.put16(&h, 2, UInt16(truncatingIfNeeded: 20 + seg.count))
            Self.put16(&h, 4, identification)
            h[6] = 0x40  // DF
            h[8] = 64
            h[9] = Self.udp
            h.replaceSubrange(12..<16, with: source.bytes)
            h.replaceSubrange(16..<20, with: destination.bytes)
            Self.put16(&h, 10, Self.checksum(h, pseudo: 0))
            return h + seg
        }
        var h = [UInt8](repeating: 0, count: 40)
        h[0] = 0x60
        Self.put16(&h, 4, UInt16(truncatingIfNeeded: seg.count))
        h[6] = Self.udp
        h[7] = 64
        h.replaceSubrange(8..<24, with: source.bytes)
        h.replaceSubrange(24..<40, with: destination.bytes)
        return h + seg
    }

    /// Reads a tunnel-mode payload: an IPv4 or IPv6 packet (as `nextHeader` says) carrying one
    /// whole UDP segment. IPv4 options are skipped; fragments and IPv6 extension headers are
    /// refused; the IPv4 header checksum and the lengths must be right.
    public init(packet p: [UInt8], nextHeader: UInt8) throws(InnerPacketError) {
        guard let first = p.first else { throw .truncated("IP header") }
        let version = first >> 4
        switch (nextHeader, version) {
        case (Self.ipv4, 4):
            guard p.count >= 20 else { throw .truncated("IPv4 header") }
            let headerLength = Int(first & 0x0F) * 4
            guard headerLength >= 20, p.count >= headerLength else { throw .badLength("IPv4 header") }
            guard Self.checksum(p[..<headerLength], pseudo: 0) == 0 else { throw .badChecksum("IPv4 header") }
            let total = Int(Self.get16(p[...], 2))
            guard total == p.count else { throw .badLength("IPv4 total") }
            guard Self.get16(p[...], 6) & 0x3FFF == 0 else { throw .unsupported("an IPv4 fragment") }
            guard p[9] == Self.udp else { throw .notUDP(p[9]) }
            try self.init(
                segment: p[headerLength...], source: IPAddress(bytes: Array(p[12..<16]))!,
                destination: IPAddress(bytes: Array(p[16..<20]))!)
        case (Self.ipv6, 6):
            guard p.count >= 40 else { throw .truncated("IPv6 header") }
            guard Int(Self.get16(p[...], 4)) == p.count - 40 else { throw .badLength("IPv6 payload") }
            guard p[6] == Self.udp else {
                if [0, 43, 44, 60, 51, 50, 135].contains(p[6]) { throw .unsupported("IPv6 extension header \(p[6])") }
                throw .notUDP(p[6])
            }
            try self.init(
                segment: p[40...], source: IPAddress(bytes: Array(p[8..<24]))!,
                destination: IPAddress(bytes: Array(p[24..<40]))!)
        default:
            throw .badVersion(version)
        }
    }

    // MARK: - Helpers

    static func put16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) {
        b[at] = UInt8(v >> 8)
        b[at + 1] = UInt8(v & 0xFF)
    }

    /// The big-endian 16-bit word at offset `at` of `b` (from its start, for a slice too).
    static func get16(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
        let i = b.startIndex + at
        return UInt16(b[i]) << 8 | UInt16(b[i + 1])
    }

    /// The one's-complement sum of the pseudo-header (addresses, protocol, length), unfolded.
    private func pseudoHeaderSum(length: Int) -> UInt32 {
        func words(_ bytes: [UInt8]) -> UInt32 {
            var sum: UInt32 = 0
            for i in stride(from: 0, to: bytes.count, by: 2) { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]) }
            return sum
        }
        return words(source.bytes) + words(destination.bytes) + UInt32(Self.udp) + UInt32(length & 0xFFFF) + UInt32(length >> 16)
    }

    /// The Internet checksum (RFC 1071) of `bytes` plus an unfolded partial sum: the complement of
    /// the folded one's-complement sum; 0 when the bytes include a correct checksum.
    static func checksum(_ bytes: [UInt8], pseudo: UInt32) -> UInt16 { checksum(bytes[...], pseudo: pseudo) }

    static func checksum(_ bytes: ArraySlice<UInt8>, pseudo: UInt32) -> UInt16 {
        var sum = UInt64(pseudo)
        bytes.withUnsafeBytes { raw in
            // Eight bytes at a time: four big-endian 16-bit words summed in 64 bits (RFC 1071 §2:
            // the sum may be computed in wider words and folded), then the tail word by word.
            var i = 0
            let n = raw.count
            while i + 8 <= n {
                let w = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                sum += (w >> 48) + (w >> 32 & 0xFFFF) + (w >> 16 & 0xFFFF) + (w & 0xFFFF)
                i += 8
            }
            while i + 1 < n {
                sum += UInt64(raw[i]) << 8 | UInt64(raw[i + 1])
                i += 2
            }
            if i < n { sum += UInt64(raw[i]) << 8 }
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
