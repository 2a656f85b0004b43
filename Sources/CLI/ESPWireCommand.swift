import ArgumentParser
import DataPlaneHost
import ESPDataPlane
import Foundation
import ScenarioKernel
import IPsecModel
import XfrmManager

#if canImport(Glibc)
import Glibc
#endif

// `salabel esp-wire …` (hidden): salabel's userspace ESP data plane on real UDP sockets, for the wire
// compatibility checks against the Linux kernel's ESP (Tests/KernelVMTests/ESPWireCompatibilityVMTests.swift).
// The SA is given in `ip xfrm state add` words (`--state`), parsed by the same parser as `salabel xfrm`
// (IPXfrmSyntax), so one line configures the kernel (`ip xfrm state add LINE`) and salabel.
//
//   send          seal UDP datagrams with the SA and send each ESP packet in UDP (RFC 3948) to ADDR:PORT
//   receive       receive ESP-in-UDP on a port, open it with the SA(s), print each inner datagram
//   encap-socket  a UDP socket with UDP_ENCAP_ESPINUDP, so that the kernel decapsulates ESP arriving on
//                 its port (what an IKE daemon holds open); it does nothing else
//
// Output: one line per event, flushed at once (KEY=VALUE words), so a script can read it while the
// command still runs. Keys are never printed, not even in error messages.
// Exit status: 0 done; 1 a timeout or a failed send; 2 bad input (state line, algorithm, address).

/// `SOL_UDP` (17) option `UDP_ENCAP` (100) and its value `UDP_ENCAP_ESPINUDP` (2): linux/udp.h.
let solUDP: Int32 = 17
let udpEncap: Int32 = 100
let udpEncapESPInUDP: Int32 = 2

