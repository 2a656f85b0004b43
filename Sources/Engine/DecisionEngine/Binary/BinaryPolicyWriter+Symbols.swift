import SecurityContexts
import SELinuxPolicy

// The symbol tables (§3.3) as §6 items 2–6 and 12–13 write them: values dense and 1-based,
// records in value order.

extension BinaryPolicyWriter {
    /// `nprim`, `nel` (§3.3).
    mutating func tableHeader(values: Int, records: Int) {
        out.u32(values)
        out.u32(records)
    }

    /// A permission record: length, value, name (§3.3.1).
    mutating func permission(_ name: String, value: Int) {
        out.u32(name.utf8.count)
        out.u32(value)
        out.nameBytes(name)
    }

    /// Commons are numbered in name order; classes refer to them by name.
    var commonNames: [String] { db.commons.keys.sorted() }

    mutating func writeCommons() {
        let names = commonNames
        tableHeader(values: names.count, records: names.count)
        for (i, name) in names.enumerated() {
            let perms = db.commons[name]!
            out.u32(name.utf8.count)
            out.u32(i + 1)
            out.u32(perms.count)
            out.u32(perms.count)
            out.nameBytes(name)
            for (p, perm) in perms.enumerated() { permission(perm, value: p + 1) }
        }
    }

    mutating func writeClasses() {
        tableHeader(values: db.classes.count, records: db.classes.count)
        for cls in db.classes {
            let inherited = cls.common.map { db.commons[$0]?.count ?? 0 } ?? 0
            let own = cls.permissions[inherited...]
            out.u32(cls.name.utf8.count)
            out.u32(cls.common?.utf8.count ?? 0)
            out.u32(cls.value)
            out.u32(cls.permissions.count)
            out.u32(own.count)
            out.u32(cls.constraints.count)
            out.nameBytes(cls.name)
            if let common = cls.common { out.nameBytes(common) }
            for (p, perm) in own.enumerated() { permission(perm, value: inherited + p + 1) }
            for k in cls.constraints { constraint(k) }
            if version >= 19 {
                out.u32(cls.validateTrans.count)
                for k in cls.validateTrans { constraint(k) }
            }
            if version >= 27 {
                func object(_ d: DefaultObject?) -> UInt32 { d == .source ? 1 : d == .target ? 2 : 0 }
                let ranges: [DefaultRange?] = [nil, .sourceLow, .sourceHigh, .sourceLowHigh, .targetLow, .targetHigh, .targetLowHigh, .glblub]
                out.u32(object(cls.defaultUser))
                out.u32(object(cls.defaultRole))
                out.u32(ranges.firstIndex(of: cls.defaultRange)!)
                if version >= 28 { out.u32(object(cls.defaultType)) }
            }
        }
    }

    /// A constraint or validatetrans record (§3.3.3): postfix nodes; a names node carries its
    /// expanded set and, from version 29, the set as written (§6 item 12).
    mutating func constraint(_ k: Constraint) {
        out.u32(k.permissions)
        out.u32(k.expression.count)
        let ops: [ConstraintOperator] = [.eq, .neq, .dom, .domby, .incomp]
        for (i, node) in k.expression.enumerated() {
            switch node {
            case .not: constraintNode(1, 0, 0)
            case .and: constraintNode(2, 0, 0)
            case .or: constraintNode(3, 0, 0)
            case .attribute(let attribute, let op):
                let codes: [ConstraintAttribute: UInt32] = [
                    .user: 1, .role: 2, .type: 4, .l1l2: 32, .l1h2: 64, .h1l2: 128, .h1h2: 256, .l1h1: 512, .l2h2: 1024,
                ]
                constraintNode(4, codes[attribute]!, UInt32(ops.firstIndex(of: op)! + 1))
            case .names(let operand, let op, let set):
                let (base, which): (UInt32, UInt32)
                switch operand {
                case .u1: (base, which) = (1, 0)
                case .u2: (base, which) = (1, 8)
                case .u3: (base, which) = (1, 16)
                case .r1: (base, which) = (2, 0)
                case .r2: (base, which) = (2, 8)
                case .r3: (base, which) = (2, 16)
                case .t1: (base, which) = (4, 0)
                case .t2: (base, which) = (4, 8)
                default: (base, which) = (4, 16)
                }
                constraintNode(5, base | which, UInt32(ops.firstIndex(of: op)! + 1))
                out.ebitmap(set)
                if version >= 29 {
                    let written = base == 4 ? k.writtenTypeSets[i] ?? ConstraintTypeSet(included: set) : ConstraintTypeSet(included: Bitset())
                    out.ebitmap(written.included)
                    out.ebitmap(written.excluded)
                    out.u32((written.isAll ? 1 : 0) | (written.isComplement ? 2 : 0))
                }
            }
        }
    }

