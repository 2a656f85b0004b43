import ArgumentParser
import DataPlaneHost
import ESPDataPlane
import Foundation
import IPsecModel

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
// Exit status: 0 done; 1 a timeout, a failed send or a refused socket; 2 bad input (state line, algorithm, address).
// The runs themselves are DataPlaneHost's ESPWire; this file parses options and prints events.

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
            ESPWire.ignoreBrokenPipes()
            var send = ESPWire.Send(state: state, innerSourcePort: innerSport, innerDestinationPort: innerDport, message: Array(message.utf8))
            send.to = try to.map { try address($0, option: "--to") }
            send.port = port
            send.fromPort = fromPort
            send.innerSource = try innerSrc.map { try address($0, option: "--inner-src") }
            send.innerDestination = try innerDst.map { try address($0, option: "--inner-dst") }
            send.count = count
            send.corrupt = corrupt
            send.pcap = pcap
            if try !wire({ () throws(ESPWireError) in try send.run { say($0.line) } }) { throw CommandFailure.exit(Status.denied) }
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
            ESPWire.ignoreBrokenPipes()
            var receive = ESPWire.Receive(states: state)
            receive.port = port
            receive.bind = try bind.map { try address($0, option: "--bind") }
            receive.count = count
            receive.timeout = timeout
            receive.pcap = pcap
            if try !wire({ () throws(ESPWireError) in try receive.run { say($0.line) } }) { throw CommandFailure.exit(Status.denied) }
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
            try wire { () throws(ESPWireError) in
                try ESPWire.holdEncapSocket(port: port, family: family == 4 ? .inet : .inet6, seconds: seconds) { say("ENCAP_READY port=\(port)") }
            }
        }
    }
}

/// Prints one line and flushes it (a script reads the lines while the command runs).
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Runs an ESP-wire run; its error on standard error as `salabel esp-wire: …` with the exit status
/// its kind calls for (a usage error as ArgumentParser's).
private func wire<T>(_ body: () throws(ESPWireError) -> T) throws -> T {
    do { return try body() } catch {
        switch error.kind {
        case .usage: throw ValidationError(error.description)
        case .input, .output: throw CommandFailure(status: Status.error, message: "salabel esp-wire: \(error.description)")
        case .system: throw CommandFailure(status: Status.denied, message: "salabel esp-wire: \(error.description)")
        }
    }
}

/// An address option.
private func address(_ text: String, option: String) throws -> IPAddress {
    guard let a = IPAddress(text) else {
        throw CommandFailure(status: Status.error, message: "salabel esp-wire: \(option): '\(text)' is not an IPv4 or IPv6 address")
    }
    return a
}
