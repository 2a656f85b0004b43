import SecurityContexts

/// One answer to a policy query, as `salabel policy` reports it: the verdict, the text for people
/// (one line or a few) and the same answer as a JSON-ready dictionary.
public struct PolicyAnswer {
    /// What the answer says, from best to worst: a batch reports the worst of its answers.
    public enum Verdict: Int, Sendable, Hashable, Comparable {
        /// Every requested permission granted, or a question answered (an access vector, a
        /// transition, counts).
        case allowed
        /// At least one requested permission denied (and enforced).
        case denied
        /// The question could not be answered: a bad context, class, permission or query line.
        case error

        public static func < (a: Verdict, b: Verdict) -> Bool { a.rawValue < b.rawValue }
    }

    public var verdict: Verdict
    /// The answer for people; for ``Verdict/error``, `error: ` and the message.
    public var text: String
    /// The answer as a dictionary of strings, numbers, booleans and arrays, ready for
    /// `JSONSerialization`; for ``Verdict/error``, `{"error": message}`.
    public var json: [String: Any]

    public init(verdict: Verdict, text: String, json: [String: Any]) {
        self.verdict = verdict
        self.text = text
        self.json = json
    }

    /// A question that could not be answered: `error: MESSAGE`, and `{"error": MESSAGE}`.
    public static func error(_ message: String) -> PolicyAnswer {
        PolicyAnswer(verdict: .error, text: "error: \(message)", json: ["error": message])
    }
}

/// The questions `salabel policy check|compute-av|transition|info` asks of a security server, each
/// answered as a ``PolicyAnswer``, with contexts and classes given as text (as a user types them
/// or a batch line holds them). The engine decides; this puts its decisions into words.
public struct PolicyQueries {
    /// The security server asked.
    public let server: SecurityServer
    /// The cache enforced checks go through (it writes their AVC records).
    public let cache: AccessVectorCache
    /// The process named in the AVC records of enforced checks.
    public let subject: AuditSubject?

    /// Queries of `server`, with `subject` in the AVC records of ``check(_:_:_:_:)``.
    public init(server: SecurityServer, subject: AuditSubject? = nil) {
        self.server = server
        self.cache = AccessVectorCache(server: server)
        self.subject = subject
    }

    /// The access vector for (source, target, class): `allowed { … }`, `auditallow { … }`,
    /// `auditdeny { … }`, then `permissive domain` and the handle_unknown note when they apply.
    public func computeAV(_ s: String, _ t: String, _ cls: String) -> PolicyAnswer {
        let decision: AccessDecision
        do {
            decision = try server.computeAccess(source: try parse(s), target: try parse(t), objectClass: cls)
        } catch {
            return .error(error.description)
        }
        var lines = [
            "allowed { \(decision.allowed.joined(separator: " ")) }",
            "auditallow { \(decision.auditAllow.joined(separator: " ")) }",
            "auditdeny { \(decision.auditDeny.joined(separator: " ")) }",
        ]
        if decision.permissiveDomain { lines.append("permissive domain") }
        if decision.unknownAllowed { lines.append("unknown permissions allowed (handle_unknown allow)") }
        return PolicyAnswer(
            verdict: .allowed, text: lines.joined(separator: "\n"),
            json: [
                "scontext": s, "tcontext": t, "tclass": cls,
                "allowed": decision.allowed, "auditallow": decision.auditAllow, "auditdeny": decision.auditDeny,
                "permissive": decision.permissiveDomain,
            ])
    }

    /// An enforced check of `perms` (the access vector when there are none): `granted { … }` or
    /// `denied { … } (REASONS)`, a waiver when the denial is not enforced, and the AVC record the
    /// check writes.
    public func check(_ s: String, _ t: String, _ cls: String, _ perms: [String]) -> PolicyAnswer {
        if perms.isEmpty { return computeAV(s, t, cls) }
        let r: NamedAccessCheck
        do { r = try cache.check(source: s, target: t, objectClass: cls, permissions: perms, subject: subject) } catch {
            return .error(error.description)
        }
        let granted = "granted { \(perms.joined(separator: " ")) }"
        var json: [String: Any] = ["scontext": s, "tcontext": t, "tclass": cls, "requested": perms, "granted": r.granted, "denied": r.denied]
        if r.unknownClassAllowed {
            return PolicyAnswer(verdict: .allowed, text: granted + " (class unknown to the policy; handle_unknown allow)", json: json)
        }
        let denied = "denied { \(r.denied.joined(separator: " ")) }", reasons = r.reasons.joined(separator: ", ")
        var lines: [String]
        if r.denied.isEmpty {
            lines = [granted]
        } else if let waiver = r.waiver {
            lines = [granted + " (not enforced: \(waiver.rawValue); \(denied) by \(reasons))"]
        } else {
            lines = [denied + " (\(reasons))"]
        }
        if let record = r.record { lines.append(record.description) }
        json.merge([
            "reasons": r.reasons, "allowed": r.allowed, "auditallow": r.auditAllow, "auditdeny": r.auditDeny,
            "permissive": r.permissiveDomain,
        ]) { a, _ in a }
        if let record = r.record { json["avc"] = record.description }
        return PolicyAnswer(verdict: r.granted ? .allowed : .denied, text: lines.joined(separator: "\n"), json: json)
    }

    /// The context of a new process or object (`kind`), `name` for name-based type_transition rules.
    public func transition(_ kind: TransitionKind, _ s: String, _ t: String, _ cls: String, name: String?) -> PolicyAnswer {
        do {
            let ctx = try server.computeTransition(kind, source: try parse(s), target: try parse(t), objectClass: cls, objectName: name)
            var json: [String: Any] = ["scontext": s, "tcontext": t, "tclass": cls, "kind": kind.rawValue, "context": ctx.description]
            if let name { json["name"] = name }
            return PolicyAnswer(verdict: .allowed, text: ctx.description, json: json)
        } catch {
            return .error(error.description)
        }
    }

    /// The counts of the policy's components (``PolicyStatistics``), named as `seinfo` names them,
    /// under a heading with the policy's `name`, MLS, handle_unknown and the mode.
    public func info(name: String) -> PolicyAnswer {
        let stats = server.policy.statistics
        var text =
            "Policy: \(name)\nMLS: \(stats.mlsEnabled ? "enabled" : "disabled")  handle_unknown: \(stats.handleUnknown.rawValue)  mode: \(server.enforcing ? "enforcing" : "permissive")\n"
        for c in stats.counts { text += "  \(c.label + ":")\(String(repeating: " ", count: max(1, 26 - c.label.count)))\(c.value)\n" }
        let json: [String: Any] = [
            "policy": name, "mls": stats.mlsEnabled, "handle_unknown": stats.handleUnknown.rawValue, "enforcing": server.enforcing,
            "counts": Dictionary(uniqueKeysWithValues: stats.counts.map { ($0.key, $0.value) }), "policycaps": stats.policyCapabilities,
        ]
        return PolicyAnswer(verdict: .allowed, text: String(text.dropLast()), json: json)
    }

    private func parse(_ text: String) throws(DecisionError) -> SecurityContext {
        do { return try SecurityContext(parsing: text) } catch { throw .invalidContext(text, reason: error.description) }
    }
}
