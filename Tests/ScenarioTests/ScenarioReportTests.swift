import Foundation
import Scenario
import Testing

/// ``ScenarioReport``: what `salabel scenario run` prints of the comparisons, on
/// Specs/scenarios/echo-confined.yaml with the model alone and with a kernel side made of the
/// model's outcomes (one changed).
struct ScenarioReportTests {
    @Test func theModelAlone() throws {
        let (s, model, outcomes) = try ScenarioResultTests.echoConfined()
        let report = ScenarioReport(modelOutcomes: [s.name: outcomes], kernelOutcomes: nil)
        let result = report.scenario(s, model: model)
        #expect(result.passed)
        let text = report.text(result, verbose: false)
        #expect(text.hasPrefix("scenario echo-confined"))
        #expect(text.components(separatedBy: "     ✓ expectations met").count == 4)
        #expect(!text.contains("kernel"))
        #expect(text.contains("     avc     denied { recv }"), "\(text)")
        #expect(report.text(result, verbose: true).contains("              avc denied { recv }"))
        let table = report.table([result], modelSeconds: 0.5).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(table.contains("| echo-confined | 3 | 3/3 | - | - |"))
        #expect(table.contains("| **all 1** | 3 | 3/3 | - | - |"))
        #expect(table.last == "model: 0.50 s")
        let json = report.json([result], modelSeconds: 0.5)
        #expect(json["kernel_seconds"] is NSNull && json["passed"] as? Bool == true && json["model_seconds"] as? Double == 0.5)
        let one = try #require((json["scenarios"] as? [[String: Any]])?.first)
        #expect(one["scenario"] as? String == "echo-confined" && one["kernel_error"] is NSNull)
        let steps = try #require(one["steps"] as? [[String: Any]])
        #expect(steps.count == 3 && steps.allSatisfy { $0["kernel"] is NSNull && ($0["model"] as? [String: Any])?["result"] != nil })
        #expect(JSONSerialization.isValidJSONObject(json))
    }

    @Test func aKernelThatDiffersAndOneThatFailed() throws {
        let (s, model, outcomes) = try ScenarioResultTests.echoConfined()
        var kernel = outcomes
        kernel[2] = StepOutcome(result: "ok", avc: [])
        let report = ScenarioReport(modelOutcomes: [s.name: outcomes], kernelOutcomes: [s.name: kernel], kernelSeconds: 12.34)
        let result = report.scenario(s, model: model)
        let text = report.text(result, verbose: false)
        #expect(text.contains("     ✓ model and kernel agree; expectations met"))
        #expect(text.contains("     ✗ model ≠ kernel: result: EACCES (connect) ≠ ok"))
        #expect(text.contains("     ✗ kernel does not meet the expectation: result: expected EACCES, got ok"))
        let table = report.table([result], modelSeconds: 0.5)
        #expect(table.contains("| echo-confined | 3 | 3/3 | 2/3 | 2/3 |"))
        #expect(table.hasSuffix("model: 0.50 s; kernel: 12.3 s (one VM boot, all scenarios)"))
        #expect(report.json([result], modelSeconds: 0)["passed"] as? Bool == false)

        let failed = ScenarioReport(modelOutcomes: nil, kernelOutcomes: [:], kernelErrors: [s.name: "boom"], kernelSeconds: 1)
        let r = failed.scenario(s, model: model)
        #expect(failed.text(r, verbose: false).contains("  kernel run failed: boom"))
        #expect(failed.table([r], modelSeconds: 0).contains("| echo-confined | 3 | - | failed | - |"))
        #expect(failed.json(r)["kernel_error"] as? String == "boom")
    }

    /// Traffic in full; an `ip xfrm` line cut at 110 characters; the policy-state steps as the
    /// commands that make them by hand.
    @Test func stepsInAFewWords() throws {
        var cut = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: ScenarioTests.specs.path) where file.hasSuffix(".yaml") {
            for step in try Scenario.load(path: ScenarioTests.specs.appendingPathComponent(file).path).steps {
                let words = ScenarioReport.describe(step.action)
                switch step.action {
                case .traffic(let t):
                    #expect(words == "\(t.proto.rawValue) \(t.from) → \(t.to):\(t.port) as \(t.actor), server as \(t.serverActor)")
                case .xfrm(let c) where c.hardExpire:
                    // No `ip xfrm` line sends it: the message is named.
                    if case .deletePolicy = c.operation {
                        #expect(words == "\(c.host) as \(c.actor): XFRM_MSG_POLEXPIRE (hard) \(c.line)")
                    } else {
                        #expect(words == "\(c.host) as \(c.actor): XFRM_MSG_EXPIRE (hard) \(c.line)")
                    }
                case .xfrm(let c) where c.request != .line:
                    #expect(words == "\(c.host) as \(c.actor): XFRM_MSG_MIGRATE \(c.line)")
                case .xfrm(let c):
                    let head = "\(c.host) as \(c.actor): ip xfrm "
                    if c.line.count > 110 {
                        cut += 1
                        #expect(words == head + c.line.prefix(107) + "…")
                    } else {
                        #expect(words == head + c.line)
                    }
                case .booleans(let values):
                    // As setsebool takes them: NAME=on|off, sorted by name.
                    #expect(words == "setsebool " + values.keys.sorted().map { "\($0)=\(values[$0]! ? "on" : "off")" }.joined(separator: " "))
                case .enforcing(let on):
                    #expect(words == (on ? "setenforce 1" : "setenforce 0"))
                case .reload:
                    #expect(words.hasPrefix("load_policy ("))
                }
            }
        }
        #expect(cut > 0, "no scenario has an xfrm line long enough to be cut")
        let polmatch = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("boolean-polmatch.yaml").path)
        #expect(ScenarioReport.describe(polmatch.steps[1].action) == "setsebool echo_allow_unlabeled=on flow_uses_sa=off")
        let toggle = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("permissive-toggle.yaml").path)
        #expect(ScenarioReport.describe(toggle.steps[2].action) == "setenforce 1")
        let reload = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("policy-reload.yaml").path)
        #expect(ScenarioReport.describe(reload.steps[2].action) == "load_policy (9 lines of policy_rules)")
        #expect(ScenarioReport.describe(ScenarioStep.Action.reload(.init(policyRules: nil))) == "load_policy (no policy_rules)")
    }
}
