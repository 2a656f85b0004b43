import Foundation
import Glibc
import IPsecModel
import LinuxSystem
import NetlinkProtocol
import NetlinkSocket
public import Scenario
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

/// Runs scenario steps in the VM's kernel (Specs/scenarios/README.md, "The kernel run"). It runs as
/// the permissive harness domain; every step's subject is the step's actor:
/// - xfrm requests are sent by a child process (`salabel scenario guest-act`) that enters the
///   host's namespace and moves to the actor's context (`/proc/self/attr/current`) before it opens
///   its NETLINK_XFRM socket, and reports the kernel's answer as its exit status;
/// - sockets are created with the actor's context (`/proc/thread-self/attr/sockcreate`), so every
///   network check names it.
/// AVC records are read from /dev/kmsg, ACQUIREs from an `XFRMNLGRP_ACQUIRE` socket per host.
/// For a scenario keyed by IKE, a pluto per host negotiates the SAs (GuestRunner+IKE.swift). On a
/// guest of a pair (``GuestPlan/side``), it plays one host of each scenario with the other guest
/// (GuestRunner+Pair.swift).
public struct GuestRunner {
    let plan: GuestPlan
    let salabel: String
    let originalNamespace: Int32
    let log: KernelLog

    /// The prefix of the namespaces it makes, and removes at teardown.
    let namespacePrefix: String

    /// A runner for `plan`, whose namespaces are named `namespacePrefix` + the host's name.
    public init(plan: GuestPlan, namespacePrefix: String = "salabel-") throws {
        self.plan = plan
        self.namespacePrefix = namespacePrefix
        salabel = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        switch valueOrErrno({ open("/proc/self/ns/net", O_RDONLY) }) {
        case .success(let fd): originalNamespace = fd
        case .failure(let code): throw ScenarioKernelError("cannot open /proc/self/ns/net: \(code.message)")
        }
        log = try KernelLog()
        signal(SIGPIPE, SIG_IGN)
    }

    func report(_ r: GuestReport) {
        let data = (try? JSONEncoder().encode(r)) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(Data((GuestReport.prefix + String(decoding: data, as: UTF8.self) + "\n").utf8))
    }

