import SecurityContexts
import SELinuxPolicy

// TE rules (access vectors, type rules, named and range transitions), conditionals, RBAC and users.

extension PolicyTextWriter {
    /// The statements one access-vector entry stands for: `allow`, `auditallow`, and `dontaudit`
    /// for the permissions whose auditdeny bit is clear. An entry whose auditdeny mask clears no
    /// permission of the class but is not all ones came from `auditdeny` of every permission: it is
    /// written as that, so that the key still has its auditdeny entry.
    func avStatements(_ key: UInt64, _ e: AVEntry) -> [String] {
        let (_, _, c) = Self.unpack(key)
        let target = keyText(key, sources: typeNames)
        var out: [String] = []
        if e.allowed != 0 { out.append("allow \(target) \(permissions(e.allowed, classValue: c));") }
        if e.auditAllow != 0 { out.append("auditallow \(target) \(permissions(e.auditAllow, classValue: c));") }
        if e.auditDeny != ~0 {
            let all = db.classes[c - 1].allPermissions
            let quiet = ~e.auditDeny & all
            if quiet != 0 {
                out.append("dontaudit \(target) \(permissions(quiet, classValue: c));")
            } else if all != 0 {
                out.append("auditdeny \(target) \(permissions(all, classValue: c));")
            }
        }
        return out
    }

    mutating func writeAVRules() {
        var entries: [(UInt64, AVEntry)] = []
        db.avTable.forEach { entries.append(($0, $1)) }
        guard !entries.isEmpty else { return }
        section("Access-vector rules")
        entries.sort { $0.0 < $1.0 }
        for (key, entry) in entries {
            for s in avStatements(key, entry) { line(s) }
        }
    }

    static func keyword(_ kind: TransitionKind) -> String {
        switch kind {
        case .transition: "type_transition"
        case .member: "type_member"
        case .change: "type_change"
        }
    }

    mutating func writeTypeRules() {
        for kind in TransitionKind.allCases {
            let rules = db.typeRules[kind] ?? [:]
            guard !rules.isEmpty else { continue }
            section("\(Self.keyword(kind)) rules")
            for key in rules.keys.sorted() {
                line("\(Self.keyword(kind)) \(keyText(key, sources: typeNames)) \(typeNames[rules[key]!]);")
            }
        }
    }

    mutating func writeFilenameTransitions() {
        guard !db.filenameTransitions.isEmpty else { return }
        section("Named type transitions")
        let keys = db.filenameTransitions.keys.sorted {
            ($0.source, $0.target, $0.classValue, $0.name) < ($1.source, $1.target, $1.classValue, $1.name)
        }
        for k in keys {
            line(
                "type_transition \(typeNames[k.source]) \(typeNames[k.target]):\(className(k.classValue)) \(typeNames[db.filenameTransitions[k]!]) \"\(k.name)\";"
            )
        }
    }

    mutating func writeRangeTransitions() {
        guard db.mls != nil, !db.rangeTransitions.isEmpty else { return }
        section("Range transitions")
        for key in db.rangeTransitions.keys.sorted() {
            line("range_transition \(keyText(key, sources: typeNames)) \(rangeText(db.rangeTransitions[key]!));")
        }
    }

    // MARK: Conditionals

    /// A postfix conditional expression in infix form, every operation in parentheses.
    func conditionText(_ expression: [ConditionalNode]) -> String {
        var stack: [String] = []
        for node in expression {
            switch node {
            case .bool(let b): stack.append(db.bools[b].name)
            case .not: stack.append("!" + (stack.popLast() ?? ""))
            default:
                let b = stack.popLast() ?? "", a = stack.popLast() ?? ""
                let op: String
                switch node {
                case .and: op = "&&"
                case .or: op = "||"
                case .xor: op = "^"
                case .eq: op = "=="
                default: op = "!="
                }
                stack.append("(\(a) \(op) \(b))")
            }
        }
        return stack.last ?? ""
    }