struct ESPWireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esp-wire",
        abstract: "The userspace ESP data plane on UDP sockets, for wire-compatibility tests with the kernel's ESP.",
        discussion: """
            --state takes the words of `ip xfrm state add` (with or without the leading `ip xfrm state add`), e.g. "src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 mode transport aead rfc4106(gcm(aes)) 0x… 128 encap espinudp 4500 4500 0.0.0.0".

            Supported: rfc4106(gcm(aes)), and cbc(aes) with hmac(sha256) (auth-trunc … 128). Keys are never printed.
            """,
        shouldDisplay: false,
        subcommands: [Send.self, Receive.self, EncapSocket.self])

    // MARK: - send

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send",
            abstract: "Seal UDP datagrams with an SA and send each ESP packet in a UDP datagram (RFC 3948).",
            discussion: """
                Transport mode: the ESP payload is the UDP segment (next header 17) between the SA's addresses.

                Tunnel mode: it is an IP packet (next header 4 or 41) between --inner-src and --inner-dst (the SA's addresses by default).

                Prints `SENT seq=N bytes=B` per packet.
                """)
        @Option(help: "The SA, in `ip xfrm state add` words.") var state: String
        @Option(help: "Where to send the UDP datagrams (default: the SA's destination).") var to: String?
        @Option(help: "Their destination port (default: the SA's encap destination port, or 4500).") var port: UInt16?
        @Option(name: .customLong("from-port"), help: "Their local port (default: the SA's encap source port, or 4500).")
        var fromPort: UInt16?
        @Option(name: .customLong("inner-sport"), help: "The inner datagram's source port.") var innerSport: UInt16
        @Option(name: .customLong("inner-dport"), help: "The inner datagram's destination port.") var innerDport: UInt16
        @Option(name: .customLong("inner-src"), help: "Tunnel mode: the inner source address.") var innerSrc: String?
        @Option(name: .customLong("inner-dst"), help: "Tunnel mode: the inner destination address.") var innerDst: String?
        @Option(help: "The inner datagram's data (UTF-8).") var message: String
        @Option(help: "Datagrams to send.") var count: Int = 1
        @Option(help: "Tests: the 1-based index of a packet whose first ciphertext byte is flipped after sealing.")
        var corrupt: Int?
        @Option(help: "Write the sent packets (outer IP, UDP, ESP) to this pcap file.") var pcap: String?

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
            if let corrupt, !(1...count).contains(corrupt) { throw ValidationError("--corrupt must be between 1 and --count") }
        }

        func run() throws {
            signal(SIGPIPE, SIG_IGN)
            let sa = try WireSA.parse(state)
            let esp = try WireSA.dataPlane(sa)
            let target = try to.map { try WireSA.address($0, option: "--to") } ?? sa.destination
            let remotePort = port ?? sa.encapsulation?.destinationPort ?? ESPInUDP.port
            let localPort = fromPort ?? sa.encapsulation?.sourcePort ?? ESPInUDP.port
            let inner: UDPDatagram
            let nextHeader: UInt8
            switch sa.mode {
            case .transport:
                guard innerSrc == nil && innerDst == nil else {
                    throw ValidationError("--inner-src and --inner-dst are for tunnel mode; transport mode uses the SA's addresses")
                }
                inner = UDPDatagram(source: sa.source, destination: sa.destination, sourcePort: innerSport, destinationPort: innerDport,
                                    data: Array(message.utf8))
                nextHeader = UDPDatagram.udp
            case .tunnel:
                let s = try innerSrc.map { try WireSA.address($0, option: "--inner-src") } ?? sa.source
                let d = try innerDst.map { try WireSA.address($0, option: "--inner-dst") } ?? sa.destination
                guard s.family == d.family else { throw ValidationError("--inner-src and --inner-dst are of different families") }
                inner = UDPDatagram(source: s, destination: d, sourcePort: innerSport, destinationPort: innerDport, data: Array(message.utf8))
                nextHeader = inner.tunnelNextHeader
            default:
                throw WireSA.fail("mode \(sa.mode) is not supported (transport or tunnel)")
            }
            guard inner.data.count <= UDPDatagram.maximumData - 100 else { throw ValidationError("--message is too long for one datagram") }
            let payload = sa.mode == .transport ? inner.segment() : inner.packet()

            let socket = try WireSA.open(SocketAddress(.any(target.family), localPort))
            var file = pcap.map { _ in Pcap() }
            var failures = 0
            for index in 1...count {
                var packet: [UInt8]
                do { packet = try esp.seal(payload, nextHeader: nextHeader) } catch { throw WireSA.fail("cannot seal: \(error)") }
                let sequence = esp.sent
                var note = ""
                if corrupt == index {
                    // The first ciphertext byte: after the SPI, the sequence number and the IV (8 bytes for
                    // GCM, 16 for CBC); the ICV covers it either way.
                    let offset = 8 + (sa.algorithms.aead != nil ? 8 : 16)
                    packet[offset] ^= 0x01
                    note = " corrupted_offset=\(offset)"
                }
                do { try socket.send(packet, to: SocketAddress(target, remotePort)) } catch {
                    say("SEND_FAILED seq=\(sequence) errno=\(SocketProbe.errnoName(error.errno))")
                    failures += 1
                    continue
                }
                if file != nil {
                    let (seconds, microseconds) = WireSA.now()
                    file!.append(Pcap.espInUDPFrame(packet, source: sa.source, destination: target, sourcePort: localPort,
                                                    destinationPort: remotePort, identification: UInt16(truncatingIfNeeded: index)),
                                 seconds: seconds, microseconds: microseconds)
                }
                say("SENT spi=0x\(String(sa.spi, radix: 16)) seq=\(sequence) bytes=\(packet.count) to=\(target):\(remotePort)\(note)")
            }
            if let pcap, let file {
                guard FileManager.default.createFile(atPath: pcap, contents: Data(file.bytes)) else {
                    throw WireSA.fail("cannot write the pcap file \(pcap)")
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    // MARK: - receive

    struct Receive: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "receive",
            abstract: "Receive ESP in UDP on a port; open each packet with the SA its SPI names; print the inner datagram.",
            discussion: """
                Prints per datagram: `RECEIVED spi=0x… seq=N src=… dst=… sport=N dport=N data=TEXT` (data_hex=… when the data is not printable text), `DROPPED spi=0x… reason=…`, `KEEPALIVE`, `NONESP` or `TRUNCATED`; READY once the port is bound, and a SUMMARY line at the end.

                Exit 0 when --count datagrams were received, 1 on timeout.
                """)
        @Option(help: "An inbound SA, in `ip xfrm state add` words (repeatable: one per SPI).") var state: [String]
        @Option(help: "The UDP port to bind (default: the first SA's encap destination port, or 4500).") var port: UInt16?
        @Option(help: "The local address to bind (default: any).") var bind: String?
        @Option(help: "Inner datagrams to receive before exiting.") var count: Int = 1
        @Option(help: "Seconds to wait for them, in all.") var timeout: Double = 10
        @Option(help: "Write the received datagrams (outer IP, UDP, ESP) to this pcap file.") var pcap: String?

        func validate() throws {
            guard !state.isEmpty else { throw ValidationError("give at least one --state") }
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        }

        func run() throws {
            signal(SIGPIPE, SIG_IGN)
            var sas: [UInt32: (sa: SecurityAssociation, esp: ESPSecurityAssociation)] = [:]
            for line in state {
                let sa = try WireSA.parse(line)
                guard sas[sa.spi] == nil else { throw WireSA.fail("two --state lines have SPI 0x\(String(sa.spi, radix: 16))") }
                sas[sa.spi] = (sa, try WireSA.dataPlane(sa))
            }
            let first = try WireSA.parse(state[0])
            let family = first.destination.family
            let local = try bind.map { try WireSA.address($0, option: "--bind") } ?? .any(family)
            let localPort = port ?? first.encapsulation?.destinationPort ?? ESPInUDP.port
            let socket = try WireSA.open(SocketAddress(local, localPort))
            say("READY port=\(localPort)")
            var file = pcap.map { _ in Pcap() }
            defer {
                if let pcap, let file { _ = FileManager.default.createFile(atPath: pcap, contents: Data(file.bytes)) }
            }
            var received = 0, dropped = 0, keepalives = 0, nonESP = 0, truncated = 0
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            while received < count {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero, let (datagram, source) = socket.receive(timeout: left) else {
                    say("TIMEOUT received=\(received) dropped=\(dropped)")
                    say("SUMMARY received=\(received) dropped=\(dropped) keepalive=\(keepalives) nonesp=\(nonESP) truncated=\(truncated)")
                    throw ExitCode(1)
                }
                let from = source.address, fromPort = source.port
                if file != nil {
                    let (seconds, microseconds) = WireSA.now()
                    file!.append(Pcap.espInUDPFrame(datagram, source: from, destination: local == .any(family) ? first.destination : local,
                                                    sourcePort: fromPort, destinationPort: localPort),
                                 seconds: seconds, microseconds: microseconds)
                }
                switch ESPInUDP.classify(datagram) {
                case .keepalive: keepalives += 1; say("KEEPALIVE from=\(from):\(fromPort)"); continue
                case .nonESP: nonESP += 1; say("NONESP from=\(from):\(fromPort) bytes=\(datagram.count)"); continue
                case .truncated: truncated += 1; say("TRUNCATED from=\(from):\(fromPort) bytes=\(datagram.count)"); continue
                case .esp: break
                }
                let spi = UInt32(datagram[0]) << 24 | UInt32(datagram[1]) << 16 | UInt32(datagram[2]) << 8 | UInt32(datagram[3])
                guard let (sa, esp) = sas[spi] else {
                    dropped += 1
                    say("DROPPED spi=0x\(String(spi, radix: 16)) reason=unknown-spi from=\(from):\(fromPort)")
                    continue
                }
                switch esp.open(datagram) {
                case .failure(let drop):
                    dropped += 1
                    say("DROPPED spi=0x\(String(spi, radix: 16)) seq=\(drop.sequence.map(String.init) ?? "-") reason=\(drop.reason.rawValue.replacingOccurrences(of: " ", with: "-"))")
                case .success(let payload):
                    let inner: UDPDatagram
                    do throws(InnerPacketError) {
                        switch payload.nextHeader {
                        case UDPDatagram.udp where sa.mode == .transport:
                            inner = try UDPDatagram(segment: payload.data, source: sa.source, destination: sa.destination)
                        case UDPDatagram.ipv4 where sa.mode == .tunnel, UDPDatagram.ipv6 where sa.mode == .tunnel:
                            inner = try UDPDatagram(packet: payload.data, nextHeader: payload.nextHeader)
                        default:
                            dropped += 1
                            say("DROPPED spi=0x\(String(spi, radix: 16)) seq=\(payload.sequence) reason=next-header-\(payload.nextHeader)-in-\(sa.mode)-mode")
                            continue
                        }
                    } catch {
                        dropped += 1
                        say("DROPPED spi=0x\(String(spi, radix: 16)) seq=\(payload.sequence) reason=inner-\(error.description.replacingOccurrences(of: " ", with: "-"))")
                        continue
                    }
                    received += 1
                    say("RECEIVED spi=0x\(String(spi, radix: 16)) seq=\(payload.sequence) src=\(inner.source) dst=\(inner.destination) "
                        + "sport=\(inner.sourcePort) dport=\(inner.destinationPort) \(WireSA.dataField(inner.data))")
                }
            }
            say("SUMMARY received=\(received) dropped=\(dropped) keepalive=\(keepalives) nonesp=\(nonESP) truncated=\(truncated)")
        }
    }

    // MARK: - encap-socket

    struct EncapSocket: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "encap-socket",
            abstract: "Hold a UDP socket with UDP_ENCAP_ESPINUDP open, so that the kernel decapsulates ESP in UDP on its port.",
            discussion: "Prints ENCAP_READY once the option is set, then sleeps until killed or --seconds pass.")
        @Option(help: "The UDP port.") var port: UInt16 = ESPInUDP.port
        @Option(help: "The address family: 4 or 6.") var family: Int = 4
        @Option(help: "Exit after this many seconds (default: never).") var seconds: Double?

        func run() throws {
            guard family == 4 || family == 6 else { throw ValidationError("--family is 4 or 6") }
            let socket = try WireSA.open(SocketAddress(.any(family == 4 ? .inet : .inet6), port))
            var type = udpEncapESPInUDP
            guard setsockopt(socket.fd, solUDP, udpEncap, &type, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw WireSA.fail("setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP): \(SocketProbe.errnoName(errno))", status: 1)
            }
            say("ENCAP_READY port=\(port)")
            if let seconds {
                var left = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
                var rest = timespec()
                while nanosleep(&left, &rest) != 0 && errno == EINTR { left = rest }
            } else {
                while true { pause() }
            }
        }
    }
}

