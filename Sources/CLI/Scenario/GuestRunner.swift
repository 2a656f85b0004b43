import Foundation
import Glibc
import IPsecModel
import NetlinkProtocol
import NetlinkSocket
import Scenario
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

/// What the host asks the guest to run: each scenario file with its compiled policy (the
/// scenario's policy and the harness rules, `checkpolicy` output).
struct GuestPlan: Codable {
    struct Entry: Codable {
        /// The scenario's name on the host (the guest's copy has another file name).
        var name: String
        var file: String
        var policy: String
        /// Every boolean of the policy with the value the scenario runs with. The kernel keeps
        /// boolean values across a policy reload (`security_preserve_bools`), so the runner sets
        /// them all, not only the scenario's.
        var booleans: [String: Bool]
    }
    var scenarios: [Entry]
    /// Seconds to wait after a step for the kernel's audit records (kauditd prints them
    /// asynchronously) and ACQUIREs.
    var settle: Double
}

/// One line of the guest's report: `@@outcome {json}`.
struct GuestReport: Codable {
    var scenario: String
    /// The step's index, or nil for a scenario that could not be prepared.
    var step: Int?
    var outcome: StepOutcome?
    var error: String?
    static let prefix = "@@outcome "
}

/// Runs scenario steps in the VM's kernel (Specs/scenarios/README.md, "The kernel run"). It runs as
/// the permissive harness domain; every step's subject is the step's actor:
/// - xfrm requests are sent by a child process (`salabel scenario guest-act`) that enters the
///   host's namespace and moves to the actor's context (`/proc/self/attr/current`) before it opens
///   its NETLINK_XFRM socket, and reports the kernel's answer as its exit status;
/// - sockets are created with the actor's context (`/proc/thread-self/attr/sockcreate`), so every
///   network check names it.
/// AVC records are read from /dev/kmsg, ACQUIREs from an `XFRMNLGRP_ACQUIRE` socket per host.
struct GuestRunner {
    let plan: GuestPlan
    let salabel: String
    let originalNamespace: Int32
    let log: KernelLog

    /// The prefix of the namespaces it makes, and removes at teardown.
    let namespacePrefix: String

    init(plan: GuestPlan, namespacePrefix: String = "salabel-") throws {
        self.plan = plan
        self.namespacePrefix = namespacePrefix
        salabel = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        originalNamespace = open("/proc/self/ns/net", O_RDONLY)
        guard originalNamespace >= 0 else { throw GuestError("cannot open /proc/self/ns/net: \(String(cString: strerror(errno)))") }
        log = try KernelLog()
        signal(SIGPIPE, SIG_IGN)
    }

    func report(_ r: GuestReport) {
        let data = (try? JSONEncoder().encode(r)) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(Data((GuestReport.prefix + String(decoding: data, as: UTF8.self) + "\n").utf8))
    }

