import ArgumentParser
import DataPlaneHost
import DataPlaneNode
import DecisionEngine
import ESPCrypto
import Foundation
import Scenario
import ScenarioKernel
import Glibc
import IPsecModel
import Resolver
import SELinuxKernel
import SecurityContexts
import XfrmManager

/// `salabel demo`: the seed's demonstration, made real. Two hosts (network namespaces, or loopback
/// ports), labeled SAs between them from `Sources/CLI/Resources/demo.yaml` with fresh keys, an
/// echo server and clients in their own domains under the embedded policy, real ESP on the wire.
/// The echo succeeds with the label the server sees; then the paths the policy does not grant are
/// refused, with the AVC records; ACQUIRE and anti-replay are shown on the way.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the echo client and server of the embedded policy over labeled SAs, and watch the policy at work.",
        discussion: """
            The demo builds two hosts (network namespaces joined by veth when run as root, else loopback ports), installs the labeled SAs and SPD entries of its network (the salabel apply file in Sources/CLI/Resources/demo.yaml) with fresh keys, and runs the echo over them.

            It uses the kernel's data plane when the kernel has ESP and SELinux with the demo's domains, and the userspace one (ESP in UDP, RFC 3948) otherwise, and says which. Interrupted (SIGINT, SIGTERM), it removes what it made.

            Exit status: 0 when every path behaves as the policy intends, 1 when one does not, 2 when the demo cannot run.
            """)

    @Flag(help: "Use loopback ports even when network namespaces could be made (userspace data plane).") var loopback = false
    @Option(help: "auto (the kernel's when it can run the demo, else userspace), kernel or userspace.") var dataplane: Choice = .auto
    @Flag(help: "Print every check made, not only the AVC records.") var verbose = false
    @Flag(help: "Only list the association decisions behind the demo, asked of the engine alone.") var decisions = false
    @Flag(help: "With --decisions: JSON lines, one per decision.") var json = false

    enum Choice: String, ExpressibleByArgument, CaseIterable { case auto, kernel, userspace }

    static let client = "system_u:system_r:echoclient_t:s0"
    static let server = "system_u:system_r:echoserver_t:s0"
    static let other = "system_u:system_r:echo_other_t:s0"
    static let otherUser = "echo_u:system_r:echoclient_t:s0"

    /// The demo's network and paths (a scenario file).
    static func scenario() throws -> Scenario {
        try Scenario(yaml: String(decoding: PackageResources.demo_yaml, as: UTF8.self), file: "demo.yaml")
    }

    func run() throws {
        if decisions { return try DemoDecisions(json: json).run() }
        let scenario: Scenario
        do { scenario = try Self.scenario() } catch {
            printError("error: the demo's scenario does not load: \(error)")
            throw ExitCode(Status.error)
        }
        // A closed output (`salabel demo | head`) or an interrupt must not leave namespaces behind.
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                // Every namespace made so far, and the one being made, goes; then the process,
                // without running exit handlers under the threads still at work.
                DemoNamespaces.shared.removeAll()
                flushOutput()
                Glibc._exit(128 + sig)
            }
            source.resume()
            DemoRun.signalSources.append(source)
        }
        let unavailable = dataplane == .userspace ? "--dataplane userspace was given" : KernelDataPlane.unavailableReason(scenario)
        let unexpected: Int
        if let unavailable {
            if dataplane == .kernel {
                printError("error: the kernel data plane cannot run the demo here: \(unavailable)")
                throw ExitCode(Status.error)
            }
            let demo: DemoRun
            do { demo = try DemoRun(scenario: scenario, loopback: loopback, verbose: verbose, why: unavailable) } catch {
                printError("error: \(error)")
                throw ExitCode(Status.error)
            }
            defer { demo.finish() }
            unexpected = demo.play()
        } else {
            do { unexpected = try KernelDemo(scenario: scenario).play() } catch {
                printError("error: \(error)")
                throw ExitCode(Status.error)
            }
        }
        if unexpected > 0 {
            printError("error: \(unexpected) path(s) did not behave as the embedded policy intends")
            throw ExitCode(Status.denied)
        }
    }
}

