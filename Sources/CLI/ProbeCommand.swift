import ArgumentParser
import Foundation
import ScenarioKernel

// `salabel probe …` (hidden): the guest-side test program that asks the kernel what a socket sees —
// getsockopt(SO_PEERSEC) on TCP sockets, SCM_SECURITY control messages on IPv4 UDP sockets with
// IP_PASSSEC (Specs/kernel/labeled-ipsec.md §b.4, edge cases 24 and 25). The programs are ScenarioKernel's
// SocketProbe; this file parses their options and prints their events, one JSON object per line on
// standard output, flushed at once, so that a script can read results while the probe still runs. The
// resolver's predictions are compared with these lines in the VM (Tests/KernelVMTests/ResolverVMTests.swift).
//
// Exit status: 0 when every expected event happened, 1 otherwise (a timeout, a refused connection,
// a failed call), 2 for bad arguments.

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Test sockets: what getpeercon (SO_PEERSEC) and SCM_SECURITY report (for the VM tests).",
        discussion: """
            Each result is one line of JSON. Run under runcon to give the process (and so its sockets) a context, or pass --sockcreate CTX to label the probe's sockets through /proc/thread-self/attr/sockcreate.
            """,
        shouldDisplay: false,
        subcommands: [TCPServer.self, TCPClient.self, UDPServer.self, UDPSend.self])

    struct Common: ParsableArguments {
        @Option(help: "Seconds every blocking call may take.") var timeout: Double = 10
        @Option(help: "Context for the probe's sockets (written to /proc/thread-self/attr/sockcreate first).") var sockcreate: String?

        /// Runs one probe program; its events are printed as JSON lines, unbuffered, so that a
        /// script reads them while the probe still runs.
        func run(_ program: (SocketProbe) throws(SocketProbe.Stop) -> Void) throws {
            let probe = SocketProbe(timeout: timeout, sockcreate: sockcreate) { FileHandle.standardOutput.write(Data((jsonText($0) + "\n").utf8)) }
            do { try program(probe) } catch {
                switch error {
                case .badArgument(let message): throw ValidationError(message)
                case .failed: throw CommandFailure.exit(Status.denied)
                }
            }
        }
    }

    // MARK: - tcp-server

    struct TCPServer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tcp-server",
            abstract: "Accept N connections; for each: SO_PEERSEC, read a message, echo it back.")
        @Option(help: "The local port to listen on.") var port: UInt16
        @Option(help: "Local IPv4 address to bind.") var bind: String = "0.0.0.0"
        @Option(help: "Connections to accept.") var count: Int = 1
        @OptionGroup var common: Common

        func run() throws { try common.run { (probe) throws(SocketProbe.Stop) in try probe.tcpServer(port: port, bind: bind, count: count) } }
    }

    // MARK: - tcp-client

    struct TCPClient: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tcp-client",
            abstract: "Connect, send a message, read the echo; SO_PEERSEC on the client's socket.")
        @Option(help: "The destination's IPv4 address.") var dst: String
        @Option(help: "The destination port.") var port: UInt16
        @Option(help: "The message to send.") var message: String = "salabel-probe"
        @OptionGroup var common: Common

        func run() throws { try common.run { (probe) throws(SocketProbe.Stop) in try probe.tcpClient(dst: dst, port: port, message: message) } }
    }

    // MARK: - udp-server

    struct UDPServer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "udp-server",
            abstract: "An IPv4 UDP socket with IP_PASSSEC: the SCM_SECURITY payload of each datagram.")
        @Option(help: "The local port to listen on.") var port: UInt16
        @Option(help: "Local IPv4 address to bind.") var bind: String = "0.0.0.0"
        @Option(help: "Datagrams to receive.") var count: Int = 1
        @OptionGroup var common: Common

        func run() throws { try common.run { (probe) throws(SocketProbe.Stop) in try probe.udpServer(port: port, bind: bind, count: count) } }
    }

    // MARK: - udp-send

    struct UDPSend: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "udp-send", abstract: "Send one UDP datagram.")
        @Option(help: "The destination's IPv4 address.") var dst: String
        @Option(help: "The destination port.") var port: UInt16
        @Option(help: "The message to send.") var message: String = "salabel-probe"
        @OptionGroup var common: Common

        func run() throws { try common.run { (probe) throws(SocketProbe.Stop) in try probe.udpSend(dst: dst, port: port, message: message) } }
    }
}
