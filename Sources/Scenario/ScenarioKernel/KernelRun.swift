import Foundation
import DecisionEngine
import LinuxSystem
public import Scenario

/// The host side of a kernel run: compiles each scenario's policy (with the harness rules, and
/// for a scenario keyed by IKE those of pluto's domains) with salabel's compiler and `checkpolicy`,
/// boots the VM once through `scripts/vm` with salabel, the scenarios and the policies (and
/// libreswan, `--libreswan`, when a scenario is keyed by IKE), runs `salabel scenario guest-run`
/// there, and reads back each step's outcome. Scenarios whose hosts have kernels of their own run
/// on a pair of VMs (`scripts/vm pair`), one host and its policy in each.
public struct KernelRun {
    /// scripts/vm.
    public var vmScript: String
    /// The salabel binary copied into the guest.
    public var guestBinary: String
    /// Seconds to wait after each step for audit records and ACQUIREs.
    public var settle: Double
    /// Show the VM's log and the guest's output.
    public var verbose: Bool

    public init(vmScript: String, guestBinary: String, settle: Double, verbose: Bool) {
        self.vmScript = vmScript
        self.guestBinary = guestBinary
        self.settle = settle
        self.verbose = verbose
    }

    /// What a run gives back.
    public struct Result: Sendable {
        /// Each scenario's outcomes, by the scenario's name.
        public var outcomes: [String: [StepOutcome]] = [:]
        /// Scenarios the guest could not run, with why.
        public var errors: [String: String] = [:]
        /// How long the VMs ran, in all.
        public var seconds: Double = 0
        /// How long the pair of VMs ran (scenarios whose hosts have kernels of their own); 0
        /// when there were none.
        public var pairSeconds: Double = 0

        public init() {}
    }

    /// The seconds a step of a scenario keyed by IKE adds to the VM's timeout.
    public static let ikeStepSeconds = 15

    /// Where the guest's copy of salabel is.
    public static let guestBinaryPath = "/opt/salabel/salabel"

