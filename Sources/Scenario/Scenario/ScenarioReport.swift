import Foundation

/// What `salabel scenario run` prints: each step side by side (model, kernel), the expectations
/// each side missed, the disagreements, and a table of every scenario; or the same as JSON-ready
/// dictionaries. The comparison itself is ``ScenarioResult``'s; this puts it into words.
public struct ScenarioReport {
    /// Each scenario's outcomes from the model, by the scenario's name; nil when the model was not
    /// run (`--kernel`).
    public var modelOutcomes: [String: [StepOutcome]]?
    /// Each scenario's outcomes from the kernel, by name; nil when the kernel was not run.
    public var kernelOutcomes: [String: [StepOutcome]]?
    /// Scenarios the kernel could not run, with why.
    public var kernelErrors: [String: String]
    /// How long the kernel run took (one VM boot for the scenarios on one kernel, one pair of VMs
    /// for those on two); nil when it was not run.
    public var kernelSeconds: Double?
    /// The part of ``kernelSeconds`` the pair of VMs took; nil or 0 when no scenario needed it.
    public var kernelPairSeconds: Double?

    /// A report; `kernelPairSeconds` is the pair of VMs' part of `kernelSeconds`.
    public init(
        modelOutcomes: [String: [StepOutcome]]?, kernelOutcomes: [String: [StepOutcome]]?, kernelErrors: [String: String] = [:],
        kernelSeconds: Double? = nil, kernelPairSeconds: Double? = nil
    ) {
        self.modelOutcomes = modelOutcomes
        self.kernelOutcomes = kernelOutcomes
        self.kernelErrors = kernelErrors
        self.kernelSeconds = kernelSeconds
        self.kernelPairSeconds = kernelPairSeconds
    }

    /// The scenario's steps compared: model, kernel (a scenario the kernel run gave nothing for has
    /// no outcomes), expectations on the Linux version `model` plays, contexts compared through
    /// `model`'s canonical form.
    public func scenario(_ s: Scenario, model: ScenarioModel) -> ScenarioResult {
        ScenarioResult(
            scenario: s, model: modelOutcomes?[s.name], kernel: kernelOutcomes.map { $0[s.name] ?? [] },
            kernelError: kernelErrors[s.name], canonical: model.canonical, linux: model.linux)
    }

    /// One scenario for people: each step with its action, each side's summary, the AVC lines
    /// (every side's, with each side's notes, when `verbose`), what is unmet or disagrees, and ✓
    /// for a step that passed.
    public func text(_ result: ScenarioResult, verbose: Bool) -> String {
        let scenario = result.scenario
        var out = ["scenario \(scenario.name)" + (scenario.description.map { ": \($0)" } ?? "")]
        if let kernelError = result.kernelError { out.append("  kernel run failed: \(kernelError)") }
        for (i, r) in result.steps.enumerated() {
            out.append("  \(i + 1). \(r.step.name)  [\(Self.describe(r.step.action))]")
            for (side, o) in [("model ", r.model), ("kernel", r.kernel)] {
                guard let o else { continue }
                out.append("     \(side)  " + o.summaryLines.joined(separator: "; "))
                let shown = verbose ? o.avc : []
                for line in shown { out.append("              avc \(line)") }
                if verbose { for n in o.notes { out.append("              · \(n.replacingOccurrences(of: "\n", with: "\n                "))") } }
            }
            if !verbose, let o = r.model ?? r.kernel, !o.avc.isEmpty {
                out.append("     avc     " + o.avc.map(\.description).joined(separator: "\n             "))
            }
            for u in r.modelUnmet { out.append("     ✗ model does not meet the expectation: \(u)") }
            for u in r.kernelUnmet { out.append("     ✗ kernel does not meet the expectation: \(u)") }
            for d in r.disagreements { out.append("     ✗ model ≠ kernel: \(d)") }
            if r.passed {
                out.append("     ✓ " + (r.model != nil && r.kernel != nil ? "model and kernel agree; expectations met" : "expectations met"))
            }
        }
        return out.joined(separator: "\n")
    }

