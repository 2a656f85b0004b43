public import SecurityContexts

/// An access decision for (source context, target context, class), as the security server computes
/// it: the access vector with its audit vectors. Permissions are named as the policy names them, in
/// the policy's permission order.
///
/// A denial is a value, not an error; errors are for contexts or classes that cannot be resolved.
public struct AccessDecision: Sendable, Hashable {
    /// The object class the decision is for.
    public var objectClass: String
    /// Permissions granted.
    public var allowed: [String]
    /// Permissions whose grant is audited (`auditallow`).
    public var auditAllow: [String]
    /// Permissions whose denial is audited (every permission not covered by `dontaudit`).
    public var auditDeny: [String]
    /// The source domain is permissive (a `permissive` type): denials are audited but not enforced.
    public var permissiveDomain: Bool
    /// Permissions (or the whole class) unknown to the policy are allowed (`handle_unknown allow`).
    public var unknownAllowed: Bool

    public init(objectClass: String, allowed: [String], auditAllow: [String], auditDeny: [String], permissiveDomain: Bool, unknownAllowed: Bool = false) {
        self.objectClass = objectClass
        self.allowed = allowed
        self.auditAllow = auditAllow
        self.auditDeny = auditDeny
        self.permissiveDomain = permissiveDomain
        self.unknownAllowed = unknownAllowed
    }
}

/// Which transition decision to compute (the kernel's `security_transition_sid`,
/// `security_member_sid`, `security_change_sid`).
public enum TransitionKind: String, Sendable, Hashable, CaseIterable {
    /// `type_transition`, `role_transition`, `range_transition`: a new process or object.
    case transition
    /// `type_member`: a polyinstantiated member.
    case member
    /// `type_change`: a relabel.
    case change
}

/// Why a decision could not be made. Every caller treats these as a denial (fail closed).
public enum DecisionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The context is not valid under the policy (unknown user, role or type, role not authorized for
    /// the user, type not authorized for the role, level outside the user's range, bad MLS).
    case invalidContext(String, reason: String)
    /// The class is not defined by the policy (and `handle_unknown` does not allow it).
    case unknownClass(String)
    /// A permission is not defined for the class.
    case unknownPermission(String, objectClass: String)
    /// The computed context of a transition is not valid (the kernel refuses it with `EACCES`).
    case invalidTransition(String, reason: String)
    /// The backend cannot answer (no policy loaded, SELinux disabled, a library call failed).
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidContext(let context, let reason): return "invalid context \"\(context)\": \(reason)"
        case .unknownClass(let name): return "unknown class \"\(name)\""
        case .unknownPermission(let perm, let cls): return "unknown permission \"\(perm)\" for class \"\(cls)\""
        case .invalidTransition(let context, let reason): return "computed context \"\(context)\" is invalid: \(reason)"
        case .unavailable(let why): return "no decision can be made: \(why)"
        }
    }
}

/// One protocol, two backends: the in-process engine (``SecurityServer``) and the running kernel
/// (`SELinuxKernel.KernelBackend`, through libselinux). Every component asks a backend; none decides
/// on its own.
public protocol DecisionBackend: Sendable {
    /// A short name for reports: `"in-process"` or `"kernel"`.
    var backendName: String { get }
    /// The access vector for (source, target, class).
    func computeAccess(source: SecurityContext, target: SecurityContext, objectClass: String) throws(DecisionError) -> AccessDecision
    /// The context of a new process or object.
    func computeTransition(_ kind: TransitionKind, source: SecurityContext, target: SecurityContext, objectClass: String, objectName: String?)
        throws(DecisionError) -> SecurityContext
    /// Checks that a context is valid under the policy; throws `.invalidContext` with the reason if not.
    func validate(_ context: SecurityContext) throws(DecisionError)
    /// Whether the system enforces denials (global enforcing mode).
    var enforcing: Bool { get }
}
