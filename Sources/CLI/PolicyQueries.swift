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

/// The queries behind `salabel policy check|compute-av|transition`, shared by single and batch use.
struct PolicyQueries {
    let server: SecurityServer
    let cache: AccessVectorCache
    let subject = AuditSubject(pid: ProcessInfo.processInfo.processIdentifier, comm: "salabel")

    init(server: SecurityServer) {
        self.server = server
        self.cache = AccessVectorCache(server: server)
    }

    private func contexts(_ s: String, _ t: String) throws(DecisionError) -> (SID, SID) {
        (try server.sid(forText: s), try server.sid(forText: t))
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
        return Answer(status: Status.allowed, text: lines.joined(separator: "\n"), json: [
            "scontext": s, "tcontext": t, "tclass": cls,
            "allowed": decision.allowed, "auditallow": decision.auditAllow, "auditdeny": decision.auditDeny,
            "permissive": decision.permissiveDomain,
        ])
    }

    /// An enforced check of the requested permissions, with the AVC record it writes.
    func check(_ s: String, _ t: String, _ cls: String, _ perms: [String]) -> Answer {
        if perms.isEmpty { return computeAV(s, t, cls) }
        let ssid: SID, tsid: SID
        do { (ssid, tsid) = try contexts(s, t) } catch { return .error(error.description) }
        let policy = server.policy
        guard let c = policy.classValues[cls] else {
            if policy.handleUnknown == .allow {
                return Answer(status: Status.allowed, text: "granted { \(perms.joined(separator: " ")) } (class unknown to the policy; handle_unknown allow)",
                              json: ["scontext": s, "tcontext": t, "tclass": cls, "requested": perms, "granted": true, "denied": [String]()])
            }
            return .error(DecisionError.unknownClass(cls).description)
        }
        var requested: UInt32 = 0
        var unknown: [String] = []
        for p in perms {
            if let b = policy.classes[c - 1].permissionBits[p] { requested |= 1 << UInt32(b) } else { unknown.append(p) }
        }
        if !unknown.isEmpty && policy.handleUnknown != .allow {
            return .error(DecisionError.unknownPermission(unknown[0], objectClass: cls).description)
        }
        let result = cache.check(ssid, tsid, classValue: c, requested: requested, subject: subject)
        let deniedNames = policy.permissionNames(result.denied, classValue: c)
        var lines: [String] = []
        if result.denied == 0 {
            lines.append("granted { \(perms.joined(separator: " ")) }")
        } else if result.granted {
            lines.append("granted { \(perms.joined(separator: " ")) } (not enforced: \(server.enforcing ? "permissive domain" : "permissive mode"); denied { \(deniedNames.joined(separator: " ")) } by \(result.denialStages.joined(separator: ", ")))")
        } else {
            lines.append("denied { \(deniedNames.joined(separator: " ")) } (\(result.denialStages.joined(separator: ", ")))")
        }
        if let record = result.record { lines.append(record.description) }
        var json: [String: Any] = [
            "scontext": s, "tcontext": t, "tclass": cls, "requested": perms, "granted": result.granted,
            "denied": deniedNames, "reasons": result.denialStages,
            "allowed": policy.permissionNames(result.decision.allowed, classValue: c),
            "auditallow": policy.permissionNames(result.decision.auditAllow, classValue: c),
            "auditdeny": policy.permissionNames(result.decision.auditDeny, classValue: c),
            "permissive": result.decision.permissive,
        ]
        if let record = result.record { json["avc"] = record.description }
        return Answer(status: result.granted ? Status.allowed : Status.denied, text: lines.joined(separator: "\n"), json: json)
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