    /// Writes a line of the harness's own diagnostics on standard error (``GuestPlan/verbose``).
    func diagnose(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Runs every scenario of the plan, reporting each step on standard output (``GuestReport``).
    public func run() {
        if let side = plan.side { return runPair(side: side) }
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
                let keys = Self.keys(for: scenario)
                try install(scenario, keys: keys)
                try applyNetLabel(scenario)
                for host in scenario.hosts {
                    monitors[host] = try NetlinkSocket(
                        protocol: .xfrm, namespace: .named(namespace(host)), groups: [1],
                        receiveTimeout: .milliseconds(1))
                }
                try write(Array((scenario.enforcing ? "1" : "0").utf8), to: "/sys/fs/selinux/enforce")
                // pluto starts in the scenario's mode, as a daemon of that system would.
                if scenario.usesIKE {
                    try startIKE(scenario, keys: keys)
                    if plan.verbose == true {
                        settle()
                        for line in log.drain() where line.contains("avc:") && !line.contains(":\(Scenario.harnessType):") {
                            diagnose("\(scenario.name): while pluto started: \(line)")
                        }
                    }
                }
            } catch {
                report(GuestReport(scenario: scenario.name, error: "setup: \(error)"))
                resetNetLabel(scenario)
                continue
            }
            var player = KernelPlayer(runner: self, scenario: scenario, monitors: monitors, ignoring: Scenario.harnessType, reloads: entry.reloads ?? [])
            for (i, step) in scenario.steps.enumerated() {
                report(GuestReport(scenario: scenario.name, step: i, outcome: player.play(step)))
            }
            resetNetLabel(scenario)
        }
        // Permissive for the last teardown, as for every other: a stopped pluto's last IKE
        // datagrams draw ICMP errors from the kernel's own sockets (kernel_t), and a namespace's
        // cleanup flushes the larval SAs of refused negotiations as kernel_t, checks no
        // scenario's policy provides for.
        try? write(Array("0".utf8), to: "/sys/fs/selinux/enforce")
        try? teardown()
    }

    /// One step in this kernel: its outcome with the AVC lines it caused (not those of the domain
    /// `ignoring`, the runner's own; pluto's are kept) and the ACQUIREs the hosts' monitors saw. In
    /// a scenario keyed by IKE, a traffic step then waits for the SAs that answer its ACQUIREs
    /// (``waitForNegotiations(_:scenario:)``) before the settle.
    func play(
        _ step: ScenarioStep, scenario: Scenario, monitors: [String: NetlinkSocket], ignoring: String, reloads: [GuestPlan.Reload] = []
    ) -> StepOutcome {
        settle()
        _ = log.drain()
        for m in monitors.values { _ = Self.acquires(m) }
        var outcome: StepOutcome
        var acquired: [String: [String]] = [:]
        func readAcquires() { for (host, m) in monitors { acquired[host, default: []] += Self.acquires(m) } }
        switch step.action {
        case .xfrm(let command): outcome = xfrm(command)
        case .traffic(let traffic):
            outcome = self.traffic(traffic, scenario: scenario)
            if scenario.usesIKE {
                readAcquires()
                waitForNegotiations(acquired.filter { !$0.value.isEmpty }, scenario: scenario)
            }
        case .booleans(let values): outcome = setBooleans(values)
        case .enforcing(let on): outcome = setEnforcing(on)
        case .reload(let r): outcome = loadPolicy(r, reloads)
        }
        settle()
        let (lines, records) = Self.avcLines(log.drain(), ignoring: ignoring)
        outcome.avc = lines
        outcome.records = records
        readAcquires()
        for (host, labels) in acquired { if let label = labels.last { outcome.acquire[host] = label } }
        return outcome
    }

    /// Plays a scenario in the running kernel under the policy already loaded, in the mode it is
    /// in: the namespaces, SAs and SPD entries are made and removed here; nothing else of the
    /// system is changed (`salabel demo` on a kernel that can run it), so a scenario with boolean,
    /// enforcing or reload steps is refused.
    public func playInLoadedPolicy(_ scenario: Scenario, ignoring: String) throws -> [StepOutcome] {
        // Starting pluto writes /etc/selinux/config: a guest's business, not a host's.
        guard !scenario.usesIKE else { throw ScenarioKernelError("scenarios keyed by IKE run in the VM only (salabel scenario run --kernel)") }
        // NetLabel's tables are the system's too.
        guard scenario.netLabel.isEmpty else { throw ScenarioKernelError("scenarios with netlabel: lines run in the VM only (salabel scenario run --kernel)") }
        // Booleans and the mode are the system's: a scenario that changes them runs in the VM only.
        if let i = scenario.steps.firstIndex(where: { if case .traffic = $0.action { false } else if case .xfrm = $0.action { false } else { true } }) {
            throw ScenarioKernelError(
                "step \(i + 1) changes the policy, its booleans or the mode: such scenarios run in the VM only (salabel scenario run --kernel)")
        }
        try teardown()
        defer { try? teardown() }
        try network(scenario)
        try install(scenario, keys: Self.keys(for: scenario))
        var monitors: [String: NetlinkSocket] = [:]
        for host in scenario.hosts {
            monitors[host] = try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace(host)), groups: [1], receiveTimeout: .milliseconds(1))
        }
        var player = KernelPlayer(runner: self, scenario: scenario, monitors: monitors, ignoring: ignoring)
        return player.play(scenario.steps)
    }

    func settle() { usleep(useconds_t(plan.settle * 1_000_000)) }

    /// The network namespace the runner makes for `host`.
    public func namespace(_ host: String) -> String { namespacePrefix + host }
}

/// The kernel's player: each step in this kernel, as the step's actor, with the AVC lines it caused
/// (those of the domain `ignoring`, the runner's own, left out) and the ACQUIREs the hosts'
/// monitors saw. The scenario's namespaces, policy and SAs are in place (``GuestRunner``).
public struct KernelPlayer: StepPlayer {
    let runner: GuestRunner
    let scenario: Scenario
    let monitors: [String: NetlinkSocket]
    let ignoring: String
    /// The policies of the scenario's reload steps (``GuestPlan/Entry/reloads``).
    var reloads: [GuestPlan.Reload] = []

    public mutating func play(_ step: ScenarioStep) -> StepOutcome {
        runner.play(step, scenario: scenario, monitors: monitors, ignoring: ignoring, reloads: reloads)
    }
}
