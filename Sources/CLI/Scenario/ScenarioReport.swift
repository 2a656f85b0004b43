import Foundation
import Scenario
import ScenarioKernel

/// What `salabel scenario run` prints: each step side by side (model, kernel), the expectations
/// each side missed, the disagreements, and a table of every scenario.
struct ScenarioReport {
    /// Nil when the model was not run (--kernel).
    var modelOutcomes: [String: [StepOutcome]]?
    /// Nil when the kernel was not run.
    var kernel: KernelRun.Result?

    struct StepResult {
        var step: ScenarioStep
        var model: StepOutcome?
        var kernel: StepOutcome?
        var modelUnmet: [String]
        var kernelUnmet: [String]
        var disagreements: [String]
    }

    struct ScenarioResult {
        var scenario: Scenario
        var steps: [StepResult]
        var kernelError: String?

        var passed: Bool {
            kernelError == nil && steps.allSatisfy { $0.modelUnmet.isEmpty && $0.kernelUnmet.isEmpty && $0.disagreements.isEmpty }
        }
        var disagreements: Int { steps.filter { !$0.disagreements.isEmpty }.count }

        func text(verbose: Bool) -> String {
            var out = ["scenario \(scenario.name)" + (scenario.description.map { ": \($0)" } ?? "")]
            if let kernelError { out.append("  kernel run failed: \(kernelError)") }
            for (i, r) in steps.enumerated() {
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
                if r.modelUnmet.isEmpty && r.kernelUnmet.isEmpty && r.disagreements.isEmpty {
                    out.append("     ✓ " + (r.model != nil && r.kernel != nil ? "model and kernel agree; expectations met" : "expectations met"))
                }
            }
            return out.joined(separator: "\n")
        }

        var json: [String: Any] {
            [
                "scenario": scenario.name, "passed": passed, "kernel_error": kernelError ?? NSNull(),
                "steps": steps.map { r -> [String: Any] in
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
    }

    func scenario(_ s: Scenario, model: ScenarioModel) -> ScenarioResult {
        let m = modelOutcomes?[s.name]
        let k = kernel?.outcomes[s.name]
        var kernelError = kernel?.errors[s.name]
        if kernel != nil && kernelError == nil && (k?.count ?? 0) != s.steps.count { kernelError = "no outcome from the guest" }
        let canonical = model.canonical
        var steps: [StepResult] = []
        for (i, step) in s.steps.enumerated() {
            let mo = m.flatMap { i < $0.count ? $0[i] : nil }
            let ko = k.flatMap { i < $0.count ? $0[i] : nil }
            var disagreements: [String] = []
            if let mo, let ko {
                disagreements = mo.differences(from: ko, canonical: canonical, names: ("model", "kernel"))
            }
            steps.append(StepResult(step: step, model: mo, kernel: ko, modelUnmet: mo.map { $0.unmet(step.expect, canonical: canonical) } ?? [],
                                    kernelUnmet: ko.map { $0.unmet(step.expect, canonical: canonical) } ?? [], disagreements: disagreements))
        }
        return ScenarioResult(scenario: s, steps: steps, kernelError: kernelError)
    }

    /// The agreement table: scenarios × (model, kernel, agreement).
    func table(_ results: [ScenarioResult], modelSeconds: Double) -> String {
        var rows = ["", "| scenario | steps | model meets expectations | kernel meets expectations | model = kernel |", "|---|---|---|---|---|"]
        var totals = (steps: 0, model: 0, kernel: 0, agree: 0)
        for r in results {
            let s = r.scenario
            let n = r.steps.count
            let mOK = r.steps.filter { $0.model != nil && $0.modelUnmet.isEmpty }.count
            let kOK = r.steps.filter { $0.kernel != nil && $0.kernelUnmet.isEmpty }.count
            let agree = r.steps.filter { $0.model != nil && $0.kernel != nil && $0.disagreements.isEmpty }.count
            totals.steps += n; totals.model += mOK; totals.kernel += kOK; totals.agree += agree
            rows.append("| \(s.name) | \(n) | \(modelOutcomes == nil ? "-" : "\(mOK)/\(n)") | \(kernel == nil ? "-" : (r.kernelError != nil ? "failed" : "\(kOK)/\(n)")) | \(modelOutcomes == nil || kernel == nil ? "-" : "\(agree)/\(n)") |")
        }
        let t = totals
        rows.append("| **all \(results.count)** | \(t.steps) | \(modelOutcomes == nil ? "-" : "\(t.model)/\(t.steps)") | \(kernel == nil ? "-" : "\(t.kernel)/\(t.steps)") | \(modelOutcomes == nil || kernel == nil ? "-" : "\(t.agree)/\(t.steps)") |")
        var timing = "model: \(String(format: "%.2f", modelSeconds)) s"
        if let kernel { timing += "; kernel (one VM boot, all scenarios): \(String(format: "%.1f", kernel.seconds)) s" }
        rows.append("")
        rows.append(timing)
        return rows.joined(separator: "\n")
    }
}
