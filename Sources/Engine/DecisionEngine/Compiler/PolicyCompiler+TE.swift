import SELinuxPolicy

// Type enforcement rules: access-vector rules into the avtab (as libsepol's expand does: attributes
// kept as keys, `self` expanded per source type), type rules per concrete type pair, conditional
// rules kept per branch, neverallow checked against every allow rule.

extension PolicyCompiler {
    /// Compiles one TE rule. Unconditional rules go straight into the tables; conditional ones
    /// into `rules`.
    mutating func compileTERule(_ st: PolicyStatement, into rules: inout ConditionalRules, conditional: Bool) throws(PolicyError) {
        let loc = st.location
        switch st.kind {
        case .avRule(let kind, let sources, let targets, let classes, let perms):
            if kind == .neverallow { throw PolicyError("neverallow is not allowed inside a conditional", at: loc) }
            let (srcKeys, _) = try ruleKeys(sources, at: loc)
            if sources.included.contains("self") { throw PolicyError("self is only allowed in the target of a rule", at: loc) }
            let (tgtKeys, hasSelf) = try ruleKeys(targets, at: loc)
            let selfSources = hasSelf ? try concreteTypes(sources, at: loc).members : []
            for c in try classValueList(classes, at: loc) {
                let mask = try permissionMask(perms, classValue: c, at: loc)
                let entry: AVEntry
                switch kind {
                case .allow: entry = AVEntry(allowed: mask, auditAllow: 0, auditDeny: ~0)
                case .auditallow: entry = AVEntry(allowed: 0, auditAllow: mask, auditDeny: ~0)
                case .dontaudit: entry = AVEntry(allowed: 0, auditAllow: 0, auditDeny: ~mask)
                case .auditdeny: entry = AVEntry(allowed: 0, auditAllow: 0, auditDeny: mask)
                case .neverallow: continue
                }
                func add(_ s: Int, _ t: Int, _ rules: inout ConditionalRules, _ db: inout PolicyDB) {
                    let key = AVTable.key(source: s, target: t, classValue: c)
                    if conditional { rules.av.append((key, entry)) } else { db.avTable.merge(key, entry) }
                }
                for s in srcKeys { for t in tgtKeys { add(s, t, &rules, &db) } }
                for s in selfSources { add(s, s, &rules, &db) }
            }
        case .typeRule(let kind, let sources, let targets, let classes, let newTypeName, let objectName):
            let newType = try typeValue(newTypeName, at: loc, allowAttribute: false)
            let srcs = try concreteTypes(sources, at: loc).members
            var tgtSet = targets
            let hasSelf = tgtSet.included.contains("self")
            tgtSet.included.removeAll { $0 == "self" }
            let tgts = tgtSet.included.isEmpty && !tgtSet.isAll && !tgtSet.isComplement ? [] : try concreteTypes(tgtSet, at: loc).members
            let transitionKind: TransitionKind
            switch kind {
            case .typeTransition: transitionKind = .transition
            case .typeMember: transitionKind = .member
            case .typeChange: transitionKind = .change
            }
            if objectName != nil && (kind != .typeTransition || conditional) {
                throw PolicyError("an object name is only allowed in an unconditional type_transition", at: loc)
            }
            for c in try classValueList(classes, at: loc) {
                for s in srcs {
                    var pairTargets = tgts
                    if hasSelf { pairTargets.append(s) }
                    for t in pairTargets {
                        if let objectName {
                            let key = FilenameTransitionKey(source: s, target: t, classValue: c, name: objectName)
                            if let old = db.filenameTransitions[key], old != newType {
                                throw conflict(kind.rawValue, s, t, c, old, newType, at: loc)
                            }
                            db.filenameTransitions[key] = newType
                            continue
                        }
                        let key = AVTable.key(source: s, target: t, classValue: c)
                        if conditional {
                            rules.typeRules.append((transitionKind, key, newType))
                        } else {
                            if let old = db.typeRules[transitionKind]![key], old != newType {
                                throw conflict(kind.rawValue, s, t, c, old, newType, at: loc)
                            }
                            db.typeRules[transitionKind]![key] = newType
                        }
                    }
                }
            }
        case .extendedPermissionRule(_, let sources, let targets, let classes, let operation, _):
            // Extended permissions refine ioctl (and netlink message) decisions only; the access
            // vector is unchanged. Resolve the names so that a bad rule still rejects the policy.
            guard operation == "ioctl" || operation == "nlmsg" else {
                throw PolicyError("unknown extended permission operation \(operation) (ioctl or nlmsg)", at: loc)
            }
            _ = try ruleKeys(sources, at: loc)
            _ = try ruleKeys(targets, at: loc)
            _ = try classValueList(classes, at: loc)
            db.extendedPermissionRuleCount += 1
        default:
            throw PolicyError("only allow, auditallow, auditdeny, dontaudit and type rules are allowed here", at: loc)
        }
    }

