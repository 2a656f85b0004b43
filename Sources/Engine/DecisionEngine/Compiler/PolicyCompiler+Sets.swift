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
        let out = try expandNames(set, universe: 1...max(db.classes.count, 1), kind: "class", at: loc) { name in
            db.classValues[name].map { Bitset([$0]) }
        }.members.filter { $0 <= db.classes.count }
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
        try expandNames(set, universe: 0...max(db.roles.count - 1, 0), kind: "role", at: loc) { name in
            if let v = db.roleIndex[name] { return Bitset([v]) }
            return db.roleAttributes[name]
        }.members
    }

    /// User values of a set.
    func userValues(_ set: NameSet, at loc: SourceLocation) throws(PolicyError) -> Bitset {
        guard !db.users.isEmpty || set.included.isEmpty else { throw PolicyError("unknown user \(set.included[0])", at: loc) }
        return try expandNames(set, universe: 0...max(db.users.count - 1, 0), kind: "user", at: loc) { name in
            db.userIndex[name].map { Bitset([$0]) }
        }
    }

    /// The values a set of names denotes over `universe` (roles, users, classes): the included names'
    /// values less the excluded ones', `*` every value, `~` the complement within `universe`.
    private func expandNames(
        _ set: NameSet, universe: ClosedRange<Int>, kind: String, at loc: SourceLocation,
        _ lookup: (String) -> Bitset?
    ) throws(PolicyError) -> Bitset {
        func values(_ name: String) throws(PolicyError) -> Bitset {
            guard let v = lookup(name) else { throw PolicyError("unknown \(kind) \(name)", at: loc) }
            return v
        }
        var chosen = Bitset()
        if set.isAll { for v in universe { chosen.insert(v) } }
        for n in set.included { chosen.formUnion(try values(n)) }
        for n in set.excluded { chosen.subtract(try values(n)) }
        if set.isComplement {
            var comp = Bitset()
            for v in universe where !chosen.contains(v) { comp.insert(v) }
            chosen = comp
        }
        return chosen
    }
}
