import Foundation
import Scenario
import Testing

/// ``ScenarioResult``: a scenario's steps compared with the expectations its file states and
/// between model and kernel. The expectations are Specs/scenarios/echo-confined.yaml's (the echo
/// succeeds, the rogue listener times out with a `peer recv` denial, port 40009 is refused with
/// EACCES); the kernel's side is played here by copies of the model's outcomes, changed where a test
/// says so.
struct ScenarioResultTests {
    static func echoConfined() throws -> (Scenario, ScenarioModel, [StepOutcome]) {
        let s = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("echo-confined.yaml").path)
        var model = try ScenarioModel(s)
        return (s, model, model.run())
    }

    @Test func theModelAloneMeetsTheFilesExpectations() throws {
        let (s, model, outcomes) = try Self.echoConfined()
        #expect(outcomes.map(\.result) == ["ok", "ETIMEDOUT", "EACCES"])
        let r = ScenarioResult(scenario: s, model: outcomes, kernel: nil, canonical: model.canonical)
        #expect(r.passed && r.kernelError == nil)
        #expect(r.steps.map(\.step.name) == s.steps.map(\.name))
        #expect(r.steps.allSatisfy { $0.kernel == nil && $0.disagreements.isEmpty && $0.modelMeetsExpectations && !$0.modelAgreesWithKernel })
        #expect(r.counts == StepCounts(steps: 3, modelMet: 3, kernelMet: 0, agreed: 0))
    }

    @Test func aKernelThatDiffersIsNamedStepByStep() throws {
        let (s, model, outcomes) = try Self.echoConfined()
        var kernel = outcomes
        kernel[2] = StepOutcome(result: "ok", avc: [])
        let r = ScenarioResult(scenario: s, model: outcomes, kernel: kernel, canonical: model.canonical)
        #expect(!r.passed && r.kernelError == nil)
        #expect(r.steps[0].passed && r.steps[1].passed && r.steps[0].modelAgreesWithKernel)
        let third = r.steps[2]
        #expect(third.modelUnmet.isEmpty)
        #expect(third.kernelUnmet.contains("result: expected EACCES, got ok"), "\(third.kernelUnmet)")
        #expect(third.kernelUnmet.contains { $0.hasPrefix("avc expected, missing: denied { name_connect }") }, "\(third.kernelUnmet)")
        #expect(third.disagreements.contains("result: EACCES (connect) ≠ ok"), "\(third.disagreements)")
        #expect(third.disagreements.contains { $0.hasPrefix("avc only in the model: denied { name_connect }") }, "\(third.disagreements)")
        #expect(r.counts == StepCounts(steps: 3, modelMet: 3, kernelMet: 2, agreed: 2))
        #expect(StepCounts(totalling: [r, r]) == StepCounts(steps: 6, modelMet: 6, kernelMet: 4, agreed: 4))
    }

    @Test func aKernelRunWithoutEveryOutcomeFailed() throws {
        let (s, model, outcomes) = try Self.echoConfined()
        let short = ScenarioResult(scenario: s, model: outcomes, kernel: Array(outcomes.prefix(2)), canonical: model.canonical)
        #expect(short.kernelError == "no outcome from the guest" && !short.passed)
        #expect(short.steps[2].kernel == nil && short.steps[2].disagreements.isEmpty && short.counts.agreed == 2)
        let failed = ScenarioResult(scenario: s, model: nil, kernel: [], kernelError: "the VM did not boot")
        #expect(failed.kernelError == "the VM did not boot" && !failed.passed && failed.counts == StepCounts(steps: 3))
    }
}