    private func conflict(_ what: String, _ s: Int, _ t: Int, _ c: Int, _ old: Int, _ new: Int, at loc: SourceLocation) -> PolicyError {
        PolicyError(
            "conflicting \(what) for (\(db.types[s].name), \(db.types[t].name):\(db.classes[c - 1].name)): \(db.types[old].name) and \(db.types[new].name)",
            at: loc)
    }

    /// Compiles an `if` statement: its expression to postfix, each branch's rules into lists.
    mutating func compileConditional(_ expr: ConditionalExpr, _ thenBranch: [PolicyStatement], _ elseBranch: [PolicyStatement], at loc: SourceLocation)
        throws(PolicyError)
    {
        var postfix: [ConditionalNode] = []
        try conditionalPostfix(expr, into: &postfix, at: loc)
        var depth = 0, maxDepth = 0
        for node in postfix {
            switch node {
            case .bool: depth += 1; maxDepth = max(maxDepth, depth)
            case .not: break
            default: depth -= 1
            }
        }
        guard maxDepth <= PolicyCompiler.conditionalMaxDepth else {
            throw PolicyError(
                "conditional expression needs a stack of \(maxDepth); checkpolicy and the kernel evaluate at most \(PolicyCompiler.conditionalMaxDepth)",
                at: loc)
        }
        var trueRules = ConditionalRules(), falseRules = ConditionalRules()
        for st in thenBranch { try compileTERule(st, into: &trueRules, conditional: true) }
        for st in elseBranch { try compileTERule(st, into: &falseRules, conditional: true) }
        // As libsepol stores it: a final `!` dropped with the branches swapped, and merged into an
        // earlier conditional that is the same one (ConditionalIdentity).
        let (expression, swapped) = ConditionalIdentity.normalized(postfix)
        if swapped { swap(&trueRules, &falseRules) }
        let identity = ConditionalIdentity(expression)
        if let i = conditionalIdentities.firstIndex(where: { $0.isSame(as: identity) }) {
            db.conditionals[i].trueRules.av += trueRules.av
            db.conditionals[i].trueRules.typeRules += trueRules.typeRules
            db.conditionals[i].falseRules.av += falseRules.av
            db.conditionals[i].falseRules.typeRules += falseRules.typeRules
            return
        }
        conditionalIdentities.append(identity)
        db.conditionals.append(CompiledConditional(expression: expression, trueRules: trueRules, falseRules: falseRules))
    }

    private func conditionalPostfix(_ e: ConditionalExpr, into out: inout [ConditionalNode], at loc: SourceLocation) throws(PolicyError) {
        switch e {
        case .bool(let name):
            guard let b = db.boolIndex[name] else { throw PolicyError("unknown boolean \(name)", at: loc) }
            out.append(.bool(b))
        case .not(let a):
            try conditionalPostfix(a, into: &out, at: loc); out.append(.not)
        case .and(let a, let b):
            try conditionalPostfix(a, into: &out, at: loc); try conditionalPostfix(b, into: &out, at: loc); out.append(.and)
        case .or(let a, let b):
            try conditionalPostfix(a, into: &out, at: loc); try conditionalPostfix(b, into: &out, at: loc); out.append(.or)
        case .xor(let a, let b):
            try conditionalPostfix(a, into: &out, at: loc); try conditionalPostfix(b, into: &out, at: loc); out.append(.xor)
        case .eq(let a, let b):
            try conditionalPostfix(a, into: &out, at: loc); try conditionalPostfix(b, into: &out, at: loc); out.append(.eq)
        case .neq(let a, let b):
            try conditionalPostfix(a, into: &out, at: loc); try conditionalPostfix(b, into: &out, at: loc); out.append(.neq)
        }
    }

    /// `COND_EXPR_MAXDEPTH` (checkpolicy `define_conditional`, the kernel's `cond_evaluate_expr`).
    static let conditionalMaxDepth = 10

