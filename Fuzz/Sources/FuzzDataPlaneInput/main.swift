// libFuzzer entry point for the data plane's other parsers of outside input: the local socket's
// messages (EndpointMessage) and the decrypted inner datagram (UDPDatagram, transport and tunnel).
//
// The first byte chooses the parser. For arbitrary bytes: no crash; a message that parses encodes
// to text that parses back to a message with the same encoding, and is stable from then on; an
// inner datagram that parses re-encodes to a datagram that parses to the same value (its checksum
// verified).
import DataPlaneNode
import ESPDataPlane
import IPsecModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDataPlaneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }
    guard let selector = all.first else { return 0 }
    let bytes = Array(all.dropFirst())
    switch selector % 3 {
    case 0:
        guard let m = try? EndpointMessage(parsing: bytes) else { return 0 }
        let again: EndpointMessage
        do { again = try EndpointMessage(parsing: m.encoded()) } catch { fatalError("encoded message does not parse: \(error)") }
        // A context whose high level equals its low one prints once (`s0-s0` → `s0`), and then parses
        // without a high level: equal in meaning, not as values. The encoding is what must not change,
        // and after one round trip the message is a fixed point.
        guard again.encoded() == m.encoded() else { fatalError("message changed through encode/parse: \(m) → \(again)") }
        guard (try? EndpointMessage(parsing: again.encoded())) == again else { fatalError("message not stable after one round trip: \(again)") }
    case 1:
        let s = IPAddress("192.0.2.1")!, d = IPAddress("192.0.2.2")!
        guard let g = try? UDPDatagram(segment: bytes, source: s, destination: d) else { return 0 }
        guard (try? UDPDatagram(segment: g.segment(), source: s, destination: d)) == g else { fatalError("segment round trip differs") }
    default:
        for nh in [UDPDatagram.ipv4, UDPDatagram.ipv6] {
            guard let g = try? UDPDatagram(packet: bytes, nextHeader: nh) else { continue }
            guard (try? UDPDatagram(packet: g.packet(), nextHeader: g.tunnelNextHeader)) == g else { fatalError("packet round trip differs") }
        }
    }
    return 0
}
