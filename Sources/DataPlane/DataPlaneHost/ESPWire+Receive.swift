import ESPDataPlane
public import IPsecModel

extension ESPWire {
    /// A receive run: ESP in UDP on one port, each packet opened with the SA its SPI names.
    public struct Receive: Sendable {
        /// The inbound SAs, in `ip xfrm state add` words, one per SPI.
        public var states: [String]
        /// The UDP port (default: the first SA's encapsulation destination port, or 4500).
        public var port: UInt16?
        /// The local address (default: any, of the first SA's family).
        public var bind: IPAddress?
        /// Inner datagrams to receive before the run ends.
        public var count: Int = 1
        /// Seconds to wait for them, in all.
        public var timeout: Double = 10
        /// A pcap file to write the received datagrams (outer IP, UDP, ESP) to.
        public var pcap: String?

        public init(states: [String]) { self.states = states }

        /// Counts of what arrived, for the summary.
        public struct Totals: Sendable, Hashable {
            public var received = 0, dropped = 0, keepalives = 0, nonESP = 0, truncated = 0
        }

        /// What one datagram was, or where the run stands.
        public enum Event: Sendable {
            /// The port is bound.
            case ready(port: UInt16)
            /// A NAT-keepalive, a non-ESP datagram, one too short for ESP (RFC 3948 §2).
            case keepalive(from: SocketAddress)
            case nonESP(from: SocketAddress, bytes: Int)
            case truncated(from: SocketAddress, bytes: Int)
            /// No SA has its SPI.
            case unknownSPI(spi: UInt32, from: SocketAddress)
            /// The SA dropped it (`reason`: the data plane's drop reason, or what is wrong with the
            /// inner packet).
            case dropped(spi: UInt32, sequence: UInt64?, reason: String)
            /// Opened: the inner datagram.
            case received(spi: UInt32, sequence: UInt64, datagram: UDPDatagram)
            /// The time ran out first.
            case timeout(Totals)
            /// The run ended (after `count` datagrams, or after a timeout).
            case summary(Totals)
        }

        /// Receives until `count` inner datagrams arrived (true) or the time ran out (false),
        /// calling `event` for each datagram.
        public func run(_ event: (Event) -> Void) throws(ESPWireError) -> Bool {
            var sas: [UInt32: (sa: SecurityAssociation, esp: ESPSecurityAssociation)] = [:]
            var firstSA: SecurityAssociation?
            for line in states {
                let sa = try ESPWire.securityAssociation(stateWords: line)
                if firstSA == nil { firstSA = sa }
                guard sas[sa.spi] == nil else { throw ESPWireError(.input, "two --state lines have SPI 0x\(String(sa.spi, radix: 16))") }
                sas[sa.spi] = (sa, try ESPWire.transform(sa))
            }
            guard let first = firstSA else { throw ESPWireError(.input, "give at least one --state") }
            let family = first.destination.family
            let local = bind ?? .any(family)
            let localPort = port ?? first.encapsulation?.destinationPort ?? ESPInUDP.port
            let socket = try ESPWire.open(SocketAddress(local, localPort))
            event(.ready(port: localPort))
            var file = pcap.map { _ in Pcap() }
            defer { try? ESPWire.write(file, to: pcap) }
            var totals = Totals()
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            while totals.received < count {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero, let (datagram, source) = socket.receive(timeout: left) else {
                    event(.timeout(totals))
                    event(.summary(totals))
                    return false
                }
                if file != nil {
                    let (seconds, microseconds) = ESPWire.now()
                    file!.append(
                        Pcap.espInUDPFrame(
                            datagram, source: source.address, destination: local == .any(family) ? first.destination : local,
                            sourcePort: source.port, destinationPort: localPort),
                        seconds: seconds, microseconds: microseconds)
                }
                switch ESPInUDP.classify(datagram) {
                case .keepalive: totals.keepalives += 1; event(.keepalive(from: source)); continue
                case .nonESP: totals.nonESP += 1; event(.nonESP(from: source, bytes: datagram.count)); continue
                case .truncated: totals.truncated += 1; event(.truncated(from: source, bytes: datagram.count)); continue
                case .esp: break
                }
                let spi = UInt32(datagram[0]) << 24 | UInt32(datagram[1]) << 16 | UInt32(datagram[2]) << 8 | UInt32(datagram[3])
                guard let (sa, esp) = sas[spi] else {
                    totals.dropped += 1
                    event(.unknownSPI(spi: spi, from: source))
                    continue
                }
                switch esp.open(datagram) {
                case .failure(let drop):
                    totals.dropped += 1
                    event(.dropped(spi: spi, sequence: drop.sequence, reason: drop.reason.rawValue.replacingOccurrences(of: " ", with: "-")))
                case .success(let payload):
                    let inner: UDPDatagram
                    do throws(InnerPacketError) {
                        switch payload.nextHeader {
                        case UDPDatagram.udp where sa.mode == .transport:
                            inner = try UDPDatagram(segment: payload.data, source: sa.source, destination: sa.destination)
                        case UDPDatagram.ipv4 where sa.mode == .tunnel, UDPDatagram.ipv6 where sa.mode == .tunnel:
                            inner = try UDPDatagram(packet: payload.data, nextHeader: payload.nextHeader)
                        default:
                            totals.dropped += 1
                            event(.dropped(spi: spi, sequence: payload.sequence, reason: "next-header-\(payload.nextHeader)-in-\(sa.mode)-mode"))
                            continue
                        }
                    } catch {
                        totals.dropped += 1
                        event(.dropped(spi: spi, sequence: payload.sequence, reason: "inner-\(error.description.replacingOccurrences(of: " ", with: "-"))"))
                        continue
                    }
                    totals.received += 1
                    event(.received(spi: spi, sequence: payload.sequence, datagram: inner))
                }
            }
            event(.summary(totals))
            return true
        }
    }
}
