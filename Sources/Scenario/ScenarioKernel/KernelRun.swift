import Foundation
import DecisionEngine
import LinuxSystem
public import Scenario

/// The host side of a kernel run: compiles each scenario's policy (with the harness rules, and
/// for a scenario keyed by IKE those of pluto's domains) with salabel's compiler and `checkpolicy`,
/// boots the VM once through `scripts/vm` with salabel, the scenarios and the policies (and
/// libreswan, `--libreswan`, when a scenario is keyed by IKE), runs `salabel scenario guest-run`
/// there, and reads back each step's outcome.
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
        /// How long the VM ran.
        public var seconds: Double = 0

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

    /// Boots the VM once and plays every scenario in it.
    public func run(_ scenarios: [(path: String, scenario: Scenario, model: ScenarioModel)]) throws -> Result {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("salabel-scenarios-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        var files: [(String, String)] = [(guestBinary, Self.guestBinaryPath)]
        var entries: [GuestPlan.Entry] = []
        var firstPolicy: String?
        var harnessContext = "system_u:system_r:\(Scenario.harnessType)"
        for (i, s) in scenarios.enumerated() {
            let conf = work.appendingPathComponent("policy-\(i).conf")
            let binary = work.appendingPathComponent("policy-\(i).bin")
            let text: String
            let sids = s.model.server.policy.initialSIDs
            let types = (
                file: sids.first { $0.name == "file" }?.context?.type ?? "unlabeled_t",
                kernel: sids.first { $0.name == "kernel" }?.context?.type ?? "kernel_t"
            )
            do {
                text = try s.scenario.policyText(harness: true, harnessTypes: types, compiled: s.model.server.policy).text
            } catch { throw ScenarioKernelError("\(s.path): \(error)") }
            try text.write(to: conf, atomically: true, encoding: .utf8)
            let mls = s.model.server.policy.mlsEnabled
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
            if firstPolicy == nil {
                firstPolicy = binary.path
                if mls { harnessContext += ":s0" }
            }
            let yaml = work.appendingPathComponent("scenario-\(i).yaml")
            try fm.copyItem(atPath: s.path, toPath: yaml.path)
            files += [(yaml.path, "/vm/files/scenario-\(i).yaml"), (binary.path, "/vm/files/policy-\(i).bin")]
            entries.append(
                GuestPlan.Entry(
                    name: s.scenario.name, file: "/vm/files/scenario-\(i).yaml", policy: "/vm/files/policy-\(i).bin",
                    booleans: s.model.server.booleans))
        }
        guard let firstPolicy else { return Result() }
        let plan = work.appendingPathComponent("plan.json")
        try JSONEncoder().encode(GuestPlan(scenarios: entries, settle: settle, verbose: verbose)).write(to: plan)
        files.append((plan.path, "/vm/files/plan.json"))
        let script = work.appendingPathComponent("script.sh")
        // The guest's init stays in kernel_t, which the scenarios' policies do not provide for: back
        // to permissive before the script returns, or init could not report and power off.
        try """
        \(Self.guestBinaryPath) scenario guest-run /vm/files/plan.json
        status=$?
        echo 0 > /sys/fs/selinux/enforce
        exit $status

        """.write(to: script, atomically: true, encoding: .utf8)

        let steps = scenarios.reduce(0) { $0 + $1.scenario.steps.count }
        // A step of a scenario keyed by IKE may wait for negotiations (the TCP probe's longer
        // timeout, then the SAs): `ikeStepSeconds` more.
        let ikeSteps = scenarios.filter(\.scenario.usesIKE).reduce(0) { $0 + $1.scenario.steps.count }
        let timeout = 180 + 8 * steps + Self.ikeStepSeconds * ikeSteps
        let resultDir = work.appendingPathComponent("result")
        var arguments = [
            "run", "--binary-policy", firstPolicy, "--permissive", "--context", harnessContext, "--module", "bridge",
            "--timeout", String(timeout), "--result-dir", resultDir.path,
        ]
        if verbose { arguments.append("--verbose") }
        // pluto, whack, addconn and an empty NSS database for the scenarios keyed by IKE.
        if scenarios.contains(where: \.scenario.usesIKE) { arguments.append("--libreswan") }
        for (source, dest) in files { arguments += ["--file", "\(source):\(dest)"] }
        arguments.append(script.path)

        let start = Date()
        let (status, log) = Self.tool([vmScript] + arguments, passStderr: verbose)
        var result = Result()
        result.seconds = Date().timeIntervalSince(start)
        guard status != 124, status != 125, let output = try? String(contentsOf: resultDir.appendingPathComponent("output"), encoding: .utf8) else {
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
        return result
    }

    /// Runs a tool from PATH (or a path); its exit status and output (stdout and stderr). 127, as a
    /// shell would say, when it could not be started.
    static func tool(_ arguments: [String], passStderr: Bool = false) -> (Int32, String) {
        let run = ChildProcess.run(arguments, searchPath: true, standardErrorToCaller: passStderr)
        return (run.status == -1 ? 127 : run.status, run.output)
    }
}
