/// One step of a scenario as the model and the kernel played it, against the step's expectations:
/// what each side missed and where the two disagree.
public struct StepComparison: Sendable, Hashable {
    public var step: ScenarioStep
    /// The model's outcome; nil when the model was not run.
    public var model: StepOutcome?
    /// The kernel's outcome; nil when the kernel was not run or gave no outcome for the step.
    public var kernel: StepOutcome?
    /// The expectations the model's outcome does not meet (``StepOutcome/unmet(_:canonical:)``).
    public var modelUnmet: [String]
    /// The expectations the kernel's outcome does not meet.
    public var kernelUnmet: [String]
    /// Where the two outcomes differ (``StepOutcome/differences(from:canonical:names:)``, the sides
    /// named `model` and `kernel`); empty unless both sides have an outcome.
    public var disagreements: [String]

    /// Compares the outcomes of `step` with its expectations on `linux` (the version both sides
    /// played: ``ScenarioStep/expectation(on:)``) and with each other, contexts compared through
    /// `canonical`.
    public init(
        step: ScenarioStep, model: StepOutcome?, kernel: StepOutcome?, canonical: (String) -> String = { $0 },
        linux: LinuxVersion = .debian12
    ) {
        self.step = step
        self.model = model
        self.kernel = kernel
        let expect = step.expectation(on: linux)
        modelUnmet = model.map { $0.unmet(expect, canonical: canonical) } ?? []
        kernelUnmet = kernel.map { $0.unmet(expect, canonical: canonical) } ?? []
        if let model, let kernel {
            disagreements = model.differences(from: kernel, canonical: canonical, names: ("model", "kernel"))
        } else {
            disagreements = []
        }
    }

    /// Every expectation is met by each side that played, and the sides agree.
    public var passed: Bool { modelUnmet.isEmpty && kernelUnmet.isEmpty && disagreements.isEmpty }
    /// The model played the step and met its expectations.
    public var modelMeetsExpectations: Bool { model != nil && modelUnmet.isEmpty }
    /// The kernel played the step and met its expectations.
    public var kernelMeetsExpectations: Bool { kernel != nil && kernelUnmet.isEmpty }
    /// Both sides played the step and agree on every field.
    public var modelAgreesWithKernel: Bool { model != nil && kernel != nil && disagreements.isEmpty }
}

/// A scenario's steps compared (``StepComparison``): what `salabel scenario run` reports for one
/// scenario, with or without the kernel.
public struct ScenarioResult: Sendable {
    public var scenario: Scenario
    /// One comparison per step, in the scenario's order.
    public var steps: [StepComparison]
    /// Why the kernel run failed for this scenario; nil when it did not fail (or did not run).
    public var kernelError: String?

    /// Compares each step of `scenario`. `model` and `kernel` are each side's outcomes in step
    /// order, nil for a side that was not run. A kernel run with no `kernelError` that gave fewer
    /// or more outcomes than there are steps failed: `kernelError` is then `no outcome from the guest`.
    /// The expectations are those of `linux`, the version the model played and the kernel ran.
    public init(
        scenario: Scenario, model: [StepOutcome]?, kernel: [StepOutcome]?, kernelError: String? = nil,
        canonical: (String) -> String = { $0 }, linux: LinuxVersion = .debian12
    ) {
        self.scenario = scenario
        var kernelError = kernelError
        if let kernel, kernelError == nil, kernel.count != scenario.steps.count { kernelError = "no outcome from the guest" }
        self.kernelError = kernelError
        steps = scenario.steps.enumerated().map { i, step in
            StepComparison(
                step: step, model: model.flatMap { i < $0.count ? $0[i] : nil },
                kernel: kernel.flatMap { i < $0.count ? $0[i] : nil }, canonical: canonical, linux: linux)
        }
    }

    /// The kernel run did not fail, and every step passed (``StepComparison/passed``).
    public var passed: Bool { kernelError == nil && steps.allSatisfy(\.passed) }

    /// The steps counted by how they fared.
    public var counts: StepCounts {
        StepCounts(
            steps: steps.count, modelMet: steps.filter(\.modelMeetsExpectations).count,
            kernelMet: steps.filter(\.kernelMeetsExpectations).count, agreed: steps.filter(\.modelAgreesWithKernel).count)
    }
}

/// Steps counted by how they fared: the numbers of `salabel scenario run`'s agreement table.
public struct StepCounts: Sendable, Hashable {
    public var steps: Int
    /// Steps the model played and whose expectations it met.
    public var modelMet: Int
    /// Steps the kernel played and whose expectations it met.
    public var kernelMet: Int
    /// Steps on which model and kernel agree.
    public var agreed: Int

    public init(steps: Int = 0, modelMet: Int = 0, kernelMet: Int = 0, agreed: Int = 0) {
        self.steps = steps
        self.modelMet = modelMet
        self.kernelMet = kernelMet
        self.agreed = agreed
    }

    /// The sum of the counts of `results`.
    public init(totalling results: [ScenarioResult]) {
        self.init()
        for c in results.map(\.counts) {
            steps += c.steps
            modelMet += c.modelMet
            kernelMet += c.kernelMet
            agreed += c.agreed
        }
    }
}
