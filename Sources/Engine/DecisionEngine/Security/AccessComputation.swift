import SecurityContexts
import SELinuxPolicy

/// An access decision as bit vectors over a class's permissions (bit `i` is the class's permission
/// `i`), with the stage that removed each denied permission: the kernel's `av_decision` plus
/// libsepol's reason bits.
public struct AVDecision: Sendable, Hashable {
    public var allowed: UInt32
    public var auditAllow: UInt32
    public var auditDeny: UInt32
    /// The source type is permissive (`AVD_FLAGS_PERMISSIVE`).
    public var permissive: Bool
    /// The policy sequence number the decision was computed under.
    public var seqno: UInt32
    /// The source type is a `neveraudit` type: nothing is audited (`AVD_FLAGS_NEVERAUDIT`).
    public var neverAudit = false
    /// Permissions that TE rules allowed but a constraint (or MLS constraint) removed.
    public var deniedByConstraint: UInt32 = 0
    /// Process transition permissions removed because no `allow` role rule permits the role change.
    public var deniedByRBAC: UInt32 = 0
    /// Permissions removed because the bounding type does not have them (typebounds).
    public var deniedByBounds: UInt32 = 0

    /// Permissions granted by TE rules (before constraints, RBAC and bounds).
    public var allowedByTE: UInt32 { allowed | deniedByConstraint | deniedByRBAC | deniedByBounds }
}

/// A policy with the rules in force for the current booleans: everything a decision reads.
/// Immutable, so decisions need no lock.
public final class PolicySnapshot: Sendable {
    public let policy: PolicyDB
    public let rules: RuleSet
    public let seqno: UInt32

    public init(policy: PolicyDB, rules: RuleSet, seqno: UInt32) {
        self.policy = policy
        self.rules = rules
        self.seqno = seqno
    }

    // MARK: - Access vectors (security/selinux/ss/services.c: context_struct_compute_av)

    /// Computes the access vector for two valid contexts and a class value (1-based), in the
    /// kernel's order: TE rules over both types' attributes, constraints, RBAC for process
    /// transitions, typebounds.
    public func computeAV(_ s: ResolvedContext, _ t: ResolvedContext, classValue c: Int) -> AVDecision {
        var d = AVDecision(allowed: 0, auditAllow: 0, auditDeny: ~0, permissive: false, seqno: seqno)
        computeTE(s, t, c, &d)
        let teAllowed = d.allowed
        let cls = policy.classes[c - 1]
        for con in cls.constraints where con.permissions & d.allowed != 0 {
            if !evaluate(con.expression, s, t, nil) { d.allowed &= ~con.permissions }
        }
        d.deniedByConstraint = teAllowed & ~d.allowed
        if c == policy.processClass && d.allowed & policy.processTransitionPerms != 0 && s.role != t.role {
            if !policy.roleAllows.contains(UInt64(s.role) << 32 | UInt64(t.role)) {
                d.deniedByRBAC = d.allowed & policy.processTransitionPerms
                d.allowed &= ~policy.processTransitionPerms
            }
        }
        let masked = boundsMask(s, t, c, d.allowed)
        d.deniedByBounds = masked
        d.allowed &= ~masked
        d.permissive = policy.types[Int(s.type)].isPermissive
        d.neverAudit = policy.types[Int(s.type)].isNeverAudit
        return d
    }

    @inline(__always)
    private func computeTE(_ s: ResolvedContext, _ t: ResolvedContext, _ c: Int, _ d: inout AVDecision) {
        let sources = rules.sourcesWithRules[c], targets = rules.targetsWithRules[c]
        let table = rules.avTable
        policy.typeAttributeMap[Int(s.type)].withUnsafeBufferPointer { sAttrs in
            policy.typeAttributeMap[Int(t.type)].withUnsafeBufferPointer { tAttrs in
                for i in sAttrs where sources.contains(Int(i)) {
                    for j in tAttrs where targets.contains(Int(j)) {
                        if let e = table.lookup(AVTable.key(source: Int(i), target: Int(j), classValue: c)) {
                            d.allowed |= e.allowed
                            d.auditAllow |= e.auditAllow
                            d.auditDeny &= e.auditDeny
                        }
                    }
                }
            }
        }
    }