    /// The rules of one branch: one statement per kind of each entry, in the branch's order.
    func branchStatements(_ rules: ConditionalRules) -> [String] {
        var out: [String] = []
        for (key, entry) in rules.av { out += avStatements(key, entry) }
        for (kind, key, newType) in rules.typeRules {
            out.append("\(Self.keyword(kind)) \(keyText(key, sources: typeNames)) \(typeNames[newType]);")
        }
        return out
    }

    mutating func writeConditionals() {
        guard !db.conditionals.isEmpty else { return }
        section("Conditionals")
        for cond in db.conditionals {
            let condition = conditionText(cond.expression)
            line("if (\(condition)) {")
            for s in branchStatements(cond.trueRules) { line("\t" + s) }
            let other = branchStatements(cond.falseRules)
            if other.isEmpty {
                line("}")
            } else {
                line("} else {")
                for s in other { line("\t" + s) }
                line("}")
            }
        }
    }

    // MARK: RBAC and users

    /// Roles (not `object_r`, which is implicit) with their types, then role dominance when some
    /// role dominates another.
    mutating func writeRoles() {
        section("Roles")
        for r in db.roles.dropFirst() { line("role \(r.name);") }
        for r in db.roles.dropFirst() where !r.types.isEmpty {
            line("role \(r.name) types { \(r.types.members.map { typeNames[$0] }.joined(separator: " ")) };")
        }
        writeRoleDominance()
    }

    /// `dominance { role a { role b; } }`: the tree of immediate dominance (each role under the
    /// roles that dominate it directly), from the roles that no other role dominates.
    mutating func writeRoleDominance() {
        let count = db.roles.count
        guard count > 1 else { return }
        var dominatedBy = Array(repeating: [Int](), count: count)
        var children = Array(repeating: [Int](), count: count)
        var any = false
        for r in 1..<count {
            let below = db.roles[r].dominates.members.filter { $0 != r && $0 != 0 }
            for c in below { dominatedBy[c].append(r) }
            // Immediate: not dominated by another role that r dominates.
            for c in below where !below.contains(where: { $0 != c && db.roles[$0].dominates.contains(c) }) {
                children[r].append(c)
                any = true
            }
        }
        guard any else { return }
        var out = "dominance {"
        func tree(_ r: Int, _ out: inout String) {
            out += " role \(roleNames[r])"
            if children[r].isEmpty {
                out += ";"
            } else {
                out += " {"
                for c in children[r] { tree(c, &out) }
                out += " }"
            }
        }
        for r in 1..<count where dominatedBy[r].allSatisfy({ $0 == r }) && !children[r].isEmpty { tree(r, &out) }
        line(out + " }")
    }

    mutating func writeRoleTransitions() {
        guard !db.roleTransitions.isEmpty else { return }
        section("Role transitions")
        for key in db.roleTransitions.keys.sorted() {
            line("role_transition \(keyText(key, sources: roleNames)) \(roleNames[db.roleTransitions[key]!]);")
        }
    }

    mutating func writeRoleAllows() {
        guard !db.roleAllows.isEmpty else { return }
        section("Role allows")
        for pair in db.roleAllows.sorted() {
            line("allow \(roleNames[Int(pair >> 32)]) \(roleNames[Int(pair & 0xFFFF_FFFF)]);")
        }
    }

    /// Users with their roles and, under MLS, their default level and range.
    mutating func writeUsers() {
        section("Users")
        for u in db.users {
            var roles = u.roles.members.map { roleNames[$0] }
            if roles.isEmpty { roles = [roleNames.first ?? "object_r"] }
            var statement = "user \(u.name) roles \(Self.nameSet(roles))"
            if db.mls != nil, let level = u.defaultLevel, let range = u.range {
                statement += " level \(levelText(level)) range \(rangeText(range))"
            }
            line(statement + ";")
        }
    }
}
