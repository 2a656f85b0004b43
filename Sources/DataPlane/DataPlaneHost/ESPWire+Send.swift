import ESPDataPlane
public import IPsecModel
import LinuxSystem  // Errno

extension ESPWire {
    /// A send run: UDP datagrams sealed with one SA, each ESP packet sent in a UDP datagram
    /// (RFC 3948).
    public struct Send: Sendable {
        /// The SA, in `ip xfrm state add` words.
        public var state: String
        /// Where to send (default: the SA's destination).
        public var to: IPAddress?
        /// The UDP ports (default: the SA's encapsulation ports, or 4500).
        public var port: UInt16?
        public var fromPort: UInt16?
        /// The inner datagram: ports, tunnel-mode addresses (default: the SA's), its data.
        public var innerSourcePort: UInt16
        public var innerDestinationPort: UInt16
        public var innerSource: IPAddress?
        public var innerDestination: IPAddress?
        public var message: [UInt8]
        /// Datagrams to send, each sealed anew.
        public var count: Int = 1
        /// Tests: the 1-based index of a packet whose first ciphertext byte is flipped after sealing.
        public var corrupt: Int?
        /// A pcap file to write the sent packets (outer IP, UDP, ESP) to.
        public var pcap: String?

        public init(state: String, innerSourcePort: UInt16, innerDestinationPort: UInt16, message: [UInt8]) {
            self.state = state
            self.innerSourcePort = innerSourcePort
            self.innerDestinationPort = innerDestinationPort
            self.message = message
        }

        /// What happened to one packet.
        public enum Event: Sendable {
            /// Sent: the SA's SPI, the packet's sequence number and size, where to, and the offset of
            /// the byte flipped (`corrupt`).
            case sent(spi: UInt32, sequence: UInt64, bytes: Int, to: IPAddress, port: UInt16, corruptedOffset: Int?)
            /// The socket refused it (the errno's C name).
            case sendFailed(sequence: UInt64, errno: String)
        }

        /// Seals and sends `count` datagrams, calling `event` for each; true when every send succeeded.
        public func run(_ event: (Event) -> Void) throws(ESPWireError) -> Bool {
            let sa = try ESPWire.securityAssociation(stateWords: state)
            let esp = try ESPWire.transform(sa)
            let target = to ?? sa.destination
            let remotePort = port ?? sa.encapsulation?.destinationPort ?? ESPInUDP.port
            let localPort = fromPort ?? sa.encapsulation?.sourcePort ?? ESPInUDP.port
            let inner: UDPDatagram
            let nextHeader: UInt8
            switch sa.mode {
            case .transport:
                guard innerSource == nil && innerDestination == nil else {
                    throw ESPWireError(.usage, "--inner-src and --inner-dst are for tunnel mode; transport mode uses the SA's addresses")
                }
                inner = UDPDatagram(
                    source: sa.source, destination: sa.destination, sourcePort: innerSourcePort,
                    destinationPort: innerDestinationPort, data: message)
                nextHeader = UDPDatagram.udp
            case .tunnel:
                let s = innerSource ?? sa.source, d = innerDestination ?? sa.destination
                guard s.family == d.family else { throw ESPWireError(.usage, "--inner-src and --inner-dst are of different families") }
                inner = UDPDatagram(source: s, destination: d, sourcePort: innerSourcePort, destinationPort: innerDestinationPort, data: message)
                nextHeader = inner.tunnelNextHeader
            default:
                throw ESPWireError(.input, "mode \(sa.mode) is not supported (transport or tunnel)")
            }
            guard inner.data.count <= UDPDatagram.maximumData - 100 else { throw ESPWireError(.usage, "--message is too long for one datagram") }
            let payload = sa.mode == .transport ? inner.segment() : inner.packet()

            let socket = try ESPWire.open(SocketAddress(.any(target.family), localPort))
            var file = pcap.map { _ in Pcap() }
            var failures = 0
            for index in 1...max(1, count) {
                var packet: [UInt8]
                do { packet = try esp.seal(payload, nextHeader: nextHeader) } catch { throw ESPWireError(.input, "cannot seal: \(error)") }
                let sequence = esp.sent
                var corrupted: Int?
                if corrupt == index {
                    // The first ciphertext byte: after the SPI, the sequence number and the IV (8 bytes for
                    // GCM, 16 for CBC); the ICV covers it either way.
                    let offset = 8 + (sa.algorithms.aead != nil ? 8 : 16)
                    packet[offset] ^= 0x01
                    corrupted = offset
                }
                do { try socket.send(packet, to: SocketAddress(target, remotePort)) } catch {
                    event(.sendFailed(sequence: sequence, errno: Errno(rawValue: error.errno).name))
                    failures += 1
                    continue
                }
                if file != nil {
                    let (seconds, microseconds) = ESPWire.now()
                    file!.append(
                        Pcap.espInUDPFrame(
                            packet, source: sa.source, destination: target, sourcePort: localPort,
                            destinationPort: remotePort, identification: UInt16(truncatingIfNeeded: index)),
                        seconds: seconds, microseconds: microseconds)
                }
                event(.sent(spi: sa.spi, sequence: sequence, bytes: packet.count, to: target, port: remotePort, corruptedOffset: corrupted))
            }
            try ESPWire.write(file, to: pcap)
            return failures == 0
        }
    }
}
