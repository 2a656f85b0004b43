import SecurityContexts

// The rule sections (§3.4–§3.8, §3.11, §3.12) as §6 items 7, 8 and 10 write them.

/// One avtab entry to write: a key and its kinds with their data.
struct AVRecord {
    var key: UInt64
    /// (kind bit, data), in the order of `AVKind.all`.
    var data: [(kind: UInt16, value: UInt32)]
}

extension BinaryPolicyWriter {
    // MARK: avtab (§3.4, §6 item 7)

    /// The access-vector kinds of an entry: ALLOWED, AUDITALLOW, AUDITDENY, each only when it says
    /// something (an `AVEntry` with all three at their neutral values writes nothing).
    static func kinds(_ e: AVEntry) -> [(kind: UInt16, value: UInt32)] {
        var out: [(kind: UInt16, value: UInt32)] = []
        if e.allowed != 0 { out.append((AVKind.allowed, e.allowed)) }
        if e.auditAllow != 0 { out.append((AVKind.auditAllow, e.auditAllow)) }
        if e.auditDeny != ~0 { out.append((AVKind.auditDeny, e.auditDeny)) }
        return out
    }

    /// The records of a rule list: access vectors, then type rules, sorted by key. Below version 20
    /// attribute keys are expanded to their types and merged, since those versions have no
    /// attributes (§3.4.2).
    func records(av: [(key: UInt64, entry: AVEntry)], types: [(kind: TransitionKind, key: UInt64, newType: Int)]) -> [AVRecord] {
        var avEntries = av
        if version < 20 {
            var table = AVTable()
            var order: [UInt64] = []
            for (k, e) in av {
                let s = Int(k >> 32), t = Int((k >> 16) & 0xFFFF), c = Int(k & 0xFFFF)
                for ss in concrete(s) {
                    for tt in concrete(t) {
                        let key = AVTable.key(source: ss, target: tt, classValue: c)
                        if table.lookup(key) == nil { order.append(key) }
                        table.merge(key, e)
                    }
                }
            }
            avEntries = order.map { ($0, table.lookup($0)!) }
        }
        var out: [AVRecord] = []
        for (k, e) in avEntries.sorted(by: { $0.key < $1.key }) {
            let data = Self.kinds(e)
            if !data.isEmpty { out.append(AVRecord(key: k, data: data)) }
        }
        var typeData: [UInt64: [(kind: UInt16, value: UInt32)]] = [:]
        for r in types { typeData[r.key, default: []].append((BinaryPolicyReader.kindBit(r.kind), UInt32(r.newType + 1))) }
        for k in typeData.keys.sorted() { out.append(AVRecord(key: k, data: typeData[k]!.sorted { $0.kind < $1.kind })) }
        return out
    }

    /// The concrete types an avtab key's side stands for below version 20.
    func concrete(_ t: Int) -> [Int] {
        db.types[t].isAttribute ? (db.attributeMembers[t]?.members ?? []) : [t]
    }

    /// The number of entries `records` take: one per kind from version 20; before, one per key and
    /// group (access vectors or types) unconditionally, one per kind in conditional lists.
    func entryCount(_ records: [AVRecord], conditional: Bool) -> Int {
        version >= 20 || conditional ? records.reduce(0) { $0 + $1.data.count } : records.count
    }

    /// Writes entries; `enabled` marks the entries of a conditional branch the default booleans
    /// select (0x8000, or 0x80000000 before version 20).
    mutating func writeEntries(_ records: [AVRecord], conditional: Bool, enabled: Bool) {
        for r in records {
            let s = UInt32(r.key >> 32) + 1, t = UInt32((r.key >> 16) & 0xFFFF) + 1, c = UInt32(r.key & 0xFFFF)
            if version >= 20 {
                for d in r.data {
                    out.u16(UInt16(s))
                    out.u16(UInt16(t))
                    out.u16(UInt16(c))
                    out.u16(d.kind | (enabled ? AVKind.enabled : 0))
                    out.u32(d.value)
                }
                continue
            }
            // Version < 20: the data words follow the mask in `spec_order` (§3.4.2).
            let groups: [[(kind: UInt16, value: UInt32)]] = conditional ? r.data.map { [$0] } : [r.data]
            for group in groups {
                let ordered = AVKind.oldOrder.compactMap { k in group.first { UInt32($0.kind) == k } }
                out.u32(4 + ordered.count)
                out.u32(s)
                out.u32(t)
                out.u32(c)
                out.u32(ordered.reduce(UInt32(0)) { $0 | UInt32($1.kind) } | (enabled ? 0x8000_0000 : 0))
                for d in ordered { out.u32(d.value) }
            }
        }
    }