    func run() {
        do { try warmUp() } catch { report(GuestReport(scenario: "", error: "warm-up: \(error)")) }
        for entry in plan.scenarios {
            var scenario: Scenario
            do { scenario = try Scenario.load(path: entry.file) } catch {
                report(GuestReport(scenario: entry.name, error: "\(error)"))
                continue
            }
            scenario.name = entry.name
            var monitors: [String: NetlinkSocket] = [:]
            do {
                try write(Array("0".utf8), to: "/sys/fs/selinux/enforce")
                try teardown()
                try load(policy: entry.policy, booleans: entry.booleans)
                try network(scenario)
                try install(scenario)
                for host in scenario.hosts {
                    monitors[host] = try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace(host)), groups: [1],
                                                       receiveTimeout: .milliseconds(1))
                }
                try write(Array((scenario.enforcing ? "1" : "0").utf8), to: "/sys/fs/selinux/enforce")
            } catch {
                report(GuestReport(scenario: scenario.name, error: "setup: \(error)"))
                continue
            }
            for (i, step) in scenario.steps.enumerated() {
                report(GuestReport(scenario: scenario.name, step: i, outcome: play(step, scenario: scenario, monitors: monitors, ignoring: Scenario.harnessType)))
            }
        }
        try? teardown()
    }

    /// One step in this kernel: its outcome with the AVC lines it caused (not those of the domain
    /// `ignoring`, the runner's own) and the ACQUIREs the hosts' monitors saw.
    func play(_ step: ScenarioStep, scenario: Scenario, monitors: [String: NetlinkSocket], ignoring: String) -> StepOutcome {
        settle()
        _ = log.drain()
        for m in monitors.values { _ = Self.acquires(m) }
        var outcome: StepOutcome
        switch step.action {
        case .xfrm(let command): outcome = xfrm(command)
        case .traffic(let traffic): outcome = self.traffic(traffic, scenario: scenario)
        }
        settle()
        let lines = log.drain().compactMap(AVCLine.init(parsing:))
        outcome.avc = Array(Set(lines.filter { !$0.scontext.contains(":\(ignoring):") })).sorted()
        for (host, m) in monitors { if let label = Self.acquires(m).last { outcome.acquire[host] = label } }
        return outcome
    }

    /// Plays a scenario in the running kernel under the policy already loaded, in the mode it is
    /// in: the namespaces, SAs and SPD entries are made and removed here; nothing else of the
    /// system is changed (`salabel demo` on a kernel that can run it).
    func playInLoadedPolicy(_ scenario: Scenario, ignoring: String) throws -> [StepOutcome] {
        try teardown()
        defer { try? teardown() }
        try network(scenario)
        try install(scenario)
        var monitors: [String: NetlinkSocket] = [:]
        for host in scenario.hosts {
            monitors[host] = try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace(host)), groups: [1], receiveTimeout: .milliseconds(1))
        }
        return scenario.steps.map { play($0, scenario: scenario, monitors: monitors, ignoring: ignoring) }
    }

    func settle() { usleep(useconds_t(plan.settle * 1_000_000)) }

    func namespace(_ host: String) -> String { namespacePrefix + host }

    // MARK: - Setup

    /// Loads the policy in one write, sets the booleans, then the mode.
    func load(policy: String, booleans: [String: Bool]) throws {
        guard let bytes = FileManager.default.contents(atPath: policy) else { throw GuestError("cannot read \(policy)") }
        try write(Array(bytes), to: "/sys/fs/selinux/load")
        for (name, value) in booleans.sorted(by: { $0.key < $1.key }) {
            try write(Array((value ? "1" : "0").utf8), to: "/sys/fs/selinux/booleans/\(name)")
        }
        if !booleans.isEmpty { try write(Array("1".utf8), to: "/sys/fs/selinux/commit_pending_bools") }
    }

    /// The algorithms' crypto instances (`seqiv(rfc4106(gcm(aes)))`, `authenc(hmac(sha256),cbc(aes))`,
    /// …) are built on first use by kernel threads that the scenarios' policies do not provide for;
    /// one SA of each kind, added while the boot is still permissive, builds them for the whole run.
    func warmUp() throws {
        let ns = namespacePrefix + "warmup"
        try ip(["netns", "add", ns])
        defer { try? ip(["netns", "del", ns]) }
        let kernel = NetlinkXfrmKernel(connection: try NetlinkConnection(namespace: .named(ns)))
        let lines = [
            "state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1 mode transport aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128",
            "state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x2 mode tunnel aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128",
            "state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x3 mode transport enc cbc(aes) 0x00112233445566778899aabbccddeeff auth-trunc hmac(sha256) 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128",
        ]
        for line in lines {
            guard let op = try IPXfrmSyntax.parse(line: line) else { continue }
            _ = try kernel.perform(op)
        }
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw GuestError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw GuestError("write \(path): \(n < 0 ? String(cString: strerror(errno)) : "short write")") }
    }

    /// One namespace per host, with `eth0` on a veth pair (two hosts) or on a bridge in
    /// `salabel-hub` (more); each host has its address as /32 and a route to every other host.
    func network(_ scenario: Scenario) throws {
        let hosts = scenario.hosts
        for h in hosts {
            guard let address = scenario.layout.hosts[h]?.address, address.family == .inet else {
                throw GuestError("host \(h): the kernel run supports IPv4 hosts only")
            }
            try ip(["netns", "add", namespace(h)])
            try noIPv6(namespace(h))
            try ip(["-n", namespace(h), "link", "set", "lo", "up"])
        }
        if hosts.count == 2 {
            try ip(["link", "add", "eth0", "netns", namespace(hosts[0]), "type", "veth", "peer", "name", "eth0", "netns", namespace(hosts[1])])
        } else {
            let hub = namespacePrefix + "hub"
            try ip(["netns", "add", hub])
            try noIPv6(hub)
            try ip(["-n", hub, "link", "add", "br0", "type", "bridge"])
            try ip(["-n", hub, "link", "set", "br0", "up"])
            for (i, h) in hosts.enumerated() {
                try ip(["-n", hub, "link", "add", "p\(i)", "type", "veth", "peer", "name", "eth0", "netns", namespace(h)])
                try ip(["-n", hub, "link", "set", "p\(i)", "master", "br0", "up"])
            }
        }
        for h in hosts {
            let address = scenario.layout.hosts[h]!.address
            try ip(["-n", namespace(h), "addr", "add", "\(address)/32", "dev", "eth0"])
            try ip(["-n", namespace(h), "link", "set", "eth0", "up"])
            for other in hosts where other != h {
                try ip(["-n", namespace(h), "route", "add", "\(scenario.layout.hosts[other]!.address)/32", "dev", "eth0"])
            }
        }
    }

    /// No IPv6 in a namespace: its neighbour discovery would put the kernel's own packets
    /// (kernel_t) through the peer checks, AVC lines no scenario is about.
    func noIPv6(_ ns: String) throws {
        let (status, output) = GuestProcess.run(["/bin/ip", "netns", "exec", ns, "/bin/sh", "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"])
        guard status == 0 else { throw GuestError("disable IPv6 in \(ns): \(output)") }
    }

    /// The scenario's SAs and SPD entries (`Scenario.contents(host:keys:)`), installed by the
    /// harness (its own checks are not the scenario's): SAs, then SPD entries.
    func install(_ scenario: Scenario) throws {
        let keys = KeyFile.generate(for: scenario.layout) { n in (0..<n).map { _ in UInt8.random(in: 0...255) } }
        for host in scenario.hosts {
            let (sas, policies) = try scenario.contents(host: host, keys: keys)
            let ops = sas.map { XfrmOperation.addSA($0) } + policies.map { .addPolicy($0) }
            guard !ops.isEmpty else { continue }
            let kernel = NetlinkXfrmKernel(connection: try NetlinkConnection(namespace: .named(namespace(host))))
            for op in ops {
                do { _ = try kernel.perform(op) } catch { throw GuestError("host \(host): \(op): \(error)") }
            }
        }
    }

    /// Removes every namespace a previous scenario left (their SAs and SPD entries go with them).
    func teardown() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        for n in names where n.hasPrefix(namespacePrefix) { try ip(["netns", "del", n]) }
    }

    func ip(_ arguments: [String]) throws {
        let (status, output) = GuestProcess.run(["/bin/ip"] + arguments)
        guard status == 0 else { throw GuestError("ip \(arguments.joined(separator: " ")): exit \(status): \(output)") }
    }

    // MARK: - ACQUIREs

    /// The labels of the ACQUIREs waiting on a monitor socket (`unlabeled` for none).
    static func acquires(_ socket: NetlinkSocket) -> [String] {
        var labels: [String] = []
        while let datagram = try? socket.receive() {
            guard let messages = try? XfrmMessage.decodeAll(datagram) else { continue }
            for m in messages {
                guard case .acquire = m.body else { continue }
                let ctx = m.body.attributes.lazy.compactMap { a -> XfrmUserSecCtx? in
                    if case .securityContext(let c) = a { return c }
                    return nil
                }.first
                labels.append(ctx.map { String(decoding: $0.textBytes, as: UTF8.self) } ?? "unlabeled")
            }
        }
        return labels
    }

    // MARK: - xfrm requests

    /// Exit statuses of `guest-act` at and above this are the harness's own failures.
    static let actFailure: Int32 = 200

    func xfrm(_ command: ScenarioStep.XfrmCommand) -> StepOutcome {
        var message: XfrmMessage
        do { message = try NetlinkXfrmKernel.request(for: command.operation) } catch {
            return StepOutcome(result: "EINVAL", stage: "harness", notes: ["cannot encode the request: \(error)"])
        }
        if let raw = command.rawContext {
            let ctx = XfrmAttribute.securityContext(XfrmUserSecCtx(alg: 1, doi: 1, contextBytes: Array(raw.utf8) + [0]))
            func swap(_ a: [XfrmAttribute]) -> [XfrmAttribute] {
                a.map { if case .securityContext = $0 { return ctx } else { return $0 } }
            }
            switch message.body {
            case .sa(let i, let a): message.body = .sa(i, swap(a))
            case .policy(let i, let a): message.body = .policy(i, swap(a))
            case .policyID(let i, let a): message.body = .policyID(i, swap(a))
            default: break
            }
        }
        message.sequence = 1
        let bytes: [UInt8]
        do { bytes = try message.encoded() } catch {
            return StepOutcome(result: "EINVAL", stage: "harness", notes: ["cannot encode the request: \(error)"])
        }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let (status, output) = GuestProcess.run([salabel, "scenario", "guest-act", "--netns", "/run/netns/\(namespace(command.host))",
                                                 "--context", command.actorContext.description, "--message", hex])
        if status == 0 { return StepOutcome(result: "ok") }
        if status > 0 && status < Self.actFailure {
            return StepOutcome(result: Errno(rawValue: status).cName ?? "errno \(status)", notes: ["guest-act exit \(status)"])
        }
        return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["guest-act exit \(status): \(output)"])
    }

    // MARK: - Traffic

    func enter(_ path: String) -> Bool {
        (try? NetworkNamespace.path(path).enterOnCurrentThread()) != nil
    }

    /// A socket of `type` labeled `context` in `host`'s namespace; the errno name on failure.
    func labeledSocket(_ type: __socket_type, context: String, host: String) -> Result<Int32, StepFailure> {
        defer { _ = Probe.setSocketCreateContext(""); try? NetworkNamespace.enterOnCurrentThread(descriptor: originalNamespace) }
        guard enter("/run/netns/\(namespace(host))") else { return .failure(StepFailure("EHARNESS", "setns")) }
        guard Probe.setSocketCreateContext(context) == nil else { return .failure(StepFailure("EHARNESS", "sockcreate")) }
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { return .failure(StepFailure(Probe.errnoName(errno), "socket")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        return .success(fd)
    }

    struct StepFailure: Error {
        var errno: String
        var stage: String
        init(_ errno: String, _ stage: String) { self.errno = errno; self.stage = stage }
    }

    /// Closes with an RST (SO_LINGER 0), so that nothing of this step is still on the wire in the next.
    func abort(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    func traffic(_ t: ScenarioStep.Traffic, scenario: Scenario) -> StepOutcome {
        let server = scenario.layout.hosts[t.to]!.address.description
        let probe = Probe(timeout: t.proto == .tcp ? 3 : 1.5, sockcreate: nil)
        let type = t.proto == .tcp ? SOCK_STREAM : SOCK_DGRAM
        var listener: Int32 = -1
        switch labeledSocket(type, context: t.serverContext.description, host: t.to) {
        case .success(let fd): listener = fd
        case .failure(let f): return StepOutcome(result: f.errno, stage: "server \(f.stage)", delivered: false)
        }
        defer { abort(listener) }
        var any = sockaddr_in()
        any.sin_family = sa_family_t(AF_INET)
        any.sin_port = t.port.bigEndian
        let bound = withUnsafePointer(to: &any) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return StepOutcome(result: Probe.errnoName(errno), stage: "bind", delivered: false) }
        var one: Int32 = 1
        if t.proto == .tcp {
            guard listen(listener, 8) == 0 else { return StepOutcome(result: Probe.errnoName(errno), stage: "listen", delivered: false) }
        } else {
            setsockopt(listener, Int32(solIP), ipPassSec, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var client: Int32 = -1
        switch labeledSocket(type, context: t.actorContext.description, host: t.from) {
        case .success(let fd): client = fd
        case .failure(let f): return StepOutcome(result: f.errno, stage: "client \(f.stage)", delivered: false)
        }
        defer { abort(client) }
        guard let address = Probe.socketAddress(server, t.port) else { return StepOutcome(result: "EINVAL", stage: "harness") }
        switch t.proto {
        case .tcp:
            if let failure = probe.connect(client, address) {
                return StepOutcome(result: failure.name, stage: "connect", delivered: false)
            }
            var peer = "none"
            var delivered = false
            if probe.waitReadable(listener) {
                let accepted = accept(listener, nil, nil)
                if accepted >= 0 {
                    delivered = true
                    peer = (probe.peerSecurity(accepted)["peer"] as? String) ?? "none"
                    abort(accepted)
                }
            }
            let replyPeer = (probe.peerSecurity(client)["peer"] as? String) ?? "none"
            return StepOutcome(result: "ok", delivered: delivered, peer: delivered ? peer : nil, replyDelivered: true, replyPeer: replyPeer)
        case .udp:
            setsockopt(client, Int32(solIP), ipPassSec, &one, socklen_t(MemoryLayout<Int32>.size))
            var a = address
            let sent = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(client, "ping", 4, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard sent >= 0 else { return StepOutcome(result: Probe.errnoName(errno), stage: "sendto", delivered: false) }
            guard probe.waitReadable(listener), let request = try? probe.receiveDatagram(listener) else {
                return StepOutcome(result: "ok", delivered: false)
            }
            let peer = (request.fields["peer"] as? String) ?? "none"
            guard t.reply else { return StepOutcome(result: "ok", delivered: true, peer: peer) }
            // The echo: back to the datagram's source, from the server's socket.
            var back = request.source
            _ = withUnsafePointer(to: &back) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(listener, "pong", 4, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard probe.waitReadable(client), let answer = try? probe.receiveDatagram(client) else {
                return StepOutcome(result: "ok", delivered: true, peer: peer, replyDelivered: false)
            }
            return StepOutcome(result: "ok", delivered: true, peer: peer, replyDelivered: true, replyPeer: (answer.fields["peer"] as? String) ?? "none")
        }
    }
}

struct GuestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The kernel log's new records (/dev/kmsg, read without blocking from where it was opened).
final class KernelLog {
    let fd: Int32

    init() throws {
        fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw GuestError("cannot open /dev/kmsg: \(String(cString: strerror(errno)))") }
        lseek(fd, 0, SEEK_END)
    }

    deinit { close(fd) }

    /// The messages logged since the last call (one record per read; EPIPE when records were
    /// overwritten, which skips to the oldest kept).
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EPIPE { continue }
                break
            }
            if n == 0 { break }
            // PRIORITY,SEQUENCE,TIMESTAMP,FLAGS;MESSAGE\n[ KEY=VALUE\n…]
            let record = String(decoding: buffer[0..<n], as: UTF8.self)
            let first = record.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? record
            if let semicolon = first.firstIndex(of: ";") { messages.append(String(first[first.index(after: semicolon)...])) }
        }
        return messages
    }
}

/// Runs a program and waits: its exit status (128 + signal when killed) and its output.
enum GuestProcess {
    static func run(_ arguments: [String]) -> (Int32, String) {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { return (-1, "pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        close(pipeFDs[1])
        guard rc == 0 else {
            close(pipeFDs[0])
            return (-1, "spawn \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(pipeFDs[0], &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        close(pipeFDs[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), String(decoding: output, as: UTF8.self))
    }
}

/// `guest-act`: in a fresh single-threaded process, enter the namespace, become the actor, open a
/// NETLINK_XFRM socket, send the request and exit with the kernel's errno (0: acknowledged). Once
/// it is the actor it writes nothing: its standard streams belong to the harness, and using them
/// would be a check on the actor (`fd use`) that no scenario is about.
enum GuestAct {
    static func run(netns: String, context: String, message: [UInt8]) -> Never {
        guard (try? NetworkNamespace.path(netns).enterOnCurrentThread()) != nil else { exit(GuestRunner.actFailure + 1) }
        let attr = open("/proc/self/attr/current", O_WRONLY)
        guard attr >= 0 else { exit(GuestRunner.actFailure + 2) }
        let written = context.withCString { Glibc.write(attr, $0, strlen($0)) }
        guard written >= 0 else { exit(GuestRunner.actFailure + 3) }
        close(attr)
        // From here on the actor: only its socket, and the exit status.
        let socket: NetlinkSocket
        do { socket = try NetlinkSocket(protocol: .xfrm, receiveTimeout: .seconds(5)) } catch { _exit(error.errno.rawValue) }
        do { try socket.send(message) } catch { _exit(error.errno.rawValue) }
        let reply: [UInt8]
        do { reply = try socket.receive() } catch { _exit(error.errno.rawValue) }
        guard let messages = try? NetlinkMessage.split(reply) else { _exit(GuestRunner.actFailure + 4) }
        for m in messages where m.type == .error {
            guard let e = try? NetlinkError(decoding: m) else { _exit(GuestRunner.actFailure + 5) }
            _exit(e.errno?.rawValue ?? 0)
        }
        _exit(GuestRunner.actFailure + 6)
    }
}
