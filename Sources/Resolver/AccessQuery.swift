import DecisionEngine
public import SecurityContexts

/// A permission check the resolver asked the policy, as values a program can use: the class and
/// permissions, the two contexts, and the answer (`allowed`, `denied` with audit2why's stages, or
/// no decision), whether a denial was enforced.
public struct AccessQuery: Sendable, Hashable {
    /// The policy's answer to the permissions asked.
    public enum Decision: Sendable, Hashable {
        case allowed
        /// Denied, with why in audit2why's terms (`TERULE`, `CONSTRAINT`, `RBAC`, `BOUNDS`).
        case denied(stages: [String])
        /// No decision could be made (a context the policy does not know, a class or permission
        /// it lacks); the text says why.
        case undecided(String)
    }

    public var objectClass: String
    public var permissions: [String]
    public var source: SecurityContext
    public var target: SecurityContext
    public var decision: Decision
    /// For a denial: the kernel refuses the request (false: permissive mode or a permissive domain,
    /// the denial is only audited).
    public var enforced: Bool

    /// A query; `decision` and `enforced` as given.
    public init(objectClass: String, permissions: [String], source: SecurityContext, target: SecurityContext, decision: Decision, enforced: Bool) {
        self.objectClass = objectClass
        self.permissions = permissions
        self.source = source
        self.target = target
        self.decision = decision
        self.enforced = enforced
    }

    /// A query answered by `check` (the AVC's answer), or `undecided` when there was none.
    init(objectClass: String, permissions: [String], source: SecurityContext, target: SecurityContext, check: AccessCheck?, undecided: String?) {
        let decision: Decision
        var enforced = false
        if let check {
            if check.denied == 0 {
                decision = .allowed
            } else {
                decision = .denied(stages: check.denialStages)
                enforced = !check.granted
            }
        } else {
            decision = .undecided(undecided ?? "no decision")
        }
        self.init(objectClass: objectClass, permissions: permissions, source: source, target: target, decision: decision, enforced: enforced)
    }

    /// The query as a dictionary: `class`, `permissions`, `source`, `target`, `result` (`allowed`,
    /// `denied` or `undecided`), and `denial_stages` and `enforced` for a denial or `why` for no
    /// decision.
    public var json: [String: Any] {
        var o: [String: Any] = [
            "class": objectClass, "permissions": permissions, "source": source.description, "target": target.description,
        ]
        switch decision {
        case .allowed: o["result"] = "allowed"
        case .denied(let stages):
            o["result"] = "denied"
            o["denial_stages"] = stages
            o["enforced"] = enforced
        case .undecided(let why):
            o["result"] = "undecided"
            o["why"] = why
        }
        return o
    }
}