    /// One scenario as a dictionary: `scenario`, `passed`, `kernel_error`, and per step its name,
    /// each side's outcome (``StepOutcome`` encoded), what each side missed and the disagreements.
    public func json(_ result: ScenarioResult) -> [String: Any] {
        [
            "scenario": result.scenario.name, "passed": result.passed, "kernel_error": result.kernelError ?? NSNull(),
            "steps": result.steps.map { r -> [String: Any] in
                [
                    "name": r.step.name, "model": r.model.map(Self.outcomeJSON) ?? NSNull(), "kernel": r.kernel.map(Self.outcomeJSON) ?? NSNull(),
                    "model_unmet": r.modelUnmet, "kernel_unmet": r.kernelUnmet, "disagreements": r.disagreements,
                ]
            },
        ]
    }

    /// The whole run as a dictionary: `scenarios` (``json(_:)`` of each), `model_seconds`,
    /// `kernel_seconds` (null without the kernel) and `passed` (every scenario passed).
    public func json(_ results: [ScenarioResult], modelSeconds: Double) -> [String: Any] {
        [
            "scenarios": results.map(json), "model_seconds": modelSeconds, "kernel_seconds": kernelSeconds ?? NSNull(),
            "kernel_pair_seconds": kernelPairSeconds ?? NSNull(),
            "passed": results.allSatisfy(\.passed),
        ]
    }

    static func outcomeJSON(_ o: StepOutcome) -> Any {
        guard let data = try? JSONEncoder().encode(o), let object = try? JSONSerialization.jsonObject(with: data) else { return NSNull() }
        return object
    }

    /// A step's action in a few words: `HOST as ACTOR: ip xfrm LINE` (long lines cut at 110
    /// characters; the messages iproute2 cannot send named, with the whole line), `PROTO FROM → TO:PORT as ACTOR, server as ACTOR`, `setsebool NAME=on|off …`,
    /// `setenforce 0|1` or `load_policy (N lines of policy_rules)`.
    public static func describe(_ a: ScenarioStep.Action) -> String {
        switch a {
        case .xfrm(let c) where c.messageName != nil:
            "\(c.host) as \(c.actor): \(c.messageName!)\(c.hardExpire ? " (hard)" : "") \(c.line)"
        case .xfrm(let c): "\(c.host) as \(c.actor): ip xfrm \(c.line.count > 110 ? String(c.line.prefix(107)) + "…" : c.line)"
        case .traffic(let t): "\(t.proto.rawValue) \(t.from) → \(t.to):\(t.port) as \(t.actor), server as \(t.serverActor)"
        case .booleans(let values): "setsebool " + values.keys.sorted().map { "\($0)=\(values[$0]! ? "on" : "off")" }.joined(separator: " ")
        case .enforcing(let on): "setenforce \(on ? 1 : 0)"
        case .reload(let r): "load_policy (\(r.policyRules.map { "\($0.split(separator: "\n").count) lines of" } ?? "no") policy_rules)"
        }
    }

    /// The agreement table, scenarios × (model, kernel, agreement) with a row for all of them,
    /// in Markdown, then the time each side took.
    public func table(_ results: [ScenarioResult], modelSeconds: Double) -> String {
        var rows = ["", "| scenario | steps | model meets expectations | kernel meets expectations | model = kernel |", "|---|---|---|---|---|"]
        func row(_ name: String, _ c: StepCounts, kernelFailed: Bool) -> String {
            let n = c.steps
            return
                "| \(name) | \(n) | \(modelOutcomes == nil ? "-" : "\(c.modelMet)/\(n)") | \(kernelOutcomes == nil ? "-" : (kernelFailed ? "failed" : "\(c.kernelMet)/\(n)")) | \(modelOutcomes == nil || kernelOutcomes == nil ? "-" : "\(c.agreed)/\(n)") |"
        }
        for r in results { rows.append(row(r.scenario.name, r.counts, kernelFailed: r.kernelError != nil)) }
        rows.append(row("**all \(results.count)**", StepCounts(totalling: results), kernelFailed: false))
        var timing = "model: \(String(format: "%.2f", modelSeconds)) s"
        if let kernelSeconds {
            let pair = kernelPairSeconds ?? 0
            timing += "; kernel: \(String(format: "%.1f", kernelSeconds)) s"
            timing +=
                pair > 0
                ? " (one VM boot for the hosts on one kernel: \(String(format: "%.1f", kernelSeconds - pair)) s; a pair of VMs for those on two: \(String(format: "%.1f", pair)) s)"
                : " (one VM boot, all scenarios)"
        }
        rows.append("")
        rows.append(timing)
        return rows.joined(separator: "\n")
    }
}