    mutating func constraintNode(_ type: UInt32, _ attr: UInt32, _ op: UInt32) {
        out.u32(type)
        out.u32(attr)
        out.u32(op)
    }

    /// The head of a role or user record: name length, value, the bounding symbol's value from
    /// version 24 (0 for none), the name (§3.3.4, §3.3.6).
    mutating func recordHead(_ name: String, value: Int, bounds: Int?) {
        out.u32(name.utf8.count)
        out.u32(value)
        if version >= 24 { out.u32(bounds.map { $0 + 1 } ?? 0) }
        out.nameBytes(name)
    }

    /// Roles: `object_r` first (value 1) with empty sets; every other role dominates itself (§6 item 6).
    mutating func writeRoles() {
        tableHeader(values: db.roles.count, records: db.roles.count)
        for (i, role) in db.roles.enumerated() {
            recordHead(role.name, value: i + 1, bounds: role.bounds)
            if i == 0 {
                out.ebitmap([Int]())
                out.ebitmap([Int]())
            } else {
                var dominates = role.dominates
                dominates.insert(i)
                out.ebitmap(dominates)
                out.ebitmap(role.types)
            }
        }
    }

    /// Types, attributes and aliases (§6 item 5): from version 24 all three with their properties;
    /// before, attributes are gaps in the value space.
    mutating func writeTypes() {
        let aliasCount = db.types.reduce(0) { $0 + $1.aliases.count }
        let written = version >= 24 ? db.types.count : db.typeCount
        tableHeader(values: db.types.count, records: written + aliasCount)
        for (i, t) in db.types.enumerated() where version >= 24 || !t.isAttribute {
            typeRecord(t.name, value: i + 1, primary: true, attribute: t.isAttribute, bounds: t.bounds.map { $0 + 1 } ?? 0)
        }
        for (i, t) in db.types.enumerated() {
            for alias in t.aliases { typeRecord(alias, value: i + 1, primary: false, attribute: false, bounds: 0) }
        }
    }

    mutating func typeRecord(_ name: String, value: Int, primary: Bool, attribute: Bool, bounds: Int) {
        out.u32(name.utf8.count)
        out.u32(value)
        if version >= 24 {
            out.u32((primary ? 1 : 0) | (attribute ? 2 : 0))
            out.u32(bounds)
        } else {
            out.u32(primary ? 1 : 0)
        }
        out.nameBytes(name)
    }

    mutating func writeUsers() {
        tableHeader(values: db.users.count, records: db.users.count)
        for (i, user) in db.users.enumerated() {
            recordHead(user.name, value: i + 1, bounds: user.bounds)
            out.ebitmap(user.roles)
            if version >= 19 {
                if mls, let range = user.range, let level = user.defaultLevel {
                    out.range(range)
                    out.level(level)
                } else {
                    out.placeholderRange()
                    out.placeholderLevel()
                }
            }
        }
    }

    /// Booleans, tunables left out (they were folded, §6 item 9).
    mutating func writeBooleans() {
        tableHeader(values: writtenBools.count, records: writtenBools.count)
        for (i, b) in writtenBools.enumerated() {
            out.u32(i + 1)
            out.u32(b.defaultValue ? 1 : 0)
            out.u32(b.name.utf8.count)
            out.nameBytes(b.name)
        }
    }

    /// Sensitivities: each primary with its level (value = dominance order, the categories it
    /// allows), then its aliases with the same level (§3.3.8).
    mutating func writeSensitivities() {
        guard let m = db.mls else {
            tableHeader(values: 0, records: 0)
            return
        }
        tableHeader(values: m.sensitivities.count, records: m.sensitivities.reduce(0) { $0 + 1 + $1.aliases.count })
        for (i, s) in m.sensitivities.enumerated() {
            for (name, alias) in [(s.name, false)] + s.aliases.map({ ($0, true) }) {
                out.u32(name.utf8.count)
                out.u32(alias ? 1 : 0)
                out.nameBytes(name)
                out.level(MLSLevel(sensitivity: i, categories: m.allowedCategories[i]))
            }
        }
    }

    mutating func writeCategories() {
        guard let m = db.mls else {
            tableHeader(values: 0, records: 0)
            return
        }
        tableHeader(values: m.categories.count, records: m.categories.reduce(0) { $0 + 1 + $1.aliases.count })
        for (i, c) in m.categories.enumerated() {
            for (name, alias) in [(c.name, false)] + c.aliases.map({ ($0, true) }) {
                out.u32(name.utf8.count)
                out.u32(i + 1)
                out.u32(alias ? 1 : 0)
                out.nameBytes(name)
            }
        }
    }
}