/// Prints one line and flushes it (a script reads the lines while the command runs).
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The SA from `--state`, the data plane over it, and small helpers.
enum WireSA {
    /// Reports an error on standard error and returns the exit to throw.
    /// A UDP socket bound to `address` (exit 1 with the errno's name when it cannot be).
    static func open(_ address: SocketAddress) throws -> UDPSocket {
        do { return try UDPSocket(binding: address) } catch {
            throw fail("bind to port \(address.port): \(SocketProbe.errnoName(error.errno))", status: 1)
        }
    }

    static func fail(_ message: String, status: Int32 = Status.error) -> ExitCode {
        FileHandle.standardError.write(Data("salabel esp-wire: \(message)\n".utf8))
        return ExitCode(status)
    }

    /// Parses `ip xfrm state add` words (the leading `ip xfrm state add|update` optional). The error
    /// never repeats a key: a word that stands where a key stands is replaced by `<key>`.
    static func parse(_ line: String) throws -> SecurityAssociation {
        var words: [String]
        do { words = try IPXfrmSyntax.words(line) } catch { throw fail("--state: \(error.message)") }
        if words.first == "ip" { words.removeFirst() }
        if words.first == "xfrm" { words.removeFirst() }
        if words.first == "state" { words.removeFirst() }
        if let verb = words.first, verb == "add" || verb == "update" { words.removeFirst() }
        let keys = Set(words.indices.compactMap { i -> String? in
            guard ["enc", "auth", "auth-trunc", "aead"].contains(words[i]), i + 2 < words.count else { return nil }
            return words[i + 2]
        }.filter { $0.count >= 4 })
        func redacted(_ text: String) -> String {
            keys.reduce(text) { $0.replacingOccurrences(of: $1, with: "<key>") }
        }
        let operation: XfrmOperation
        do { operation = try IPXfrmSyntax.parse(words: ["state", "add"] + words) } catch {
            // Word numbers count from the first word after `state add`.
            let at = error.word > 2 ? "word \(error.word - 2): " : ""
            throw fail("--state: \(at)\(redacted(error.message))")
        }
        guard case .addSA(let sa) = operation else { throw fail("--state: not a state") }
        guard sa.proto == .esp else { throw fail("--state: proto \(sa.proto): salabel's data plane runs ESP only") }
        if let encap = sa.encapsulation, encap.type != 2 {
            throw fail("--state: encap type \(encap.type): the data plane runs espinudp (RFC 3948) only")
        }
        return sa
    }

    /// The data plane's SA; an unsupported algorithm is a clear error (no key in it).
    static func dataPlane(_ sa: SecurityAssociation) throws -> ESPSecurityAssociation {
        do { return try ESPSecurityAssociation(sa) } catch { throw fail("--state (spi 0x\(String(sa.spi, radix: 16))): \(error)") }
    }

    static func address(_ text: String, option: String) throws -> IPAddress {
        guard let a = IPAddress(text) else { throw fail("\(option): '\(text)' is not an IPv4 or IPv6 address") }
        return a
    }

    /// The wall clock, for pcap timestamps.
    static func now() -> (UInt32, UInt32) {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return (UInt32(truncatingIfNeeded: t.tv_sec), UInt32(t.tv_nsec / 1000))
    }

    /// `data=TEXT` when the bytes are printable ASCII without spaces' ambiguity (the rest of the line is
    /// the text), else `data_hex=…`.
    static func dataField(_ data: [UInt8]) -> String {
        if data.allSatisfy({ (0x20...0x7E).contains($0) }) { return "data=" + String(decoding: data, as: UTF8.self) }
        return "data_hex=" + data.map { String(format: "%02x", $0) }.joined()
    }
}
