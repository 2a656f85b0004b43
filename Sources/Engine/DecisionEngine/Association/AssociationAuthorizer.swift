public import SecurityContexts

/// The four permissions of class `association`, as the kernel checks them (`security/selinux/xfrm.c`; see
/// Specs/kernel/labeled-ipsec.md §a and Specs/engine/semantics.md, "The `association` API"):
public enum AssociationPermission: String, Sendable, Hashable, CaseIterable {
    /// The flow's domain may use an SA labeled with the same context (D2).
    case sendto
    /// A socket may receive from a peer label (D3, policies without `network_peer_controls`).
    case recvfrom
    /// The caller may create or remove an SA or SPD entry with this context (C1–C4).
    case setcontext
    /// The flow's context may use an SPD entry with this context (D1).
    case polmatch
}

/// The result of authorizing one association permission: granted or not, why, and the AVC line the
/// kernel would log. A decision that cannot be made (invalid context, class missing from the
/// policy) is a denial that says why: it fails closed.
public struct Authorization: Sendable, Hashable, CustomStringConvertible {
    public var permission: AssociationPermission
    public var source: SecurityContext
    public var target: SecurityContext
    public var granted: Bool
    /// The check, when a decision could be made.
    public var check: AccessCheck?
    /// A short explanation: `allowed`, `denied (TERULE)`, `allowed (permissive: denial audited)`,
    /// or the error that made a decision impossible.
    public var reason: String

    /// The audit record the check wrote, if any.
    public var record: AuditRecord? { check?.record }

    public var description: String {
        "\(permission.rawValue) \(source) → \(target): \(granted ? "granted" : "denied") (\(reason))"
    }
}

/// Authorizes association use for every component (the manager's `setcontext`, the resolver's
/// `polmatch`/`sendto`/`recvfrom`): each call is one check of class `association` through the shared
/// ``AccessVectorCache``.
public struct AssociationAuthorizer: Sendable {
    public let cache: AccessVectorCache

    public init(cache: AccessVectorCache) {
        self.cache = cache
    }

    /// May `subject` set `label` on an SA or SPD entry (add, update, delete, flush)?
    public func setcontext(subject: SecurityContext, label: SecurityContext, auditSubject: AuditSubject? = nil) -> Authorization {
        authorize(.setcontext, source: subject, target: label, auditSubject: auditSubject)
    }

    /// May a flow labeled `flow` use an SPD entry labeled `policyLabel`? A denial means the entry
    /// does not apply to the flow (the lookup moves on), not an error.
    public func polmatch(flow: SecurityContext, policyLabel: SecurityContext, auditSubject: AuditSubject? = nil) -> Authorization {
        authorize(.polmatch, source: flow, target: policyLabel, auditSubject: auditSubject)
    }

    /// May a flow labeled `flow` send on an SA labeled `saLabel`? (The kernel only asks when the two
    /// are equal; the caller decides that.)
    public func sendto(flow: SecurityContext, saLabel: SecurityContext, auditSubject: AuditSubject? = nil) -> Authorization {
        authorize(.sendto, source: flow, target: saLabel, auditSubject: auditSubject)
    }

    /// May a socket labeled `socket` receive traffic whose peer label is `peer`?
    public func recvfrom(
        socket: SecurityContext, peer: SecurityContext, auditSubject: AuditSubject? = nil,
        fields: [(name: String, value: String)] = []
    ) -> Authorization {
        authorize(.recvfrom, source: socket, target: peer, auditSubject: auditSubject, fields: fields)
    }

    /// The one funnel: `association { permission }` for (source, target).
    public func authorize(
        _ permission: AssociationPermission, source: SecurityContext, target: SecurityContext,
        auditSubject: AuditSubject? = nil, fields: [(name: String, value: String)] = []
    ) -> Authorization {
        func failClosed(_ why: String) -> Authorization {
            Authorization(permission: permission, source: source, target: target, granted: false, check: nil, reason: "no decision: \(why)")
        }
        let server = cache.server
        guard let c = server.classValue("association") else {
            if server.policy.handleUnknown == .allow {
                return Authorization(
                    permission: permission, source: source, target: target, granted: true, check: nil,
                    reason: "allowed: class association is unknown to the policy (handle_unknown allow)")
            }
            return failClosed("the policy has no class association")
        }
        guard let bit = server.policy.classes[c - 1].permissionBits[permission.rawValue] else {
            if server.policy.handleUnknown == .allow {
                return Authorization(
                    permission: permission, source: source, target: target, granted: true, check: nil,
                    reason: "allowed: permission \(permission.rawValue) is unknown to the policy (handle_unknown allow)")
            }
            return failClosed("class association has no permission \(permission.rawValue)")
        }
        let ssid: SID, tsid: SID
        do {
            ssid = try server.sid(for: source)
            tsid = try server.sid(for: target)
        } catch {
            return failClosed(error.description)
        }
        let check = cache.check(ssid, tsid, classValue: c, requested: 1 << UInt32(bit), subject: auditSubject, fields: fields)
        let reason: String
        if check.denied == 0 {
            reason = "allowed"
        } else if check.granted {
            reason = "allowed (\(server.enforcing ? "permissive domain" : "permissive mode"): denial \(check.denialStages.joined(separator: ", ")) audited)"
        } else {
            reason = "denied (\(check.denialStages.joined(separator: ", "))\(check.record == nil ? ", dontaudit" : ""))"
        }
        return Authorization(permission: permission, source: source, target: target, granted: check.granted, check: check, reason: reason)
    }
}
