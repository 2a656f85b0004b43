public import Scenario

extension ScenarioReport {
    /// The report of a run of the model (`modelOutcomes`, nil when it was not run) and of the
    /// kernel (`kernel`, nil when it was not run): its outcomes, its errors and its time.
    public init(modelOutcomes: [String: [StepOutcome]]?, kernel: KernelRun.Result?) {
        self.init(
            modelOutcomes: modelOutcomes, kernelOutcomes: kernel?.outcomes, kernelErrors: kernel?.errors ?? [:], kernelSeconds: kernel?.seconds,
            kernelPairSeconds: kernel?.pairSeconds)
    }
}
