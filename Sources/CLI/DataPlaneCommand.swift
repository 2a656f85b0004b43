import ArgumentParser
import DataPlaneHost
import DataPlaneNode
import DecisionEngine
import ESPDataPlane
import IPsecModel
import SecurityContexts
import SELinuxKernel
import XfrmManager

/// `salabel dataplane …`: the userspace ESP data plane (Specs/dataplane/).
struct DataPlaneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataplane",
        abstract: "Run the userspace ESP data plane for one host of a salabel apply file, and talk to it.",
        discussion: """
            run: one host of an apply file (the same SAs and SPD entries `salabel apply` installs in a kernel), with ESP in UDP (RFC 3948) on --esp-port and clear datagrams on --clear-port, and a local socket (--control) where applications bind ports in the contexts they state.

            send, listen: a datagram endpoint on a running host's local socket.

            monitor: the host's events as they happen (ACQUIRE, EXPIRE, datagrams sent, delivered, dropped), as a key manager watches them.

            sa add, sa delete: a key manager's answer to an ACQUIRE (salabel dataplane run prints them), in the context it states, checked with association { setcontext } like XFRM_MSG_NEWSA in a kernel.

            With SELinux active, the host refuses a stated context that is not the caller's own (SO_PEERSEC).

            Exit status of send, listen and sa: 0 done; 1 the host refused (the errno name, reason and AVC lines on stderr) or no reply came (send --reply); 2 bad arguments, no host on --control, or a broken exchange with it.
            """,
        subcommands: [Run.self, Send.self, Listen.self, Monitor.self, SA.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run one host's data plane until interrupted.")

        @Argument(help: "A salabel apply file (its key_file holds the keys: salabel keygen).") var file: String
        @Option(help: "The host of the file to run.") var host: String
        @Option(help: "The local socket's path.") var control: String = "/run/salabel/dataplane.sock"
        @Option(help: "The UDP port of ESP in UDP, on every host.") var espPort: UInt16 = ESPInUDP.port
        @Option(help: "The UDP port of clear datagrams, on every host.") var clearPort: UInt16 = ESPInUDP.port + 1
        @Option(help: "The address to bind (default: the host's address in the file).") var bind: String?
        @Option(
            help: ArgumentHelp(
                "Where a peer's sockets are, when not at its address and the same ports (repeatable).",
                valueName: "HOST=ADDRESS:ESP-PORT:CLEAR-PORT, an IPv6 ADDRESS in brackets")) var peer: [String] = []
        @Option(help: "Open the sockets in this network namespace (a name or a path).") var netns: String?
        @Option(help: "Write every datagram sent and received to this pcap file (ESP in UDP between the SAs' addresses; no keys).")
        var pcap: String?
        @OptionGroup var policy: PolicyOptions

        func run() throws {
            var setup = DataPlaneHost.ApplyFileHost(file: file, host: host, control: control, espPort: espPort, clearPort: clearPort)
            do { for p in peer { try setup.addPeer(p) } } catch { throw CommandFailure.error(error.description) }
            setup.bind = try bind.map { b throws -> IPAddress in
                guard let a = IPAddress(b) else { throw CommandFailure.error("--bind \(b) is not an address") }
                return a
            }
            // A host decides with the policy the system runs, where there is one (Specs/engine/policy-sources.md).
            let loaded: LoadedPolicy
            do { loaded = try policy.load(default: .liveDefault) } catch { throw CommandFailure.error("\(error)") }
            setup.netns = netns
            setup.pcap = pcap
            let stopper = HostStopper()
            let (dataPlane, address): (DataPlaneHost, IPAddress)
            do { (dataPlane, address) = try setup.make(server: loaded.server) } catch { throw CommandFailure.error(error.description) }
            dataPlane.log = { e in
                for (i, line) in e.lines.enumerated() { print(i == 0 ? line : "  " + line) }
                flushOutput()
            }
            print(
                "salabel dataplane: host \(host) (\(address)), ESP in UDP at \(dataPlane.espAddress), clear at \(dataPlane.clearAddress), local socket \(control)"
            )
            print("policy: \(loaded)")
            flushOutput()
            stopper.attach(dataPlane)
            dataPlane.run()
            // Stopped (SIGINT, SIGTERM): the local socket goes with the host.
            dataPlane.removeControlSocket()
        }
    }

    /// A connection to a host's local socket, with the context `--as` states (exit 2 on either error).
    static func connect(_ control: String, as context: String) throws -> (LabeledSocket, SecurityContext) {
        let ctx: SecurityContext
        do { ctx = try SecurityContext(parsing: context) } catch { throw CommandFailure.error("--as: \(error)") }
        do { return (try LabeledSocket(host: control), ctx) } catch { throw CommandFailure.error("\(error)") }
    }

    /// Runs `body` (which waits for one datagram or event and prints it) `count` times, or for
    /// ever when `count` is 0; a wait that times out is no round. Exit 2 on a broken exchange.
    static func repeatWaiting(count: Int, _ body: () throws(LabeledSocket.Failure) -> Void) throws {
        var n = 0
        while count == 0 || n < count {
            do {
                try body()
                n += 1
            } catch .timedOut {
                continue
            } catch {
                throw CommandFailure.error("\(error)")
            }
        }
    }

    struct Endpoint: ParsableArguments {
        @Option(help: "The host's local socket.") var control: String = "/run/salabel/dataplane.sock"
        @Option(name: .customLong("as"), help: "The context the endpoint states.") var context: String
        @Option(help: "The local port to bind.") var port: UInt16

        func open() throws -> LabeledSocket {
            let (s, ctx) = try DataPlaneCommand.connect(control, as: context)
            do { try s.bind(port: port, context: ctx) } catch .refused(let r) {
                // The host's refusal (name_bind, node_bind, a stated context not the caller's): a denial.
                throw CommandFailure.refused(r)
            } catch {
                throw CommandFailure.error("\(error)")
            }
            return s
        }
    }

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send", abstract: "Send one datagram from an endpoint; print what the host did, and the reply with --reply.")
        @OptionGroup var endpoint: Endpoint
        @Option(help: "The destination address.") var to: String
        @Option(help: "The destination port.") var dport: UInt16
        @Flag(help: "Wait for one reply and print it with its peer label.") var reply = false
        @Option(help: "Seconds to wait for the reply.") var timeout: Double = 2
        @Argument(help: "The datagram's text.") var message: String

        func run() throws {
            guard let destination = IPAddress(to) else { throw CommandFailure.error("--to \(to) is not an address") }
            let s = try endpoint.open()
            do {
                let sent = try s.send(Array(message.utf8), to: destination, port: dport)
                print("sent \(sent.summary)")
                for r in sent.records { print("  \(r)") }
                if reply {
                    let r = try s.receive(timeout: .milliseconds(Int(timeout * 1000)))
                    print("reply " + r.summary)
                }
            } catch .refused(let r) {
                throw CommandFailure.refused(r)
            } catch .timedOut {
                throw CommandFailure(status: Status.denied, message: "no reply within \(timeout) s")
            } catch {
                throw CommandFailure.error("\(error)")
            }
        }
    }

    struct Listen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "listen", abstract: "Print the datagrams an endpoint receives, with their peer labels; --echo answers each.")
        @OptionGroup var endpoint: Endpoint
        @Flag(help: "Send each datagram back to its sender.") var echo = false
        @Option(help: "Stop after this many datagrams (0: never).") var count = 0

        func run() throws {
            let s = try endpoint.open()
            try DataPlaneCommand.repeatWaiting(count: count) { () throws(LabeledSocket.Failure) in
                let r = try s.receive(timeout: .seconds(3600))
                print(r.summary)
                flushOutput()
                // An echo the host does not answer in time does not make the datagram uncounted.
                if echo { do throws(LabeledSocket.Failure) { try s.send(r.data, to: r.source, port: r.sourcePort) } catch .timedOut {} }
            }
        }
    }

    struct Monitor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "monitor",
            abstract: "Print a running host's events: ACQUIREs, EXPIREs, datagrams sent, delivered and dropped, with their AVC lines.")
        @Option(help: "The host's local socket.") var control: String = "/run/salabel/dataplane.sock"
        @Option(help: "Stop after this many events (0: never).") var count = 0

        func run() throws {
            let s: LabeledSocket
            do { s = try LabeledSocket(host: control); try s.monitor() } catch {
                throw CommandFailure.error("\(error)")
            }
            try DataPlaneCommand.repeatWaiting(count: count) { () throws(LabeledSocket.Failure) in
                let (line, details) = try s.nextEvent(timeout: .seconds(3600))
                print(line)
                for d in details { print("  \(d)") }
                flushOutput()
            }
        }
    }

    struct SA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sa", abstract: "Add or delete an SA on a running host, as a key manager.", subcommands: [Add.self, Delete.self])

        struct Manager: ParsableArguments {
            @Option(help: "The host's local socket.") var control: String = "/run/salabel/dataplane.sock"
            @Option(name: .customLong("as"), help: "The key manager's context (needs association { setcontext } on the SA's label).")
            var context: String = "system_u:system_r:ipsec_mgmt_t:s0"

            func connect() throws -> (LabeledSocket, SecurityContext) { try DataPlaneCommand.connect(control, as: context) }

            func report(_ body: () throws(LabeledSocket.Failure) -> (summary: String, records: [String])) throws {
                do {
                    let (summary, records) = try body()
                    print("ok: \(summary)")
                    for r in records { print("  \(r)") }
                } catch .refused(let r) {
                    throw CommandFailure.refused(r)
                } catch {
                    throw CommandFailure.error("\(error)")
                }
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add",
                abstract: "Add an SA given as `ip xfrm state add` arguments.",
                discussion: "The key word after an algorithm name (aead NAME KEY BITS, enc NAME KEY, auth-trunc NAME KEY BITS) is "
                    + KeyInput.help)
            @OptionGroup var manager: Manager
            @Argument(parsing: .captureForPassthrough, help: "The `ip xfrm state add` arguments (src … dst … proto esp spi … aead NAME @KEYFILE 128 ctx …).")
            var arguments: [String]

            func run() throws {
                // The arguments are captured whole, --help with them.
                if arguments.first == "--help" || arguments.first == "-h" {
                    print(Salabel.helpMessage(for: Self.self))
                    return
                }
                let words = try KeyInput.exitingOnFailure { () throws(KeyArgument.Failure) in try KeyArgument.resolvingKeyWords(arguments) }
                // The host checks again; checking here refuses a bad key or window before connecting.
                do { _ = try IPXfrmSyntax.parse(words: ["state", "add"] + words) } catch {
                    throw CommandFailure.error("\(error.message)")
                }
                let (socket, subject) = try manager.connect()
                let text = words.map { $0.contains(" ") || $0.contains("(") ? "\"\($0)\"" : $0 }.joined(separator: " ")
                try manager.report { () throws(LabeledSocket.Failure) in try socket.addSA(text, as: subject) }
            }
        }

        struct Delete: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete the ESP SA with this destination and SPI.")
            @OptionGroup var manager: Manager
            @Option(help: "The SA's destination address.") var dst: String
            @Option(help: "The SA's SPI (decimal or 0x…).") var spi: String

            func run() throws {
                guard let d = IPAddress(dst) else { throw CommandFailure.error("--dst \(dst) is not an address") }
                guard let n = spi.hasPrefix("0x") ? UInt32(spi.dropFirst(2), radix: 16) : UInt32(spi) else {
                    throw CommandFailure.error("--spi \(spi) is not an SPI")
                }
                let (socket, subject) = try manager.connect()
                try manager.report { () throws(LabeledSocket.Failure) in try socket.deleteSA(destination: d, spi: n, as: subject) }
            }
        }
    }
}

extension CommandFailure {
    /// A data-plane host's refusal: `refused: CODE: REASON` and its AVC lines, status 1.
    static func refused(_ r: LabeledSocket.Refusal) -> CommandFailure {
        CommandFailure(status: Status.denied, message: "refused: \(r.code): \(r.reason)", details: r.records)
    }
}