    mutating func writeAVTab() throws(BinaryPolicyWriteError) {
        var types: [(kind: TransitionKind, key: UInt64, newType: Int)] = []
        for kind in TransitionKind.allCases { for (k, n) in typeRules[kind]! { types.append((kind, k, n)) } }
        var av: [(key: UInt64, entry: AVEntry)] = []
        avTable.forEach { av.append(($0, $1)) }
        let recs = records(av: av, types: types)
        // Entries that say nothing (no permission, or an attribute with no member below 20) are
        // not written; the kernel refuses a table left empty (§6 item 7).
        guard !recs.isEmpty else { throw .invalid("the policy has no unconditional rule (the kernel refuses an empty rule table)") }
        out.u32(entryCount(recs, conditional: false))
        writeEntries(recs, conditional: false, enabled: false)
    }

    // MARK: Conditionals (§3.5, §6 item 8)

    mutating func writeConditionals() {
        out.u32(conditionals.count)
        let defaults = writtenBools.map(\.defaultValue)
        for cond in conditionals {
            // The expression's boolean values are the written ones (1-based); evaluate on indices.
            let indexed = cond.expression.map { node -> ConditionalNode in
                if case .bool(let v) = node { return .bool(v - 1) }
                return node
            }
            let state = RuleSet.evaluate(indexed, defaults)
            out.u32(state ? 1 : 0)
            out.u32(cond.expression.count)
            for node in cond.expression {
                switch node {
                case .bool(let v):
                    out.u32(1)
                    out.u32(v)
                default:
                    let codes: [ConditionalNode: UInt32] = [.not: 2, .or: 3, .and: 4, .xor: 5, .eq: 6, .neq: 7]
                    out.u32(codes[node]!)
                    out.u32(0)
                }
            }
            for (av, types, enabled) in [(cond.trueAV, cond.trueTypes, state), (cond.falseAV, cond.falseTypes, !state)] {
                let recs = records(av: av, types: types)
                out.u32(entryCount(recs, conditional: true))
                writeEntries(recs, conditional: true, enabled: enabled)
            }
        }
    }

    // MARK: Role transitions and allows (§3.6, §3.7)

    mutating func writeRoleTransitions() {
        let keys = db.roleTransitions.keys.sorted()
        out.u32(keys.count)
        for k in keys {
            out.u32(Int(k >> 32) + 1)
            out.u32(Int((k >> 16) & 0xFFFF) + 1)
            out.u32(db.roleTransitions[k]! + 1)
            if version >= 26 { out.u32(Int(k & 0xFFFF)) }
        }
    }

    mutating func writeRoleAllows() {
        let pairs = db.roleAllows.sorted()
        out.u32(pairs.count)
        for p in pairs {
            out.u32(Int(p >> 32) + 1)
            out.u32(Int(p & 0xFFFF_FFFF) + 1)
        }
    }

    // MARK: Filename transitions (§3.8, §6 item 10)

    mutating func writeFilenameTransitions() {
        let rules = db.filenameTransitions.sorted {
            ($0.key.target, $0.key.classValue, $0.key.name, $0.key.source) < ($1.key.target, $1.key.classValue, $1.key.name, $1.key.source)
        }
        if version < 33 {
            out.u32(rules.count)
            for (k, o) in rules {
                out.u32(k.name.utf8.count)
                out.nameBytes(k.name)
                out.u32(k.source + 1)
                out.u32(k.target + 1)
                out.u32(k.classValue)
                out.u32(o + 1)
            }
            return
        }
        // Version 33: one record per (target, class, name), one datum per new type with its sources.
        var groups: [(key: FilenameTransitionKey, data: [Int: Bitset])] = []
        for (k, o) in rules {
            let key = FilenameTransitionKey(source: 0, target: k.target, classValue: k.classValue, name: k.name)
            if groups.last?.key != key { groups.append((key, [:])) }
            groups[groups.count - 1].data[o, default: Bitset()].insert(k.source)
        }
        out.u32(groups.count)
        for g in groups {
            out.u32(g.key.name.utf8.count)
            out.nameBytes(g.key.name)
            out.u32(g.key.target + 1)
            out.u32(g.key.classValue)
            out.u32(g.data.count)
            for o in g.data.keys.sorted() {
                out.ebitmap(g.data[o]!)
                out.u32(o + 1)
            }
        }
    }

    // MARK: Range transitions (§3.11) and the type-attribute map (§3.12)

    mutating func writeRangeTransitions() {
        let keys = db.rangeTransitions.keys.sorted()
        out.u32(keys.count)
        for k in keys {
            out.u32(Int(k >> 32) + 1)
            out.u32(Int((k >> 16) & 0xFFFF) + 1)
            if version >= 21 { out.u32(Int(k & 0xFFFF)) }
            out.range(db.rangeTransitions[k]!)
        }
    }

    /// One map per type value: an attribute maps to itself, a type to itself and its attributes.
    mutating func writeTypeAttributeMap() {
        for (i, t) in db.types.enumerated() {
            out.ebitmap(t.isAttribute ? [i] : db.typeAttributeMap[i].map { Int($0) })
        }
    }
}
