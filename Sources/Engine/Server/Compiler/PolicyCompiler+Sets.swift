import SELinuxPolicy

// Expansion of name sets (`a`, `{ a b -c }`, `*`, `~{ a }`) into values, following libsepol's
// `type_set_expand` and `role_set_expand`: included names are expanded (attributes to their member
// types), excluded names are expanded and removed, `*` is every type (not attributes) less the
// excluded ones, `~` complements the result over every type.

extension PolicyCompiler {
    /// The concrete types (no attributes) a set denotes. `self` is not allowed.
    func concreteTypes(_ set: NameSet, at loc: SourceLocation) throws(PolicyError) -> Bitset {
        if set.included.contains("self") || set.excluded.contains("self") {
            throw PolicyError("self is only allowed in the target of a rule", at: loc)
        }
        return try expandTypes(included: set.included, excluded: set.excluded, isAll: set.isAll, isComplement: set.isComplement, at: loc)
    }

    func expandTypes(included: [String], excluded: [String], isAll: Bool, isComplement: Bool, at loc: SourceLocation) throws(PolicyError) -> Bitset {
        var neg = Bitset(capacity: db.types.count)
        for name in excluded { try addExpanded(name, to: &neg, at: loc) }
        var out = Bitset(capacity: db.types.count)
        if isAll {
            for i in db.types.indices where !db.types[i].isAttribute && !neg.contains(i) { out.insert(i) }
            return out
        }
        for name in included { try addExpanded(name, to: &out, at: loc) }
        out.subtract(neg)
        if isComplement {
            var comp = Bitset(capacity: db.types.count)
            for i in db.types.indices where !db.types[i].isAttribute && !out.contains(i) { comp.insert(i) }
            return comp
        }
        return out
    }

    private func addExpanded(_ name: String, to set: inout Bitset, at loc: SourceLocation) throws(PolicyError) {
        guard let v = db.typeIndex[name] else { throw PolicyError("unknown type or attribute \(name)", at: loc) }
        if db.types[v].isAttribute {
            if let members = db.attributeMembers[v] { set.formUnion(members) }
        } else {
            set.insert(v)
        }
    }

    /// The avtab keys of one side of a TE rule: the names as written (types and attributes) when the
    /// set is a plain list, else the expanded types; `self` reported separately.
    func ruleKeys(_ set: NameSet, at loc: SourceLocation) throws(PolicyError) -> (keys: [Int], hasSelf: Bool) {
        let hasSelf = set.included.contains("self")
        if set.excluded.contains("self") || (hasSelf && (set.isComplement || set.isAll)) {
            throw PolicyError("self cannot be excluded or complemented", at: loc)
        }
        let names = set.included.filter { $0 != "self" }
        if set.excluded.isEmpty && !set.isAll && !set.isComplement {
            var keys: [Int] = []
            var seen = Set<Int>()
            for n in names {
                guard let v = db.typeIndex[n] else { throw PolicyError("unknown type or attribute \(n)", at: loc) }
                if seen.insert(v).inserted { keys.append(v) }
            }
            return (keys, hasSelf)
        }
        let expanded = try expandTypes(included: names, excluded: set.excluded, isAll: set.isAll, isComplement: set.isComplement, at: loc)
        return (expanded.members, hasSelf)
    }

    /// The class values a set denotes (`*` is every class, `~` the complement).
    func classValueList(_ set: NameSet, at loc: SourceLocation) throws(PolicyError) -> [Int] {
        var chosen = Bitset(capacity: db.classes.count + 1)
        if set.isAll {
            for c in 1...max(db.classes.count, 1) where c <= db.classes.count { chosen.insert(c) }
        }
        for n in set.included {
            guard let v = db.classValues[n] else { throw PolicyError("unknown class \(n)", at: loc) }
            chosen.insert(v)
        }
        for n in set.excluded {
            guard let v = db.classValues[n] else { throw PolicyError("unknown class \(n)", at: loc) }
            chosen.remove(v)
        }
        if set.isComplement {
            var comp = Bitset()
            for c in 1...max(db.classes.count, 1) where c <= db.classes.count && !chosen.contains(c) { comp.insert(c) }
            chosen = comp
        }
        let out = chosen.members
        guard !out.isEmpty else { throw PolicyError("empty class set", at: loc) }
        return out
    }

    /// The permission bits a set denotes for one class (`*` all, `~` the complement).
    func permissionMask(_ set: NameSet, classValue c: Int, at loc: SourceLocation) throws(PolicyError) -> UInt32 {
        let cls = db.classes[c - 1]
        var mask: UInt32 = set.isAll ? cls.allPermissions : 0
        for p in set.included {
            guard let b = cls.permissionBits[p] else {
                throw PolicyError("permission \(p) is not defined for class \(cls.name)", at: loc)
            }
            mask |= 1 << UInt32(b)
        }
        for p in set.excluded {
            guard let b = cls.permissionBits[p] else {
                throw PolicyError("permission \(p) is not defined for class \(cls.name)", at: loc)
            }
            mask &= ~(1 << UInt32(b))
        }
        if set.isComplement { mask = ~mask & cls.allPermissions }
        return mask
    }

    /// Role values of a set; role attributes expand to their member roles; `*` is every role.
    func roleValues(_ set: NameSet, at loc: SourceLocation) throws(PolicyError) -> [Int] {
        var chosen = Bitset(capacity: db.roles.count)
        if set.isAll { for r in db.roles.indices { chosen.insert(r) } }
        func expand(_ n: String) throws(PolicyError) -> Bitset {
            if let v = db.roleIndex[n] { return Bitset([v]) }
            if let members = db.roleAttributes[n] { return members }
            throw PolicyError("unknown role \(n)", at: loc)
        }
        for n in set.included { chosen.formUnion(try expand(n)) }
        for n in set.excluded { chosen.subtract(try expand(n)) }
        if set.isComplement {
            var comp = Bitset()
            for r in db.roles.indices where !chosen.contains(r) { comp.insert(r) }
            chosen = comp
        }
        return chosen.members
    }

    /// User values of a set.
    func userValues(_ set: NameSet, at loc: SourceLocation) throws(PolicyError) -> Bitset {
        var chosen = Bitset(capacity: db.users.count)
        if set.isAll { for u in db.users.indices { chosen.insert(u) } }
        for n in set.included {
            guard let v = db.userIndex[n] else { throw PolicyError("unknown user \(n)", at: loc) }
            chosen.insert(v)
        }
        for n in set.excluded {
            guard let v = db.userIndex[n] else { throw PolicyError("unknown user \(n)", at: loc) }
            chosen.remove(v)
        }
        if set.isComplement {
            var comp = Bitset()
            for u in db.users.indices where !chosen.contains(u) { comp.insert(u) }
            chosen = comp
        }
        return chosen
    }
}