/// Whether the running kernel can carry the demo: root, SELinux, ESP, and the demo's domains in
/// the loaded policy (the demo never loads a policy into a running system).
enum KernelDataPlane {
    /// `nil` when it can; else why not.
    static func unavailableReason(_ scenario: Scenario) -> String? {
        var reasons: [String] = []
        if !KernelBackend.isActive { reasons.append("SELinux is not enabled") }
        if !espAvailable() { reasons.append("the kernel has no ESP (esp4)") }
        if !reasons.isEmpty { return reasons.joined(separator: "; ") }
        if geteuid() != 0 { return "the kernel data plane needs root (namespaces, SAs)" }
        let kernel: KernelBackend
        do { kernel = try KernelBackend() } catch { return "\(error)" }
        for ctx in Set(scenario.actors.values).sorted(by: { $0.description < $1.description }) {
            guard (try? kernel.validate(ctx)) != nil else {
                return "the loaded policy does not know \(ctx): the demo needs the embedded policy's domains, and never replaces a running system's policy"
            }
        }
        return nil
    }

    static func espAvailable() -> Bool {
        if FileManager.default.fileExists(atPath: "/sys/module/esp4") { return true }
        for modprobe in ["/sbin/modprobe", "/usr/sbin/modprobe"] where FileManager.default.isExecutableFile(atPath: modprobe) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: modprobe)
            p.arguments = ["-q", "esp4"]
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return false }
            p.waitUntilExit()
            return p.terminationStatus == 0 && FileManager.default.fileExists(atPath: "/sys/module/esp4")
        }
        return false
    }

}

/// The demo in the running kernel: namespaces, SAs from the manager, sockets created in the
/// actors' contexts, AVC records from the kernel log, ACQUIREs from a monitor (the scenario
/// runner's machinery, under the policy already loaded).
struct KernelDemo {
    var scenario: Scenario

    func play() throws -> Int {
        let model = try ScenarioModel(scenario)
        let kernel = try KernelBackend()
        let myType = KernelBackend.currentContext()?.type ?? "unconfined_t"
        let enforcing = kernel.enforcing
        print("salabel demo: labeled IPsec between two hosts, under the loaded policy (\(enforcing ? "enforcing" : "permissive"))")
        print("data plane: the kernel's (ESP and SELinux are here, and the loaded policy has the demo's domains)")
        let runner = try GuestRunner(plan: GuestPlan(scenarios: [], settle: 0.3), namespacePrefix: "salabel-demo-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-")
        print("hosts: network namespaces \(runner.namespace("client")) (10.77.0.1) and \(runner.namespace("server")) (10.77.0.2), joined by veth; SAs installed with fresh keys")
        let outcomes = try runner.playInLoadedPolicy(scenario, ignoring: myType)
        var unexpected = 0
        for (i, (step, o)) in zip(scenario.steps, outcomes).enumerated() {
            print("\n\(i + 1). \(step.name)")
            print("   kernel: " + o.summaryLines.joined(separator: "; "))
            for line in o.avc { print("   avc:  \(line)") }
            let unmet = o.unmet(step.expect, canonical: model.canonical)
            for u in unmet { print("   ✗ NOT AS INTENDED: \(u)") }
            if unmet.isEmpty { print("   ✓ as the policy intends") } else { unexpected += 1 }
        }
        print("\n5. Anti-replay: the kernel's replay window drops a copied packet (XfrmInStateSeqError); salabel demo --dataplane userspace replays one on the wire")
        if unexpected == 0 { print("\nAll \(outcomes.count) paths behave as the embedded policy intends, in the kernel (Specs/dataplane/demo.md).") }
        return unexpected
    }
}

/// One run of the demo: the hosts, the threads that run them, and what they logged.
final class DemoRun: @unchecked Sendable {  // its state is behind NSCondition/NSLock
    let network: DemoNetwork
    let hosts: [String: DataPlaneHost]
    nonisolated(unsafe) static var signalSources: [any DispatchSourceSignal] = []
    let addresses: [String: IPAddress]
    let directory: String
    let verbose: Bool
    /// Why not the kernel's data plane.
    let why: String
    /// What each host holds, described before the hosts run.
    let saLines: [String]
    /// The server's ESP socket as the client host reaches it.
    let serverWire: SocketAddress
    private let events = NSCondition()
    private var log: [(host: String, event: DataPlaneHost.Event)] = []
    private let output = NSLock()
    private let finished = NSCondition()
    private var running = 0

