// Which policy `salabel status` checks labels against, and the engine's verdict on one label.
// Specs/manager/status.md, "Labels the policy does not know".

public import DecisionEngine
import SELinuxKernel
public import SecurityContexts

/// The policy labels are checked against, and the check.
public struct StatusLabelPolicy: Sendable {
    public var check: StatusLabelCheck
    public var verdict: @Sendable (SecurityContext) -> StatusLabelVerdict

    /// Labels checked with `loaded` (the engine's `SecurityServer.validate`: user, role, type and MLS
    /// range defined and compatible).
    public init(_ loaded: LoadedPolicy) {
        check = .policy(loaded.description)
        let server = loaded.server
        verdict = { context in
            let outcome = Result { () throws(DecisionError) in try server.validate(context) }
            guard case .failure(let error) = outcome else { return .known }
            guard case .invalidContext(_, let reason) = error else { return .unknown(reason: error.description) }
            return .unknown(reason: reason)
        }
    }

    /// No check, and why.
    public init(unchecked reason: String) {
        check = .unchecked(reason: reason)
        verdict = { _ in .unchecked }
    }

    /// The policy `--policy` names (`origin`), else the running policy when SELinux is enabled, else
    /// none: an unlabeled system's labels are not judged by the embedded policy unless asked.
    /// - Throws: a policy named by `origin` that cannot be loaded.
    public static func choose(_ origin: PolicyOrigin?) throws(PolicyOriginError) -> StatusLabelPolicy {
        if let origin { return StatusLabelPolicy(try origin.load()) }
        guard RunningPolicy.isAvailable else {
            return StatusLabelPolicy(unchecked: "SELinux is not enabled and no --policy was given")
        }
        do { return StatusLabelPolicy(try PolicyOrigin.running.load()) } catch {
            return StatusLabelPolicy(unchecked: "the running policy could not be loaded: \(error)")
        }
    }
}