    /// typebounds (`type_attribute_bounds_av`): the permissions the bounded source type has that its
    /// bounding type (against the target's bounding type, if the target is bounded) does not.
    private func boundsMask(_ s: ResolvedContext, _ t: ResolvedContext, _ c: Int, _ allowed: UInt32) -> UInt32 {
        guard allowed != 0, let bound = policy.types[Int(s.type)].bounds else { return 0 }
        var lowS = s
        lowS.type = Int32(bound)
        var lowT = t
        if let tb = policy.types[Int(t.type)].bounds { lowT.type = Int32(tb) }
        let lower = computeAV(lowS, lowT, classValue: c)
        return ~lower.allowed & allowed
    }

    // MARK: - Constraints (security/selinux/ss/services.c: constraint_expr_eval)

    /// Evaluates a postfix constraint expression for source `s`, target `t` and (validatetrans) task `x`.
    public func evaluate(_ expr: [ConstraintNode], _ s: ResolvedContext, _ t: ResolvedContext, _ x: ResolvedContext?) -> Bool {
        var stack: [Bool] = []
        stack.reserveCapacity(PolicyCompiler.constraintMaxDepth)
        for node in expr {
            switch node {
            case .not:
                stack[stack.count - 1].toggle()
            case .and:
                let b = stack.removeLast()
                stack[stack.count - 1] = stack[stack.count - 1] && b
            case .or:
                let b = stack.removeLast()
                stack[stack.count - 1] = stack[stack.count - 1] || b
            case .attribute(let attribute, let op):
                stack.append(compare(attribute, op, s, t))
            case .names(let operand, let op, let names):
                let c: ResolvedContext
                switch operand {
                case .u1, .r1, .t1: c = s
                case .u2, .r2, .t2: c = t
                default:
                    guard let x else { return false }
                    c = x
                }
                let value: Int32
                switch operand {
                case .u1, .u2, .u3: value = c.user
                case .r1, .r2, .r3: value = c.role
                default: value = c.type
                }
                let member = names.contains(Int(value))
                stack.append(op == .neq ? !member : member)
            }
        }
        return stack.last ?? false
    }

    func compare(_ attribute: ConstraintAttribute, _ op: ConstraintOperator, _ s: ResolvedContext, _ t: ResolvedContext) -> Bool {
        switch attribute {
        case .user: return op == .eq ? s.user == t.user : s.user != t.user
        case .type: return op == .eq ? s.type == t.type : s.type != t.type
        case .role:
            let sd = policy.roles[Int(s.role)].dominates, td = policy.roles[Int(t.role)].dominates
            switch op {
            case .eq: return s.role == t.role
            case .neq: return s.role != t.role
            case .dom: return sd.contains(Int(t.role))
            case .domby: return td.contains(Int(s.role))
            case .incomp: return !sd.contains(Int(t.role)) && !td.contains(Int(s.role))
            }
        default:
            guard let sl = s.low, let sh = s.high, let tl = t.low, let th = t.high else { return false }
            let (a, b): (MLSLevel, MLSLevel)
            switch attribute {
            case .l1l2: (a, b) = (sl, tl)
            case .l1h2: (a, b) = (sl, th)
            case .h1l2: (a, b) = (sh, tl)
            case .h1h2: (a, b) = (sh, th)
            case .l1h1: (a, b) = (sl, sh)
            default: (a, b) = (tl, th)
            }
            switch op {
            case .eq: return a == b
            case .neq: return a != b
            case .dom: return a.dominates(b)
            case .domby: return b.dominates(a)
            case .incomp: return !a.dominates(b) && !b.dominates(a)
            }
        }
    }

    // MARK: - Relabeling (security_validate_transition)

    /// Whether every `validatetrans`/`mlsvalidatetrans` of the class allows relabeling `old` to
    /// `new` by `task` (`security_validate_transition`: operands 1 are the old context, 2 the new,
    /// 3 the task).
    public func validateTransition(old: ResolvedContext, new: ResolvedContext, task: ResolvedContext, classValue c: Int) -> Bool {
        policy.classes[c - 1].validateTrans.allSatisfy { evaluate($0.expression, old, new, task) }
    }

    // MARK: - Transitions (security_compute_sid + mls_compute_sid)

