public import SecurityContexts

/// An enforced permission check asked by names (contexts as text or values, a class name,
/// permission names), as `salabel policy check` asks it: the outcome of the cache's
/// `check(source:target:objectClass:permissions:subject:)`, every vector
/// translated back into the class's permission names.
///
/// A denial is a value, not an error: `granted` is false and `denied` and `reasons` say what and
/// why. Errors (``DecisionError``) are for names the policy does not know.
public struct NamedAccessCheck: Sendable, Hashable {
    /// Why a denial was granted anyway (the kernel does not enforce it).
    public enum Waiver: String, Sendable, Hashable {
        /// The system is in permissive mode.
        case permissiveMode = "permissive mode"
        /// The system enforces, but the source type is a `permissive` domain.
        case permissiveDomain = "permissive domain"
    }

    /// The source and target contexts, with the policy's primary names (as the AVC record writes
    /// them).
    public var source: SecurityContext
    public var target: SecurityContext
    /// The class name.
    public var objectClass: String
    /// The permissions asked for, in the order given (unknown ones included).
    public var requested: [String]
    /// The request may proceed: nothing was denied, or the denial was not enforced (``NamedAccessCheck/waiver``).
    public var granted: Bool
    /// Requested permissions the policy does not grant, in the class's permission order.
    public var denied: [String]
    /// Why they are denied, in audit2why's terms: `TERULE`, `CONSTRAINT`, `RBAC`, `BOUNDS`
    /// (``AccessCheck/denialStages``).
    public var reasons: [String]
    /// The access vector for (source, target, class): permissions granted, audited when granted
    /// (`auditallow`), audited when denied (not covered by `dontaudit`).
    public var allowed: [String]
    public var auditAllow: [String]
    public var auditDeny: [String]
    /// The source type is a `permissive` domain.
    public var permissiveDomain: Bool
    /// Set when permissions were denied but the request is granted: why the denial is not enforced.
    public var waiver: Waiver?
    /// The AVC record the check writes: a denial not covered by `dontaudit`, or an `auditallow`
    /// grant; nil when nothing is audited.
    public var record: AuditRecord?
    /// The class is unknown to the policy and `handle_unknown allow` grants every permission of it:
    /// nothing was computed (no vectors, no record).
    public var unknownClassAllowed: Bool
    /// Requested permissions the class does not define, allowed (and not checked) under
    /// `handle_unknown allow`.
    public var unknownPermissions: [String]
    /// The check on bit vectors; nil for an unknown class (``NamedAccessCheck/unknownClassAllowed``).
    public var check: AccessCheck?
}

extension AccessVectorCache {
    /// Checks permissions given by name for two contexts given as text, enforcing and auditing the
    /// result as the kernel's `avc_has_perm` does
    /// (``AccessVectorCache/check(_:_:classValue:requested:subject:fields:)``).
    ///
    /// - A class the policy lacks is granted under `handle_unknown allow`
    ///   (``NamedAccessCheck/unknownClassAllowed``), else `.unknownClass`.
    /// - A permission the class lacks is skipped under `handle_unknown allow`
    ///   (``NamedAccessCheck/unknownPermissions``), else `.unknownPermission` names the first one.
    /// - Throws `.invalidContext` for a context that does not parse or is not valid under the policy;
    ///   the source is checked first, then the target, then the class, then the permissions.
    public func check(
        source: String, target: String, objectClass: String, permissions: [String],
        subject: AuditSubject? = nil
    ) throws(DecisionError) -> NamedAccessCheck {
        let ssid = try server.sid(forText: source), tsid = try server.sid(forText: target)
        return try check(ssid, tsid, objectClass: objectClass, permissions: permissions, subject: subject)
    }

    /// The same check for contexts given as values.
    public func check(
        source: SecurityContext, target: SecurityContext, objectClass: String, permissions: [String],
        subject: AuditSubject? = nil
    ) throws(DecisionError) -> NamedAccessCheck {
        let ssid = try server.sid(for: source), tsid = try server.sid(for: target)
        return try check(ssid, tsid, objectClass: objectClass, permissions: permissions, subject: subject)
    }

    private func check(
        _ ssid: SID, _ tsid: SID, objectClass cls: String, permissions: [String],
        subject: AuditSubject?
    ) throws(DecisionError) -> NamedAccessCheck {
        let policy = server.policy
        let unknownContext = SecurityContext(user: "?", role: "?", type: "?")
        var named = NamedAccessCheck(
            source: server.context(of: ssid) ?? unknownContext, target: server.context(of: tsid) ?? unknownContext,
            objectClass: cls, requested: permissions, granted: true, denied: [], reasons: [], allowed: [], auditAllow: [], auditDeny: [],
            permissiveDomain: false, waiver: nil, record: nil, unknownClassAllowed: false, unknownPermissions: [], check: nil)
        guard let c = policy.classValues[cls] else {
            guard policy.handleUnknown == .allow else { throw .unknownClass(cls) }
            named.unknownClassAllowed = true
            return named
        }
        var requested: UInt32 = 0
        for p in permissions {
            if let b = policy.classes[c - 1].permissionBits[p] { requested |= 1 << UInt32(b) } else { named.unknownPermissions.append(p) }
        }
        if let first = named.unknownPermissions.first, policy.handleUnknown != .allow {
            throw .unknownPermission(first, objectClass: cls)
        }
        let result = check(ssid, tsid, classValue: c, requested: requested, subject: subject)
        named.granted = result.granted
        named.denied = policy.permissionNames(result.denied, classValue: c)
        named.reasons = result.denialStages
        named.allowed = policy.permissionNames(result.decision.allowed, classValue: c)
        named.auditAllow = policy.permissionNames(result.decision.auditAllow, classValue: c)
        named.auditDeny = policy.permissionNames(result.decision.auditDeny, classValue: c)
        named.permissiveDomain = result.decision.permissive
        if result.denied != 0 && result.granted { named.waiver = server.enforcing ? .permissiveDomain : .permissiveMode }
        named.record = result.record
        named.check = result
        return named
    }
}
