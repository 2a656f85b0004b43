import Foundation
import Scenario
import ScenarioKernel

/// What `salabel scenario run` prints: each step side by side (model, kernel), the expectations
/// each side missed, the disagreements, and a table of every scenario. The comparison itself is
/// the Scenario module's (`ScenarioResult`).
struct ScenarioReport {
    /// Nil when the model was not run (--kernel).
    var modelOutcomes: [String: [StepOutcome]]?
    /// Nil when the kernel was not run.
    var kernel: KernelRun.Result?

    /// The scenario's steps compared: model, kernel (a scenario the guest sent nothing for has no outcomes), expectations.
    func scenario(_ s: Scenario, model: ScenarioModel) -> ScenarioResult {
        ScenarioResult(
            scenario: s, model: modelOutcomes?[s.name], kernel: kernel.map { $0.outcomes[s.name] ?? [] },
            kernelError: kernel?.errors[s.name], canonical: model.canonical)
    }

    func text(_ result: ScenarioResult, verbose: Bool) -> String {
        let scenario = result.scenario
        var out = ["scenario \(scenario.name)" + (scenario.description.map { ": \($0)" } ?? "")]
        if let kernelError = result.kernelError { out.append("  kernel run failed: \(kernelError)") }
        for (i, r) in result.steps.enumerated() {
            out.append("  \(i + 1). \(r.step.name)  [\(describe(r.step.action))]")
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

    func json(_ result: ScenarioResult) -> [String: Any] {
        [
            "scenario": result.scenario.name, "passed": result.passed, "kernel_error": result.kernelError ?? NSNull(),
            "steps": result.steps.map { r -> [String: Any] in
                [
                    "name": r.step.name, "model": r.model.map(outcomeJSON) ?? NSNull(), "kernel": r.kernel.map(outcomeJSON) ?? NSNull(),
                    "model_unmet": r.modelUnmet, "kernel_unmet": r.kernelUnmet, "disagreements": r.disagreements,
                ]
            },
        ]
    }

    func outcomeJSON(_ o: StepOutcome) -> Any {
        guard let data = try? JSONEncoder().encode(o), let object = try? JSONSerialization.jsonObject(with: data) else { return NSNull() }
        return object
    }

    func describe(_ a: ScenarioStep.Action) -> String {
        switch a {
        case .xfrm(let c): "\(c.host) as \(c.actor): ip xfrm \(c.line.count > 110 ? String(c.line.prefix(107)) + "…" : c.line)"
        case .traffic(let t): "\(t.proto.rawValue) \(t.from) → \(t.to):\(t.port) as \(t.actor), server as \(t.serverActor)"
        }
    }

    /// The agreement table: scenarios × (model, kernel, agreement).
    func table(_ results: [ScenarioResult], modelSeconds: Double) -> String {
        var rows = ["", "| scenario | steps | model meets expectations | kernel meets expectations | model = kernel |", "|---|---|---|---|---|"]
        func row(_ name: String, _ c: StepCounts, kernelFailed: Bool) -> String {
            let n = c.steps
            return
                "| \(name) | \(n) | \(modelOutcomes == nil ? "-" : "\(c.modelMet)/\(n)") | \(kernel == nil ? "-" : (kernelFailed ? "failed" : "\(c.kernelMet)/\(n)")) | \(modelOutcomes == nil || kernel == nil ? "-" : "\(c.agreed)/\(n)") |"
        }
        for r in results { rows.append(row(r.scenario.name, r.counts, kernelFailed: r.kernelError != nil)) }
        rows.append(row("**all \(results.count)**", StepCounts(totalling: results), kernelFailed: false))
        var timing = "model: \(String(format: "%.2f", modelSeconds)) s"
        if let kernel { timing += "; kernel (one VM boot, all scenarios): \(String(format: "%.1f", kernel.seconds)) s" }
        rows.append("")
        rows.append(timing)
        return rows.joined(separator: "\n")
    }
}