    /// Computes the context of a new process or object (`security_compute_sid`): user, role and type
    /// from the class's `default_*` rules or the defaults for processes, sockets and objects; the
    /// type from a type rule (an unconditional one first, then an enabled conditional one), then a
    /// name-based type_transition; the role from a `role_transition`; the range from a
    /// `range_transition`, `default_range` or the defaults. Returns the context and whether it is
    /// valid under the policy.
    public func computeTransition(_ kind: TransitionKind, _ s: ResolvedContext, _ t: ResolvedContext, classValue c: Int, objectName: String?) -> (
        context: ResolvedContext, isValid: Bool
    ) {
        let cls = policy.classes[c - 1]
        let isProcessLike = c == policy.processClass || cls.isSocket
        var n = ResolvedContext(user: 0, role: 0, type: 0)
        switch kind {
        case .transition, .change:
            n.user = cls.defaultUser == .target ? t.user : s.user
        case .member:
            // The related object's owner, whatever default_user says (security_compute_sid).
            n.user = t.user
        }
        switch cls.defaultRole {
        case .source: n.role = s.role
        case .target: n.role = t.role
        case nil: n.role = isProcessLike ? s.role : 0
        }
        switch cls.defaultType {
        case .source: n.type = s.type
        case .target: n.type = t.type
        case nil: n.type = isProcessLike ? s.type : t.type
        }
        let key = AVTable.key(source: Int(s.type), target: Int(t.type), classValue: c)
        if let newType = rules.typeRule(kind, key: key, policy: policy) { n.type = Int32(newType) }
        if kind == .transition, let objectName,
            let newType = policy.filenameTransitions[FilenameTransitionKey(source: Int(s.type), target: Int(t.type), classValue: c, name: objectName)]
        {
            n.type = Int32(newType)
        }
        if kind == .transition, let newRole = policy.roleTransitions[AVTable.key(source: Int(s.role), target: Int(t.type), classValue: c)] {
            n.role = Int32(newRole)
        }
        if policy.mlsEnabled { computeRange(kind, s, t, c, cls, isProcessLike, &n) }
        return (n, policy.isValid(n))
    }

    private func computeRange(
        _ kind: TransitionKind, _ s: ResolvedContext, _ t: ResolvedContext, _ c: Int, _ cls: PolicyClass, _ isProcessLike: Bool, _ n: inout ResolvedContext
    ) {
        if kind == .transition {
            if let r = policy.rangeTransitions[AVTable.key(source: Int(s.type), target: Int(t.type), classValue: c)] {
                n.low = r.low; n.high = r.high
                return
            }
            switch cls.defaultRange {
            case .sourceLow: n.low = s.low; n.high = s.low; return
            case .sourceHigh: n.low = s.high; n.high = s.high; return
            case .sourceLowHigh: n.low = s.low; n.high = s.high; return
            case .targetLow: n.low = t.low; n.high = t.low; return
            case .targetHigh: n.low = t.high; n.high = t.high; return
            case .targetLowHigh: n.low = t.low; n.high = t.high; return
            case .glblub:
                if let r = glblub(s, t) { n.low = r.low; n.high = r.high } else { n.low = nil; n.high = nil }
                return
            case nil: break
            }
        }
        if kind != .member && isProcessLike {
            n.low = s.low; n.high = s.high
        } else {
            n.low = s.low; n.high = s.low
        }
    }

    /// `mls_context_glblub`: the low sensitivity is the greater of the lows, the high the lesser of
    /// the highs, and each level's categories the intersection of both contexts' categories at that
    /// end; `nil` (the kernel's `-EINVAL`) when the ranges share no sensitivity.
    private func glblub(_ s: ResolvedContext, _ t: ResolvedContext) -> MLSRange? {
        guard let sl = s.low, let sh = s.high, let tl = t.low, let th = t.high else { return nil }
        if sh.sensitivity < tl.sensitivity || th.sensitivity < sl.sensitivity { return nil }
        let low = MLSLevel(sensitivity: max(sl.sensitivity, tl.sensitivity), categories: sl.categories.intersection(tl.categories))
        let high = MLSLevel(sensitivity: min(sh.sensitivity, th.sensitivity), categories: sh.categories.intersection(th.categories))
        return MLSRange(low: low, high: high)
    }
}
