/// ESP in UDP (RFC 3948): how the data plane carries ESP between hosts over plain UDP sockets,
/// as the kernel does for an SA with `encap espinudp` (`UDP_ENCAP_ESPINUDP`, 2).
///
/// A datagram on the encapsulation port is one of (RFC 3948 §2):
/// - an ESP packet, whose first four bytes are its SPI (never 0);
/// - a NAT-keepalive: one byte, 0xFF (§2.3);
/// - an IKE message behind the non-ESP marker, four zero bytes (§2.2).
///
/// The UDP checksum of the outer datagram is left to the socket (RFC 3948 §3.1.1 lets the sender
/// send 0 over IPv4; Linux fills it in).
public enum ESPInUDP {
    /// The IANA port for ESP in UDP and IKE after NAT detection (RFC 3948 §2, RFC 7296 §2.23).
    public static let port: UInt16 = 4500

    /// What one received datagram is.
    public enum Datagram: Sendable, Hashable {
        case esp
        /// A NAT-keepalive (0xFF): discarded.
        case keepalive
        /// A message behind the non-ESP marker (IKE): not the data plane's.
        case nonESP
        /// Shorter than an ESP header (SPI and sequence number, 8 bytes) and not a keepalive.
        case truncated
    }

    /// Classifies a datagram received on the encapsulation port (RFC 3948 §2.2, §2.3; the kernel's
    /// `udp_esp_rcv` makes the same distinctions).
    public static func classify(_ datagram: [UInt8]) -> Datagram {
        let n = datagram.count
        guard n > 0 else { return .truncated }
        if n == 1 { return datagram[0] == 0xFF ? .keepalive : .truncated }
        guard n >= 4 else { return .truncated }
        if datagram[0] | datagram[1] | datagram[2] | datagram[3] == 0 { return .nonESP }
        return n >= 8 ? .esp : .truncated
    }
}
