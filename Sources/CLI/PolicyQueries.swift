import DecisionEngine
import Foundation
import SecurityContexts

/// One answer of a decision command: the exit status, a line (or lines) of text, and a JSON object.
struct Answer {
    var status: Int32
    var text: String
    var json: [String: Any]

    static func error(_ message: String) -> Answer {
        Answer(status: Status.error, text: "error: \(message)", json: ["error": message])
    }
}

/// The queries behind `salabel policy check|compute-av|transition`, shared by single and batch use:
/// the decision engine decides, this prints.
struct PolicyQueries {
    let server: SecurityServer
    let cache: AccessVectorCache
    let subject = AuditSubject(pid: ProcessInfo.processInfo.processIdentifier, comm: "salabel")

    init(server: SecurityServer) {
        self.server = server
        self.cache = AccessVectorCache(server: server)
    }

    /// The access vector for (source, target, class).
    func computeAV(_ s: String, _ t: String, _ cls: String) -> Answer {
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
        return Answer(
            status: Status.allowed, text: lines.joined(separator: "\n"),
            json: [
                "scontext": s, "tcontext": t, "tclass": cls,
                "allowed": decision.allowed, "auditallow": decision.auditAllow, "auditdeny": decision.auditDeny,
                "permissive": decision.permissiveDomain,
            ])
    }

    /// An enforced check of the requested permissions, with the AVC record it writes.
    func check(_ s: String, _ t: String, _ cls: String, _ perms: [String]) -> Answer {
        if perms.isEmpty { return computeAV(s, t, cls) }
        let r: NamedAccessCheck
        do { r = try cache.check(source: s, target: t, objectClass: cls, permissions: perms, subject: subject) } catch {
            return .error(error.description)
        }
        let granted = "granted { \(perms.joined(separator: " ")) }"
        var json: [String: Any] = ["scontext": s, "tcontext": t, "tclass": cls, "requested": perms, "granted": r.granted, "denied": r.denied]
        if r.unknownClassAllowed {
            return Answer(status: Status.allowed, text: granted + " (class unknown to the policy; handle_unknown allow)", json: json)
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
        return Answer(status: r.granted ? Status.allowed : Status.denied, text: lines.joined(separator: "\n"), json: json)
    }

    /// A transition decision.
    func transition(_ kind: TransitionKind, _ s: String, _ t: String, _ cls: String, name: String?) -> Answer {
        do {
            let ctx = try server.computeTransition(kind, source: try parse(s), target: try parse(t), objectClass: cls, objectName: name)
            var json: [String: Any] = ["scontext": s, "tcontext": t, "tclass": cls, "kind": kind.rawValue, "context": ctx.description]
            if let name { json["name"] = name }
            return Answer(status: Status.allowed, text: ctx.description, json: json)
        } catch {
            return .error(error.description)
        }
    }

    private func parse(_ text: String) throws(DecisionError) -> SecurityContext {
        do { return try SecurityContext(parsing: text) } catch { throw .invalidContext(text, reason: error.description) }
    }
}
