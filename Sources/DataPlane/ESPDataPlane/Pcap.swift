public import IPsecModel

/// A pcap file encoder (the classic libpcap format), pure and without I/O: what the data plane
/// sent or received, framed so that Wireshark/tshark dissect it (and, given the keys, decrypt it).
///
/// Format (https://wiki.wireshark.org/Development/LibpcapFileFormat; draft-ietf-opsawg-pcap §4, §5):
/// - a 24-byte file header: magic 0xA1B2C3D4 (microsecond timestamps), version 2.4, `thiszone` 0,
///   `sigfigs` 0, `snaplen`, and the link type (here `LINKTYPE_RAW`, 101: each frame starts at an
///   IPv4 or IPv6 header, told apart by the version nibble; https://www.tcpdump.org/linktypes.html);
/// - one record per frame: a 16-byte header (seconds, microseconds, captured length, original
///   length) and the captured bytes (at most `snaplen`).
///
/// Every field is written little-endian; readers recognise the byte order from the magic.
///
///     var file = Pcap()
///     file.append(Pcap.espInUDPFrame(esp, source: a, destination: b), seconds: 1, microseconds: 0)
///     try write(file.bytes)  // or Pcap.fileHeader() once, then Pcap.record(…) per frame
public struct Pcap: Sendable, Hashable {
    /// `LINKTYPE_RAW`: raw IPv4/IPv6, no link-layer header.
    public static let linkTypeRaw: UInt32 = 101
    /// The magic number of the microsecond-resolution format.
    public static let magic: UInt32 = 0xA1B2_C3D4
    /// The largest captured length a record may have (tcpdump's default, 262,144); longer frames are
    /// cut to it, with their original length kept.
    public static let defaultSnapLength: UInt32 = 262_144

    public let snapLength: UInt32
    public let linkType: UInt32
    /// The file so far: the header and every record appended.
    public private(set) var bytes: [UInt8]
    /// How many records were appended.
    public private(set) var count = 0

    public init(snapLength: UInt32 = Pcap.defaultSnapLength, linkType: UInt32 = Pcap.linkTypeRaw) {
        self.snapLength = snapLength
        self.linkType = linkType
        bytes = Self.fileHeader(snapLength: snapLength, linkType: linkType)
    }

    /// Appends one frame, stamped with the given time (seconds since the epoch and microseconds,
    /// below 1,000,000).
    public mutating func append(_ frame: [UInt8], seconds: UInt32, microseconds: UInt32) {
        bytes += Self.record(frame, seconds: seconds, microseconds: microseconds, snapLength: snapLength)
        count += 1
    }

    /// The 24-byte file header (draft-ietf-opsawg-pcap §4).
    public static func fileHeader(snapLength: UInt32 = defaultSnapLength, linkType: UInt32 = linkTypeRaw) -> [UInt8] {
        var h: [UInt8] = []
        h.reserveCapacity(24)
        put32(&h, magic)
        put16(&h, 2)  // major version
        put16(&h, 4)  // minor version
        put32(&h, 0)  // thiszone: timestamps are UTC
        put32(&h, 0)  // sigfigs
        put32(&h, snapLength)
        put32(&h, linkType)
        return h
    }

    /// One record: the 16-byte record header and the frame, cut to `snapLength` (draft-ietf-opsawg-pcap §5).
    public static func record(
        _ frame: [UInt8], seconds: UInt32, microseconds: UInt32,
        snapLength: UInt32 = defaultSnapLength
    ) -> [UInt8] {
        let captured = min(frame.count, Int(snapLength))
        var r: [UInt8] = []
        r.reserveCapacity(16 + captured)
        put32(&r, seconds)
        put32(&r, microseconds % 1_000_000)
        put32(&r, UInt32(captured))
        put32(&r, UInt32(truncatingIfNeeded: frame.count))
        r += frame[0..<captured]
        return r
    }

    /// An ESP packet as it travels in UDP encapsulation (RFC 3948 §2.1): the outer IPv4 or IPv6 header
    /// and UDP header (with its checksum) around the whole ESP packet (SPI ‖ sequence ‖ IV ‖ ciphertext
    /// ‖ ICV), ready for a `LINKTYPE_RAW` record. The ports are the encapsulation's, 4500 → 4500 by
    /// default (``ESPInUDP/port``). Wireshark dissects UDP port 4500 as `udpencap`, then ESP.
    public static func espInUDPFrame(
        _ espPacket: [UInt8], source: IPAddress, destination: IPAddress,
        sourcePort: UInt16 = ESPInUDP.port, destinationPort: UInt16 = ESPInUDP.port,
        identification: UInt16 = 0
    ) -> [UInt8] {
        UDPDatagram(
            source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort,
            data: espPacket
        ).packet(identification: identification)
    }

    static func put16(_ b: inout [UInt8], _ v: UInt16) {
        b.append(UInt8(v & 0xFF))
        b.append(UInt8(v >> 8))
    }

    static func put32(_ b: inout [UInt8], _ v: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { b.append(UInt8(v >> UInt32(shift) & 0xFF)) }
    }
}
