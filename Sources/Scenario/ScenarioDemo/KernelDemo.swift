import DecisionEngine
import Foundation
import Glibc
import LinuxSystem
public import Scenario
import ScenarioKernel
import SELinuxKernel

/// Whether the running kernel can carry the demo: root, SELinux, ESP, and the demo's domains in
/// the loaded policy (the demo never loads a policy into a running system).
public enum KernelDataPlane {
    /// `nil` when it can; else why not.
    public static func unavailableReason(_ scenario: Scenario) -> String? {
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

    /// Whether the kernel has ESP: `esp4` loaded, or loaded now by `modprobe`.
    static func espAvailable() -> Bool {
        if FileManager.default.fileExists(atPath: "/sys/module/esp4") { return true }
        for modprobe in ["/sbin/modprobe", "/usr/sbin/modprobe"] where FileManager.default.isExecutableFile(atPath: modprobe) {
            return ChildProcess.run([modprobe, "-q", "esp4"]).status == 0 && FileManager.default.fileExists(atPath: "/sys/module/esp4")
        }
        return false
    }
}

/// The demo in the running kernel: namespaces, SAs from the manager, sockets created in the
/// actors' contexts, AVC records from the kernel log, ACQUIREs from a monitor (the scenario
/// runner's machinery, under the policy already loaded).
public struct KernelDemo {
    /// The demo's scenario (``DemoScenario/load()``).
    public var scenario: Scenario
    /// Where its lines go.
    public var say: DemoOutput

    public init(scenario: Scenario, say: @escaping DemoOutput) {
        self.scenario = scenario
        self.say = say
    }

    /// Plays every path in the kernel, saying what each did; returns the number of paths that did
    /// not behave as the policy intends. It throws when the demo cannot run (no kernel backend, a
    /// namespace or an SA not made).
    public func play() throws(DemoError) -> Int {
        try DemoError.wrapping { try playPaths() }
    }

    private func playPaths() throws -> Int {
        let model = try ScenarioModel(scenario)
        let kernel = try KernelBackend()
        let myType = KernelBackend.currentContext()?.type ?? "unconfined_t"
        let enforcing = kernel.enforcing
        say("salabel demo: labeled IPsec between two hosts, under the loaded policy (\(enforcing ? "enforcing" : "permissive"))")
        say("policy: \(Self.runningPolicySummary(enforcing: enforcing))")
        say("data plane: the kernel's (ESP and SELinux are here, and the loaded policy has the demo's domains)")
        let runner = try GuestRunner(
            plan: GuestPlan(scenarios: [], settle: 0.3), namespacePrefix: "salabel-demo-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-")
        say(
            "hosts: network namespaces \(runner.namespace("client")) (10.77.0.1) and \(runner.namespace("server")) (10.77.0.2), joined by veth; SAs installed with fresh keys"
        )
        let outcomes = try runner.playInLoadedPolicy(scenario, ignoring: myType)
        var unexpected = 0
        for (i, (step, o)) in zip(scenario.steps, outcomes).enumerated() {
            say("\n\(i + 1). \(step.name)")
            say("   kernel: " + o.summaryLines.joined(separator: "; "))
            for line in o.avc { say("   avc:  \(line)") }
            let unmet = o.unmet(step.expect, canonical: model.canonical)
            for u in unmet { say("   ✗ NOT AS INTENDED: \(u)") }
            if unmet.isEmpty { say("   ✓ as the policy intends") } else { unexpected += 1 }
        }
        say(
            "\n5. Anti-replay: the kernel's replay window drops a copied packet (XfrmInStateSeqError); salabel demo --dataplane userspace replays one on the wire"
        )
        if unexpected == 0 { say("\nAll \(outcomes.count) paths behave as the embedded policy intends, in the kernel (Specs/dataplane/demo.md).") }
        return unexpected
    }

    /// The running policy as the `policy:` line names it (`running (/sys/fs/selinux/policy,
    /// version 33, MLS)`), or why it could not be read: the kernel decides either way.
    static func runningPolicySummary(enforcing: Bool) -> String {
        do { return try PolicyOrigin.running.load(enforcing: enforcing).description } catch {
            return "running (\(RunningPolicy.path); not read: \(error))"
        }
    }
}
