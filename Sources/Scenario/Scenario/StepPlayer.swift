/// Plays a scenario's steps, in order, each to its outcome. There are three players: the model
/// (``ScenarioModel``: the decision engine, the manager's rules and the resolver, no kernel), the
/// userspace data plane (``DataPlanePlayer``) and a real SELinux kernel (`KernelPlayer`, in
/// ScenarioKernel). `salabel scenario run` compares their outcomes step by step
/// (Specs/scenarios/README.md).
public protocol StepPlayer {
    /// Plays one step; steps must be played in the scenario's order.
    mutating func play(_ step: ScenarioStep) -> StepOutcome
}

extension StepPlayer {
    /// Plays `steps` in order.
    public mutating func play(_ steps: [ScenarioStep]) -> [StepOutcome] {
        steps.map { play($0) }
    }
}
