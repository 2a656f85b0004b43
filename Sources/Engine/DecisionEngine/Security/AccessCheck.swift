import SecurityContexts

/// The outcome of an enforced permission check (`avc_has_perm`): the decision, what was denied,
/// whether the denial was enforced, and the audit record the check writes, if any.
public struct AccessCheck: Sendable, Hashable {
    /// The request may proceed: every permission was granted, or the denial was not enforced
    /// (permissive mode or a permissive domain).
    public var granted: Bool
    public var decision: AVDecision
    public var requested: UInt32
    /// Requested permissions the policy does not grant.
    public var denied: UInt32
    /// The check wrote this audit record (a denial not covered by `dontaudit`, or an `auditallow`
    /// grant).
    public var record: AuditRecord?

    /// Why each denied permission is denied, in the terms audit2why uses: `TERULE` (no allow rule),
    /// `CONSTRAINT`, `RBAC`, `BOUNDS`.
    public var denialStages: [String] {
        var out: [String] = []
        if denied & ~decision.allowedByTE != 0 { out.append("TERULE") }
        if denied & decision.deniedByConstraint != 0 { out.append("CONSTRAINT") }
        if denied & decision.deniedByRBAC != 0 { out.append("RBAC") }
        if denied & decision.deniedByBounds != 0 { out.append("BOUNDS") }
        return out
    }
}

extension AccessVectorCache {
    /// Checks `requested` permissions of a class for two SIDs, enforces the result and audits it,
    /// as the kernel's `avc_has_perm` does:
    /// - denied permissions are refused in enforcing mode unless the source domain is permissive;
    ///   a denial that is not enforced is granted and added to the cached entry (audited once);
    /// - a denial is audited for the denied permissions not covered by `dontaudit`;
    /// - a full grant is audited for the permissions covered by `auditallow`.
    public func check(
        _ ssid: SID, _ tsid: SID, classValue c: Int, requested: UInt32, subject: AuditSubject? = nil,
        fields: [(name: String, value: String)] = []
    ) -> AccessCheck {
        let d = decision(ssid, tsid, classValue: c)
        let denied = requested & ~d.allowed
        var granted = denied == 0
        if !granted && (!server.enforcing || d.permissive) {
            granted = true
            grant(ssid, tsid, classValue: c, requested, seqno: d.seqno)
        }
        let audited: UInt32 = d.neverAudit ? 0 : denied != 0 ? denied & d.auditDeny : requested & d.auditAllow
        var record: AuditRecord?
        if audited != 0 {
            let policy = server.snapshot.policy
            let unknown = SecurityContext(user: "?", role: "?", type: "?")
            let tclass = c >= 1 && c <= policy.classes.count ? policy.classes[c - 1].name : "class\(c)"
            let perms = c >= 1 && c <= policy.classes.count ? policy.permissionNames(audited, classValue: c) : ["0x" + String(audited, radix: 16)]
            record = AuditRecord(
                result: denied != 0 ? .denied : .granted, permissions: perms, subject: subject, fields: fields,
                scontext: server.context(of: ssid) ?? unknown, tcontext: server.context(of: tsid) ?? unknown,
                tclass: tclass, permissive: denied != 0 && granted)
        }
        return AccessCheck(granted: granted, decision: d, requested: requested, denied: denied, record: record)
    }
}