    /// Finds `scripts/vm`: `SALABEL_VM_SCRIPT`, else upwards from the working directory, else from
    /// the executable's directory.
    public static func findVMScript() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["SALABEL_VM_SCRIPT"], fm.isExecutableFile(atPath: env) { return env }
        var starts = [fm.currentDirectoryPath]
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") { starts.append((exe as NSString).deletingLastPathComponent) }
        for start in starts {
            var dir = URL(fileURLWithPath: start)
            while dir.path != "/" {
                let candidate = dir.appendingPathComponent("scripts/vm").path
                if fm.isExecutableFile(atPath: candidate), fm.fileExists(atPath: dir.appendingPathComponent("Tests/VM/init").path) { return candidate }
                dir.deleteLastPathComponent()
            }
        }
        return nil
    }

    /// Plays every scenario: those whose hosts share a kernel in one VM, booted once; those whose
    /// hosts have kernels of their own (``Scenario/Kernels/perHost``) in a pair of VMs, booted once
    /// after it, one host in each (``Result/pairSeconds``).
    public func run(_ scenarios: [(path: String, scenario: Scenario, model: ScenarioModel)]) throws -> Result {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("salabel-scenarios-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        var result = Result()
        let shared = scenarios.filter { $0.scenario.kernels == .shared }
        let perHost = scenarios.filter { $0.scenario.kernels == .perHost }
        if !shared.isEmpty { try runOne(shared, work: work, into: &result) }
        if !perHost.isEmpty { try runPair(perHost, work: work, into: &result) }
        return result
    }

    /// A scenario's policy for the VM (for `host`'s kernel, when given): the text with the harness
    /// rules, written as a binary by salabel and cross-checked by `checkpolicy`; the binary's path,
    /// and whether the policy is MLS. With `reload`, the policy that reload step loads: the
    /// scenario's with the step's rules in place of its `policy_rules`.
    func compilePolicy(
        _ s: (path: String, scenario: Scenario, model: ScenarioModel), host: String?, name: String, work: URL,
        reload: ScenarioStep.PolicyReload? = nil
    ) throws -> (binary: String, mls: Bool) {
        let conf = work.appendingPathComponent("\(name).conf")
        let binary = work.appendingPathComponent("\(name).bin")
        let server = host.map { s.model.server(of: $0) } ?? s.model.server
        let sids = server.policy.initialSIDs
        let types = (
            file: sids.first { $0.name == "file" }?.context?.type ?? "unlabeled_t",
            kernel: sids.first { $0.name == "kernel" }?.context?.type ?? "kernel_t"
        )
        let text: String
        do {
            let scenario = reload.map { s.scenario.reloaded($0) } ?? s.scenario
            let compiled = reload.flatMap { s.model.policy(of: $0) } ?? server.policy
            text = try scenario.policyText(host: host, harness: true, harnessTypes: types, compiled: compiled).text
        } catch { throw ScenarioKernelError("\(s.path): \(error)") }
        try text.write(to: conf, atomically: true, encoding: .utf8)
        let mls = server.policy.mlsEnabled
        // The kernel loads the binary salabel writes (Specs/engine/binary-policy.md §6).
        // checkpolicy cross-checks it: it compiles the same text, and libsepol loads salabel's file.
        do {
            let db = try PolicyCompiler.compile(text: text, file: conf.lastPathComponent)
            try Data(try db.binaryPolicy(version: 33)).write(to: binary)
        } catch {
            throw ScenarioKernelError("\(s.path): salabel cannot write the scenario's policy: \(error)")
        }
        let checks = [
            ["checkpolicy"] + (mls ? ["-M"] : []) + ["-c", "33", "-o", "/dev/null", conf.path],
            ["checkpolicy"] + (mls ? ["-M"] : []) + ["-b", "-o", "/dev/null", binary.path],
        ]
        for check in checks {
            let (status, log) = Self.tool(check)
            guard status == 0 else {
                if status == 127 { throw ScenarioKernelError("checkpolicy not found (package checkpolicy); install the VM packages with: scripts/deps vm") }
                throw ScenarioKernelError("\(s.path): checkpolicy refused the scenario's policy (\(check.joined(separator: " "))):\n\(log)")
            }
        }
        return (binary.path, mls)
    }

    /// The guest's script: salabel's runner on the plan. The guest's init stays in kernel_t, which
    /// the scenarios' policies do not provide for: back to permissive before the script returns,
    /// or init could not report and power off.
    func writeScript(_ work: URL) throws -> URL {
        let script = work.appendingPathComponent("script.sh")
        try """
        \(Self.guestBinaryPath) scenario guest-run /vm/files/plan.json
        status=$?
        echo 0 > /sys/fs/selinux/enforce
        exit $status

        """.write(to: script, atomically: true, encoding: .utf8)
        return script
    }

    /// The VM's timeout for `scenarios`: a step of a scenario keyed by IKE may wait for
    /// negotiations (the TCP probe's longer timeout, then the SAs): ``ikeStepSeconds`` more.
    static func timeout(_ scenarios: [(path: String, scenario: Scenario, model: ScenarioModel)]) -> Int {
        let steps = scenarios.reduce(0) { $0 + $1.scenario.steps.count }
        let ikeSteps = scenarios.filter(\.scenario.usesIKE).reduce(0) { $0 + $1.scenario.steps.count }
        return 180 + 8 * steps + ikeStepSeconds * ikeSteps
    }

    /// The scenarios whose hosts share a kernel, in one VM.
    func runOne(_ scenarios: [(path: String, scenario: Scenario, model: ScenarioModel)], work: URL, into result: inout Result) throws {
        let fm = FileManager.default
        var files: [(String, String)] = [(guestBinary, Self.guestBinaryPath)]
        var entries: [GuestPlan.Entry] = []
        var firstPolicy: String?
        var harnessContext = "system_u:system_r:\(Scenario.harnessType)"
        for (i, s) in scenarios.enumerated() {
            let (binary, mls) = try compilePolicy(s, host: nil, name: "policy-\(i)", work: work)
            if firstPolicy == nil {
                firstPolicy = binary
                if mls { harnessContext += ":s0" }
            }
            let yaml = work.appendingPathComponent("scenario-\(i).yaml")
            try fm.copyItem(atPath: s.path, toPath: yaml.path)
            files += [(yaml.path, "/vm/files/scenario-\(i).yaml"), (binary, "/vm/files/policy-\(i).bin")]
            // The policies its reload steps load, each once.
            var reloads: [GuestPlan.Reload] = []
            for step in s.scenario.steps {
                guard case .reload(let r) = step.action, !reloads.contains(where: { $0.policyRules == r.policyRules }) else { continue }
                let name = "policy-\(i)-reload-\(reloads.count)"
                let (reloaded, _) = try compilePolicy(s, host: nil, name: name, work: work, reload: r)
                files.append((reloaded, "/vm/files/\(name).bin"))
                reloads.append(GuestPlan.Reload(policyRules: r.policyRules, policy: "/vm/files/\(name).bin"))
            }
            entries.append(
                GuestPlan.Entry(
                    name: s.scenario.name, file: "/vm/files/scenario-\(i).yaml", policy: "/vm/files/policy-\(i).bin",
                    booleans: s.model.booleansAtStart(of: s.scenario.hosts[0]), reloads: reloads.isEmpty ? nil : reloads))
        }
        guard let firstPolicy else { return }
        let plan = work.appendingPathComponent("plan.json")
        try JSONEncoder().encode(GuestPlan(scenarios: entries, settle: settle, verbose: verbose)).write(to: plan)
        files.append((plan.path, "/vm/files/plan.json"))
        let script = try writeScript(work)
        let resultDir = work.appendingPathComponent("result")
        var arguments = [
            "run", "--binary-policy", firstPolicy, "--permissive", "--context", harnessContext, "--module", "bridge",
            "--timeout", String(Self.timeout(scenarios)), "--result-dir", resultDir.path,
        ]
        if verbose { arguments.append("--verbose") }
        // pluto, whack, addconn and an empty NSS database for the scenarios keyed by IKE.
        if scenarios.contains(where: \.scenario.usesIKE) { arguments.append("--libreswan") }
        // PF_KEY compiles the labeled socket policies (IP_IPSEC_POLICY; Specs/scenarios/README.md).
        if scenarios.contains(where: \.scenario.usesPFKey) { arguments += ["--module", "af_key"] }
        // netlabelctl (Debian netlabel-tools) for the scenarios' `netlabel:` lines.
        if scenarios.contains(where: { !$0.scenario.netLabel.isEmpty }) { files.append((GuestRunner.netlabelctl, GuestRunner.netlabelctl)) }
        for (source, dest) in files { arguments += ["--file", "\(source):\(dest)"] }
        arguments.append(script.path)

        let start = Date()
        let (status, log) = Self.tool([vmScript] + arguments, passStderr: verbose)
        result.seconds += Date().timeIntervalSince(start)
        try read(resultDir.appendingPathComponent("output"), status: status, log: log, scenarios: scenarios, into: &result)
    }

    /// The scenarios whose hosts have kernels of their own, in a pair of VMs (`scripts/vm pair`):
    /// the first host (sorted) on the left guest, the second on the right, each with its policy.
    func runPair(_ scenarios: [(path: String, scenario: Scenario, model: ScenarioModel)], work: URL, into result: inout Result) throws {
        let fm = FileManager.default
        let sides: [GuestPlan.Side] = [.left, .right]
        var arguments = ["pair", "--permissive", "--file", "\(guestBinary):\(Self.guestBinaryPath)"]
        var entries: [GuestPlan.Side: [GuestPlan.Entry]] = [:]
        var firstPolicy: [GuestPlan.Side: String] = [:]
        var contexts: [GuestPlan.Side: String] = [:]
        for (i, s) in scenarios.enumerated() {
            let yaml = work.appendingPathComponent("pair-scenario-\(i).yaml")
            try fm.copyItem(atPath: s.path, toPath: yaml.path)
            arguments += ["--file", "\(yaml.path):/vm/files/scenario-\(i).yaml"]
            for (side, host) in zip(sides, s.scenario.hosts) {
                let (binary, mls) = try compilePolicy(s, host: host, name: "pair-policy-\(i)-\(side.rawValue)", work: work)
                if firstPolicy[side] == nil {
                    firstPolicy[side] = binary
                    contexts[side] = "system_u:system_r:\(Scenario.harnessType)" + (mls ? ":s0" : "")
                }
                arguments += ["--\(side.rawValue)-file", "\(binary):/vm/files/policy-\(i).bin"]
                entries[side, default: []].append(
                    GuestPlan.Entry(
                        name: s.scenario.name, file: "/vm/files/scenario-\(i).yaml", policy: "/vm/files/policy-\(i).bin",
                        booleans: s.model.booleansAtStart(of: host), host: host))
            }
        }
        for side in sides {
            let plan = work.appendingPathComponent("plan-\(side.rawValue).json")
            try JSONEncoder().encode(GuestPlan(scenarios: entries[side] ?? [], settle: settle, verbose: verbose, side: side)).write(to: plan)
            arguments += [
                "--\(side.rawValue)-file", "\(plan.path):/vm/files/plan.json", "--\(side.rawValue)-binary-policy", firstPolicy[side]!,
                "--\(side.rawValue)-context", contexts[side]!,
            ]
        }
        if scenarios.contains(where: \.scenario.usesIKE) { arguments.append("--libreswan") }
        if scenarios.contains(where: \.scenario.usesPFKey) { arguments += ["--module", "af_key"] }
        if verbose { arguments.append("--verbose") }
        let resultDir = work.appendingPathComponent("pair-result")
        let script = try writeScript(work)
        arguments += ["--timeout", String(Self.timeout(scenarios)), "--result-dir", resultDir.path, script.path, script.path]

        let start = Date()
        let (status, log) = Self.tool([vmScript] + arguments, passStderr: verbose)
        result.pairSeconds = Date().timeIntervalSince(start)
        result.seconds += result.pairSeconds
        // Left reports the steps; right's output holds only its harness diagnostics (--verbose).
        if verbose, let right = try? String(contentsOf: resultDir.appendingPathComponent("right/output"), encoding: .utf8) {
            FileHandle.standardError.write(Data(("right guest output:\n" + right).utf8))
        }
        try read(resultDir.appendingPathComponent("left/output"), status: status, log: log, scenarios: scenarios, into: &result)
    }

    /// Reads the guest's reports (`output`, written by scripts/vm) into `result`: each step's
    /// outcome, and an error for each scenario the guest could not play in full.
    func read(
        _ output: URL, status: Int32, log: String, scenarios: [(path: String, scenario: Scenario, model: ScenarioModel)], into result: inout Result
    ) throws {
        guard status != 124, status != 125, let output = try? String(contentsOf: output, encoding: .utf8) else {
            throw ScenarioKernelError("the VM run failed (scripts/vm exit \(status)):\n\(log.suffix(4000))")
        }
        if verbose { FileHandle.standardError.write(Data(("guest output:\n" + output).utf8)) }
        let decoder = JSONDecoder()
        for line in output.split(separator: "\n") where line.hasPrefix(GuestReport.prefix) {
            guard let report = try? decoder.decode(GuestReport.self, from: Data(line.dropFirst(GuestReport.prefix.count).utf8)) else { continue }
            if let error = report.error { result.errors[report.scenario] = error }
            if let outcome = report.outcome { result.outcomes[report.scenario, default: []].append(outcome) }
        }
        for s in scenarios where result.outcomes[s.scenario.name]?.count != s.scenario.steps.count && result.errors[s.scenario.name] == nil {
            let got = result.outcomes[s.scenario.name]?.count ?? 0
            result.errors[s.scenario.name] =
                "the guest reported \(got) of \(s.scenario.steps.count) steps (scripts/vm exit \(status))\n"
                + output.split(separator: "\n").filter { !$0.hasPrefix(GuestReport.prefix) }.suffix(20).joined(separator: "\n")
        }
    }

    /// Runs a tool from PATH (or a path); its exit status and output (stdout and stderr). 127, as a
    /// shell would say, when it could not be started.
    static func tool(_ arguments: [String], passStderr: Bool = false) -> (Int32, String) {
        let run = ChildProcess.run(arguments, searchPath: true, standardErrorToCaller: passStderr)
        return (run.status == -1 ? 127 : run.status, run.output)
    }
}