    /// typebounds: a bounded type may not be allowed anything its bounding type is not (libsepol
    /// `bounds_check_types`, which checkpolicy runs): every allow rule that covers the child type is
    /// compared, per concrete target (its bounding type when bounded), with what the parent gets
    /// from the unconditional rules (and, for a conditional rule, from its own branch too).
    func checkTypeBounds() throws(PolicyError) {
        let bounded = db.types.indices.filter { db.types[$0].bounds != nil }
        guard !bounded.isEmpty else { return }
        func concrete(_ v: Int) -> [Int] {
            db.types[v].isAttribute ? (db.attributeMembers[v]?.members ?? []) : [v]
        }
        func allowed(_ s: Int, _ t: Int, _ c: Int, _ extra: AVTable?) -> UInt32 {
            var out: UInt32 = 0
            for i in db.typeAttributeMap[s] {
                for j in db.typeAttributeMap[t] {
                    let key = AVTable.key(source: Int(i), target: Int(j), classValue: c)
                    out |= db.avTable.lookup(key)?.allowed ?? 0
                    out |= extra?.lookup(key)?.allowed ?? 0
                }
            }
            return out
        }
        func check(_ entries: [(key: UInt64, entry: AVEntry)], extra: AVTable?) throws(PolicyError) {
            for child in bounded {
                let parent = db.types[child].bounds!
                let childKeys = Set(db.typeAttributeMap[child])
                for (key, entry) in entries where entry.allowed != 0 {
                    let s = Int32((key >> 32) & 0xFFFF), t = Int((key >> 16) & 0xFFFF), c = Int(key & 0xFFFF)
                    guard childKeys.contains(s) else { continue }
                    for target in concrete(t) {
                        let missing = entry.allowed & ~allowed(parent, db.types[target].bounds ?? target, c, extra)
                        if missing != 0 {
                            let perms = db.permissionNames(missing, classValue: c).joined(separator: " ")
                            throw PolicyError(
                                "typebounds violation: \(db.types[child].name) is allowed { \(perms) } on \(db.types[target].name):\(db.classes[c - 1].name), which its bounding type \(db.types[parent].name) is not",
                                at: boundsLocations[child])
                        }
                    }
                }
            }
        }
        var global: [(key: UInt64, entry: AVEntry)] = []
        db.avTable.forEach { global.append(($0, $1)) }
        try check(global, extra: nil)
        for cond in db.conditionals {
            for branch in [cond.trueRules, cond.falseRules] where !branch.av.isEmpty {
                var table = AVTable()
                for (k, e) in branch.av { table.merge(k, e) }
                try check(branch.av, extra: table)
            }
        }
    }

    /// Checks every `neverallow` against every allow rule, conditional ones included (whatever the
    /// booleans), as checkpolicy's assertion check does.
    mutating func checkNeverallows() throws(PolicyError) {
        db.neverallowCount = neverallows.count
        guard !neverallows.isEmpty else { return }
        var allows: [(key: UInt64, allowed: UInt32)] = []
        db.avTable.forEach { key, entry in if entry.allowed != 0 { allows.append((key, entry.allowed)) } }
        for c in db.conditionals {
            for (key, entry) in c.trueRules.av + c.falseRules.av where entry.allowed != 0 { allows.append((key, entry.allowed)) }
        }
        func typesOf(_ v: Int) -> Bitset {
            db.types[v].isAttribute ? (db.attributeMembers[v] ?? Bitset()) : Bitset([v])
        }
        for st in neverallows {
            guard case .avRule(_, let sources, let targets, let classes, let perms) = st.kind else { continue }
            let loc = st.location
            let src = try concreteTypes(sources, at: loc)
            var tgtSet = targets
            let hasSelf = tgtSet.included.contains("self")
            tgtSet.included.removeAll { $0 == "self" }
            let tgt = tgtSet.included.isEmpty && !tgtSet.isAll && !tgtSet.isComplement ? Bitset() : try concreteTypes(tgtSet, at: loc)
            var masks: [Int: UInt32] = [:]
            for c in try classValueList(classes, at: loc) { masks[c] = try permissionMask(perms, classValue: c, at: loc) }
            for (key, allowed) in allows {
                let c = Int(key & 0xFFFF)
                guard let mask = masks[c], allowed & mask != 0 else { continue }
                let s = Int((key >> 32) & 0xFFFF), t = Int((key >> 16) & 0xFFFF)
                var sTypes = typesOf(s)
                sTypes = intersect(sTypes, src)
                guard !sTypes.isEmpty else { continue }
                let tTypes = typesOf(t)
                var violated = !intersect(tTypes, tgt).isEmpty
                if !violated && hasSelf { violated = !intersect(sTypes, tTypes).isEmpty }
                if violated {
                    let perm = db.permissionNames(allowed & mask, classValue: c).joined(separator: " ")
                    throw PolicyError("neverallow violated: allow \(db.types[s].name) \(db.types[t].name):\(db.classes[c - 1].name) { \(perm) }", at: loc)
                }
            }
        }
    }

    private func intersect(_ a: Bitset, _ b: Bitset) -> Bitset {
        var out = Bitset()
        for m in a.members where b.contains(m) { out.insert(m) }
        return out
    }
}