    init(scenario: Scenario, loopback: Bool, verbose: Bool, why: String) throws {
        self.verbose = verbose
        self.why = why
        let engine = try scenario.securityServer()
        let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: engine))
        let file = scenario.layout
        let keys = try KeyFile.generate(for: file) { n in try SecureBytes.random(count: n).withUnsafeBytes { Array($0) } }
        let names = ["client", "server"]
        var addresses: [String: IPAddress] = [:]
        for n in names { addresses[n] = file.hosts[n]!.address }
        self.addresses = addresses
        network = DemoNetwork.make(hosts: names.map { ($0, addresses[$0]!) }, loopback: loopback)
        var template = Array("/tmp/salabel-demo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { network.teardown(); throw DemoError("mkdtemp: \(String(cString: strerror(errno)))") }
        directory = String(cString: made)
        var hosts: [String: DataPlaneHost] = [:]
        do {
            for n in names {
                let desired = try ApplyPlanner.desired(file, host: n, keys: keys)
                let node = try DataPlaneNode(address: addresses[n]!, sas: desired.sas, policies: desired.policies, authorizer: authorizer)
                let bind = network.bindAddresses(addresses[n]!)
                hosts[n] = try DataPlaneHost(node: node, esp: bind.esp, clear: bind.clear, controlPath: "\(directory)/\(n).sock",
                                             namespace: network.namespace(n))
            }
        } catch {
            network.teardown()
            rmdir(directory)
            throw DemoError("\(error)")
        }
        for n in names {
            for m in names where m != n {
                hosts[n]!.peers[addresses[m]!] = DataPlaneHost.Peer(esp: hosts[m]!.espAddress, clear: hosts[m]!.clearAddress)
            }
        }
        self.hosts = hosts
        saLines = names.flatMap { n in
            hosts[n]!.node.resolver.mirror.sas.filter { $0.source == addresses[n]! }.map { sa in
                let alg = [sa.algorithms.aead, sa.algorithms.encryption, sa.algorithms.authentication].compactMap { $0?.name }.joined(separator: " + ")
                return "SA \(n) → \(n == "client" ? "server" : "client"): spi 0x\(String(sa.spi, radix: 16)) \(alg), label \(sa.securityContext?.description ?? "none")"
            }
        }
        serverWire = hosts["client"]!.peers[addresses["server"]!]!.esp
        for (name, host) in hosts {
            host.log = { [weak self] e in self?.record(name, e) }
            let t = Thread { [self] in
                host.run()
                finished.lock(); running -= 1; finished.signal(); finished.unlock()
            }
            running += 1
            t.start()
        }
    }

    struct DemoError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    private func record(_ host: String, _ e: DataPlaneHost.Event) {
        events.lock()
        log.append((host, e))
        events.broadcast()
        events.unlock()
    }

    /// Waits for the next inbound event at `host` after `index`, at most two seconds.
    private func nextReceived(at host: String, after index: Int) -> (Int, InboundResult)? {
        let deadline = Date().addingTimeInterval(2)
        events.lock()
        defer { events.unlock() }
        var i = index
        while true {
            while i < log.count {
                if log[i].host == host, case .received(let r, _) = log[i].event { return (i + 1, r) }
                i += 1
            }
            if !events.wait(until: deadline) { return nil }
        }
    }

    private var mark: Int { events.lock(); defer { events.unlock() }; return log.count }

    private func lastSentPacket(from host: String) -> [UInt8]? {
        events.lock()
        defer { events.unlock() }
        for e in log.reversed() where e.host == host {
            if case .sent(let r, _) = e.event, case .esp(let packet, _) = r.outcome { return packet }
        }
        return nil
    }

    func say(_ s: String) {
        output.lock()
        print(s)
        flushOutput()
        output.unlock()
    }

    func show(_ prefix: String, _ checks: [ResolutionCheck]) {
        for c in checks {
            if verbose { say("     \(prefix) \(c.passed ? "✓" : "✗") \(c.what): \(c.reason)") }
            if let r = c.record { say("     \(prefix) \(r)") }
        }
    }

    func finish() {
        for h in hosts.values { h.stop() }
        finished.lock()
        let deadline = Date().addingTimeInterval(5)
        while running > 0 && finished.wait(until: deadline) {}
        finished.unlock()
        network.teardown()
        for n in ["client", "server"] { unlink("\(directory)/\(n).sock") }
        rmdir(directory)
    }

    /// Plays the demonstration; returns the number of paths that did not behave as intended.
    func play() -> Int {
        let client = addresses["client"]!, server = addresses["server"]!
        say("salabel demo: labeled IPsec between two hosts, under the embedded policy (enforcing)")
        say("data plane: userspace ESP in UDP (RFC 3948) — not the kernel's: \(why)")
        switch network.kind {
        case .namespaces:
            say("hosts: network namespaces \(network.namespaces["client"]!) (\(client)) and \(network.namespaces["server"]!) (\(server)), joined by veth")
        case .loopback:
            say("hosts: client \(client) and server \(server) on loopback ports (\(network.fallbackReason ?? ""))")
        }
        for line in saLines { say(line) }
        var unexpected = 0
        do {
            let echo = try LabeledSocket(host: hosts["server"]!.controlPath)
            try echo.bind(port: 7, context: try SecurityContext(parsing: DemoCommand.server))
            // The server's second port, bound for the whole demo (path 3 sends to it).
            let status = try LabeledSocket(host: hosts["server"]!.controlPath)
            try status.bind(port: 40007, context: try SecurityContext(parsing: DemoCommand.server))
            defer { withExtendedLifetime(status) {} }
            let c = try LabeledSocket(host: hosts["client"]!.controlPath)
            try c.bind(port: 0, context: try SecurityContext(parsing: DemoCommand.client))
            let paths: [() throws -> Bool] = [
                { try self.echoPath(c, echo, server) },
                { try self.otherDomainPath(server) },
                { try self.clearPath(c, server) },
                { try self.acquirePath(server) },
                { try self.replayPath() },
            ]
            for path in paths where try !path() { unexpected += 1 }
            let stats = try c.statistics(), serverStats = try echo.statistics()
            let drops = serverStats.filter { $0.key.hasPrefix("dropped.") }.map { "\($0.value) \($0.key.dropFirst(8))" }.sorted()
            say("\nclient: \(stats["sealed"] ?? 0) sealed, \(stats["clear"] ?? 0) in clear, \(stats["acquires"] ?? 0) ACQUIRE; "
                + "server: \(serverStats["delivered"] ?? 0) delivered, dropped: \(drops.joined(separator: ", "))")
        } catch {
            say("error: \(error)")
            unexpected += 1
        }
        if unexpected == 0 { say("\nAll 5 paths behave as the embedded policy intends (Specs/dataplane/demo.md).") }
        return unexpected
    }

    private func expect(_ ok: Bool, _ what: String) -> Bool {
        say("   " + (ok ? "✓ " : "✗ NOT AS INTENDED: ") + what)
        return ok
    }

    private func echoPath(_ c: LabeledSocket, _ echo: LabeledSocket, _ server: IPAddress) throws -> Bool {
        let text = "hello over a labeled SA"
        say("\n1. The echo client (\(DemoCommand.client)) sends \"\(text)\" to \(server) port 7")
        let m = mark
        let sent = try c.send(Array(text.utf8), to: server, port: 7)
        say("   client: sent \(sent.summary)")
        guard let (_, r) = nextReceived(at: "server", after: m), let d = r.delivery else { return expect(false, "the server did not receive the echo") }
        say("   server (\(DemoCommand.server)): received \"\(String(decoding: d.data, as: UTF8.self))\" from \(d.source):\(d.sourcePort), peer label \(d.peer?.description ?? "none")")
        let got = try echo.receive(timeout: .seconds(2))
        let back = try echo.send(got.data, to: got.source, port: got.sourcePort)
        say("   server: echoed it back, sent \(back.summary)")
        let reply = try c.receive(timeout: .seconds(2))
        say("   client: reply \"\(String(decoding: reply.data, as: UTF8.self))\", peer label \(reply.peer?.description ?? "none")")
        return expect(d.peer?.description == DemoCommand.client && reply.peer?.description == DemoCommand.server && reply.data == Array(text.utf8),
                      "the echo works; the server sees the client's label, the client sees the server's")
    }

    private func otherDomainPath(_ server: IPAddress) throws -> Bool {
        say("\n2. Another domain on the client host (\(DemoCommand.other)) sends to the echo port over its own labeled SA")
        let o = try LabeledSocket(host: hosts["client"]!.controlPath)
        try o.bind(port: 0, context: try SecurityContext(parsing: DemoCommand.other))
        guard let r = try sendAndWatchServer(o, "let me in", to: server, port: 7, as: DemoCommand.other) else { return expect(false, "nothing reached the server") }
        return expect(r.delivery == nil && r.records.contains { $0.result == .denied && $0.tclass == "peer" },
                      "refused: the server's domain may not receive from \(DemoCommand.other) (peer recv), with the AVC record")
    }

    private func clearPath(_ c: LabeledSocket, _ server: IPAddress) throws -> Bool {
        say("\n3. The client sends to the server's port 40007, which no SPD entry covers: the datagram leaves in clear, unlabeled")
        guard let r = try sendAndWatchServer(c, "plain", to: server, port: 40007, as: "client") else { return expect(false, "nothing reached the server") }
        return expect(r.delivery == nil && r.records.contains { $0.result == .denied && $0.tcontext.type == "unlabeled_t" },
                      "refused: unlabeled traffic is not the server's to receive (boolean echo_allow_unlabeled is off)")
    }

    /// Sends `text` from `socket` (shown as `who`) and reports what the server did with it, with its
    /// checks; `nil` when nothing reached the server.
    private func sendAndWatchServer(_ socket: LabeledSocket, _ text: String, to server: IPAddress, port: UInt16, as who: String) throws -> InboundResult? {
        let m = mark
        let sent = try socket.send(Array(text.utf8), to: server, port: port)
        say("   \(who): sent \(sent.summary)")
        guard let (_, r) = nextReceived(at: "server", after: m) else { return nil }
        say("   server: \(r.delivery == nil ? "dropped it: \(dropReason(r))" : "delivered it")")
        show("server:", r.checks)
        return r
    }

    private func acquirePath(_ server: IPAddress) throws -> Bool {
        say("\n4. The client domain under another SELinux user (\(DemoCommand.otherUser)) has no SA with its label")
        let l = try LabeledSocket(host: hosts["client"]!.controlPath)
        try l.bind(port: 0, context: try SecurityContext(parsing: DemoCommand.otherUser))
        let result = Result { () throws(LabeledSocket.Failure) in try l.send(Array("hello".utf8), to: server, port: 7) }
        guard case .failure(.refused(let r)) = result else { return expect(false, "it was not refused: \(result)") }
        say("   client: \(r.code) — \(r.reason)")
        return expect(r.code == "EAGAIN" && r.reason.contains("ctx \(DemoCommand.otherUser)"),
                      "no SA serves it: an ACQUIRE asks the key manager for an SA carrying the flow's label")
    }

    private func replayPath() throws -> Bool {
        say("\n5. The client's last ESP packet is captured and replayed on the wire")
        guard let packet = lastSentPacket(from: "client") else { return expect(false, "no ESP packet was captured") }
        let m = mark
        try hosts["client"]!.injectESP(packet, to: serverWire)
        guard let (_, r) = nextReceived(at: "server", after: m) else { return expect(false, "the replay did not reach the server") }
        say("   server: \(r.delivery == nil ? "dropped it: \(dropReason(r))" : "delivered it")")
        return expect(r.outcome == .dropped(.esp(.replayed)), "the anti-replay window drops the copy")
    }

    private func dropReason(_ r: InboundResult) -> String {
        if case .dropped(let why) = r.outcome { return "\(why)" }
        return "delivered"
    }
}

