// The rule sections: the avtab (§3.4), the conditional list (§3.5), role transitions and allows
// (§3.6, §3.7), filename transitions (§3.8), range transitions (§3.11) and the type-attribute map
// (§3.12), each mapped onto PolicyDB as it is read (§5).

/// One avtab entry in the version-20 form (§3.4.1); older entries are split into these (§3.4.2).
struct RawAVEntry {
    var source: UInt32
    var target: UInt32
    var objectClass: UInt32
    /// Exactly one kind bit (0x1…0x400).
    var kind: UInt16
    var data: UInt32
    var offset: Int
}

/// The avtab kind bits (`avtab.h`, §3.4.1).
enum AVKind {
    static let allowed: UInt16 = 0x1, auditAllow: UInt16 = 0x2, auditDeny: UInt16 = 0x4
    static let transition: UInt16 = 0x10, member: UInt16 = 0x20, change: UInt16 = 0x40
    static let xperms: UInt16 = 0x700
    static let enabled: UInt16 = 0x8000
    static let all: [UInt16] = [0x1, 0x2, 0x4, 0x10, 0x20, 0x40, 0x100, 0x200, 0x400]
    /// The order of data words in entries before version 20 (`spec_order`, §3.4.2).
    static let oldOrder: [UInt32] = [0x1, 0x4, 0x2, 0x10, 0x40, 0x20]
}

extension BinaryPolicyReader {
    var avEntryMinimum: Int { version >= 20 ? 12 : 24 }

    /// One entry as written (one or more kinds before version 20). Extended-permission entries are
    /// checked and counted, not returned (PolicyDB does not hold them, §5).
    mutating func avEntries(conditional: Bool) throws(BinaryPolicyError) -> [RawAVEntry] {
        let at = c.offset
        if version < 20 {
            let n = try c.u32()
            guard n >= 5, n <= 8 else { throw c.error(.invalid("avtab entry of \(n) words"), at: at) }
            let source = try c.u32(), target = try c.u32(), cls = try c.u32()
            let maskAt = c.offset
            var mask = try c.u32()
            guard source <= 0xFFFF, target <= 0xFFFF, cls <= 0xFFFF else { throw c.error(.invalid("avtab key beyond 16 bits"), at: at) }
            if conditional { mask &= ~0x8000_0000 }
            let av = mask & 0x7, type = mask & 0x70
            guard mask & ~0x77 == 0, (av == 0) != (type == 0), UInt32(mask.nonzeroBitCount) == n - 4 else {
                throw c.error(.invalid("avtab entry mask 0x\(String(mask, radix: 16)) with \(n - 4) data words"), at: maskAt)
            }
            var out: [RawAVEntry] = []
            for kind in AVKind.oldOrder where mask & kind != 0 {
                out.append(RawAVEntry(source: source, target: target, objectClass: cls, kind: UInt16(kind), data: try c.u32(), offset: at))
            }
            return out
        }
        return try avEntry20(conditional: conditional).map { [$0] } ?? []
    }

    /// One entry of version 20 or later (§3.4.1): nil for an extended-permission entry, which is
    /// checked and counted (PolicyDB does not hold its set, §5).
    mutating func avEntry20(conditional: Bool) throws(BinaryPolicyError) -> RawAVEntry? {
        let at = c.offset
        let source = try c.u16(), target = try c.u16(), cls = try c.u16()
        let specAt = c.offset
        var spec = try c.u16()
        if conditional { spec &= ~AVKind.enabled }
        guard AVKind.all.contains(spec) else { throw c.error(.invalid("avtab specifier 0x\(String(spec, radix: 16))"), at: specAt) }
        if spec & AVKind.xperms != 0 {
            guard version >= 30 else { throw c.error(.invalid("extended permissions need version 30, the file is \(version)"), at: specAt) }
            guard !conditional else { throw c.error(.invalid("extended permissions in a conditional list (version 34)"), at: specAt) }
            let xAt = c.offset
            let xspec = try c.u8()
            _ = try c.u8()
            guard xspec == 1 || xspec == 2 else { throw c.error(.invalid("extended permission kind \(xspec)"), at: xAt) }
            for _ in 0..<8 { _ = try c.u32() }
            // The key must still be valid.
            _ = try type(UInt32(source), at: at)
            _ = try type(UInt32(target), at: at)
            _ = try objectClass(UInt32(cls), at: at)
            xpermsCount += 1
            return nil
        }
        return RawAVEntry(source: UInt32(source), target: UInt32(target), objectClass: UInt32(cls), kind: spec, data: try c.u32(), offset: at)
    }

    /// The key of an entry, checked (§4.4).
    func key(_ e: RawAVEntry) throws(BinaryPolicyError) -> UInt64 {
        AVTable.key(
            source: try type(e.source, at: e.offset, what: "source type"), target: try type(e.target, at: e.offset, what: "target type"),
            classValue: try objectClass(e.objectClass, at: e.offset))
    }

    /// An `allow` or `auditallow` vector keeps only the class's permissions: checkpolicy writes
    /// `allow … *` and `~{…}` with all 32 bits set, and the kernel never grants a bit the class lacks.
    /// (A `dontaudit` vector is a complement: its other bits stay set.)
    func masked(_ e: RawAVEntry, classValue: Int) -> RawAVEntry {
        guard e.kind == AVKind.allowed || e.kind == AVKind.auditAllow else { return e }
        var out = e
        out.data &= db.classes[classValue - 1].allPermissions
        return out
    }

    static func transitionKind(_ kind: UInt16) -> TransitionKind? {
        switch kind {
        case AVKind.transition: .transition
        case AVKind.member: .member
        case AVKind.change: .change
        default: nil
        }
    }

    static func avEntry(_ e: RawAVEntry) -> AVEntry {
        switch e.kind {
        case AVKind.allowed: AVEntry(allowed: e.data, auditAllow: 0, auditDeny: ~0)
        case AVKind.auditAllow: AVEntry(allowed: 0, auditAllow: e.data, auditDeny: ~0)
        default: AVEntry(allowed: 0, auditAllow: 0, auditDeny: e.data)
        }
    }

    // MARK: avtab (§3.4)

    mutating func readAVTab() throws(BinaryPolicyError) {
        c.section = .avtab
        let at = c.offset
        let n = try c.count(minimumSize: avEntryMinimum)
        guard n >= 1 else { throw c.error(.invalid("the rule table is empty"), at: at) }
        // One table, sized for every entry (each has one key, whatever its kinds, §3.4.2), with the
        // kinds seen per slot: a repeated (key, kind) is found while placing (§4.4).
        var (table, kinds) = AVTable.forReading(entries: n)
        var typeRules = db.typeRules
        // From version 20 one record is one entry: read without building an array per record.
        for _ in 0..<n {
            if version >= 20 {
                if let e = try avEntry20(conditional: false) { try place(e, &table, &kinds, &typeRules) }
            } else {
                for e in try avEntries(conditional: false) { try place(e, &table, &kinds, &typeRules) }
            }
        }
        db.avTable = table
        db.typeRules = typeRules
    }

    /// One unconditional record into the table or the type rules; a repeated (key, kind) is refused.
    @inline(__always)
    func place(_ e: RawAVEntry, _ table: inout AVTable, _ kinds: inout [UInt8], _ typeRules: inout [TransitionKind: [UInt64: Int]])
        throws(BinaryPolicyError)
    {
        let k = try key(e)
        if let kind = Self.transitionKind(e.kind) {
            let new = try concreteType(e.data, at: e.offset, what: "new type")
            guard typeRules[kind]!.updateValue(new, forKey: k) == nil else { throw c.error(.duplicate("avtab entry"), at: e.offset) }
        } else {
            guard table.placeRecord(k, Self.avEntry(masked(e, classValue: Int(k & 0xFFFF))), kindBit: UInt8(e.kind), kinds: &kinds) else {
                throw c.error(.duplicate("avtab entry"), at: e.offset)
            }
        }
    }

    // MARK: Conditionals (§3.5)

    mutating func readConditionals() throws(BinaryPolicyError) {
        c.section = .conditionals
        let n = try c.count(minimumSize: 16)
        // Type rules already placed: unconditional ones, and those of earlier nodes (cond_insertf).
        var placed = Set<UInt64>()
        for (kind, rules) in db.typeRules {
            for k in rules.keys { placed.insert(k | UInt64(Self.kindBit(kind)) << 48) }
        }
        for _ in 0..<n {
            let nodeAt = c.offset
            let state = try c.u32()
            guard state <= 1 else { throw c.error(.invalid("conditional state \(state)"), at: nodeAt) }
            let nexpr = try c.count(minimumSize: 8)
            var expression: [ConditionalNode] = []
            var depth = 0
            for _ in 0..<nexpr {
                let exprAt = c.offset
                let kind = try c.u32()
                let b = try c.u32()
                switch kind {
                case 1:
                    guard let i = boolOf[b] else { throw c.error(.indexOutOfRange(what: "boolean", value: b), at: exprAt) }
                    expression.append(.bool(i))
                    depth += 1
                case 2:
                    guard depth >= 1, b == 0 else { throw c.error(.invalid("conditional expression: malformed NOT"), at: exprAt) }
                    expression.append(.not)
                case 3...7:
                    guard depth >= 2, b == 0 else { throw c.error(.invalid("conditional expression: operator \(kind) without operands"), at: exprAt) }
                    depth -= 1
                    expression.append([.or, .and, .xor, .eq, .neq][Int(kind) - 3])
                default:
                    throw c.error(.invalid("conditional expression node \(kind)"), at: exprAt)
                }
                guard depth <= 10 else { throw c.error(.invalid("conditional expression deeper than 10"), at: exprAt) }
            }
            guard depth == 1 else { throw c.error(.invalid("conditional expression leaves \(depth) values"), at: nodeAt) }
            var trueKeys = Set<UInt64>()
            let trueRules = try conditionalList(placed: placed, sameNodeTrue: nil, into: &trueKeys)
            var falseKeys = Set<UInt64>()
            let falseRules = try conditionalList(placed: placed, sameNodeTrue: trueKeys, into: &falseKeys)
            placed.formUnion(trueKeys)
            placed.formUnion(falseKeys)
            db.conditionals.append(CompiledConditional(expression: expression, trueRules: trueRules, falseRules: falseRules))
        }
    }

    static func kindBit(_ kind: TransitionKind) -> UInt16 {
        switch kind {
        case .transition: AVKind.transition
        case .member: AVKind.member
        case .change: AVKind.change
        }
    }

    /// A true or false list; type rules may not repeat one placed before, except that a false list
    /// may repeat its own node's true list (§3.5).
    mutating func conditionalList(placed: Set<UInt64>, sameNodeTrue: Set<UInt64>?, into keys: inout Set<UInt64>) throws(BinaryPolicyError)
        -> ConditionalRules
    {
        let n = try c.count(minimumSize: avEntryMinimum)
        var rules = ConditionalRules()
        var avSlot: [UInt64: Int] = [:]
        for _ in 0..<n {
            // From version 20 one record is one entry: read without an array per record.
            if version >= 20 {
                if let e = try avEntry20(conditional: true) {
                    try placeConditional(e, &rules, &avSlot, &keys, placed: placed, sameNodeTrue: sameNodeTrue)
                }
            } else {
                for e in try avEntries(conditional: true) {
                    try placeConditional(e, &rules, &avSlot, &keys, placed: placed, sameNodeTrue: sameNodeTrue)
                }
            }
        }
        return rules
    }

    /// One record of a conditional list: access vectors merged per key, type rules checked (§3.5).
    @inline(__always)
    func placeConditional(
        _ e: RawAVEntry, _ rules: inout ConditionalRules, _ avSlot: inout [UInt64: Int], _ keys: inout Set<UInt64>, placed: Set<UInt64>,
        sameNodeTrue: Set<UInt64>?
    ) throws(BinaryPolicyError) {
        let k = try key(e)
        if let kind = Self.transitionKind(e.kind) {
            let tagged = k | UInt64(e.kind) << 48
            let repeatsOwnTrue = sameNodeTrue?.contains(tagged) ?? false
            guard repeatsOwnTrue || !placed.contains(tagged), keys.insert(tagged).inserted else {
                throw c.error(.duplicate("conditional type rule (it conflicts with an earlier one)"), at: e.offset)
            }
            rules.typeRules.append((kind, k, try concreteType(e.data, at: e.offset, what: "new type")))
        } else if let slot = avSlot[k] {
            rules.av[slot].entry.merge(Self.avEntry(masked(e, classValue: Int(k & 0xFFFF))))
        } else {
            avSlot[k] = rules.av.count
            rules.av.append((k, Self.avEntry(masked(e, classValue: Int(k & 0xFFFF)))))
        }
    }

    // MARK: Role transitions and allows (§3.6, §3.7)

    mutating func readRoleTransitions() throws(BinaryPolicyError) {
        c.section = .roleTransitions
        let n = try c.count(minimumSize: version >= 26 ? 16 : 12)
        for _ in 0..<n {
            let at = c.offset
            let r = try role(try c.u32(), at: at)
            let t = try type(try c.u32(), at: at)
            let nr = try role(try c.u32(), at: at)
            let cls = version >= 26 ? try objectClass(try c.u32(), at: at) : db.processClass
            let k = AVTable.key(source: r, target: t, classValue: cls)
            guard db.roleTransitions.updateValue(nr, forKey: k) == nil else { throw c.error(.duplicate("role transition"), at: at) }
        }
    }

    mutating func readRoleAllows() throws(BinaryPolicyError) {
        c.section = .roleAllows
        let n = try c.count(minimumSize: 8)
        for _ in 0..<n {
            let at = c.offset
            let r1 = try role(try c.u32(), at: at)
            let r2 = try role(try c.u32(), at: at)
            db.roleAllows.insert(UInt64(r1) << 32 | UInt64(r2))
        }
    }

    // MARK: Filename transitions (§3.8)

    mutating func readFilenameTransitions() throws(BinaryPolicyError) {
        c.section = .filenameTransitions
        let n = try c.count(minimumSize: version >= 33 ? 33 : 21)
        var keys = Set<FilenameTransitionKey>()
        for _ in 0..<n {
            let at = c.offset
            let len = try c.nameLength()
            let name = try c.name(len)
            if version < 33 {
                let s = try concreteType(try c.u32(), at: at, what: "source type")
                let t = try type(try c.u32(), at: at, what: "target type")
                let cls = try objectClass(try c.u32(), at: at)
                let o = try concreteType(try c.u32(), at: at, what: "new type")
                // A repeated rule is ignored; the first one wins (§3.8).
                let key = FilenameTransitionKey(source: s, target: t, classValue: cls, name: name)
                if db.filenameTransitions[key] == nil { db.filenameTransitions[key] = o }
                continue
            }
            let t = try type(try c.u32(), at: at, what: "target type")
            let cls = try objectClass(try c.u32(), at: at)
            // Each (target, class, name) once (the kernel: "Duplicate filename transition key").
            guard keys.insert(FilenameTransitionKey(source: 0, target: t, classValue: cls, name: name)).inserted else {
                throw c.error(.duplicate("filename transition key \(db.types[t].name) \"\(name)\""), at: at)
            }
            let ndatumAt = c.offset
            let ndatum = try c.count(minimumSize: 16)
            guard ndatum >= 1 else { throw c.error(.invalid("a filename transition key with no datum"), at: ndatumAt) }
            var otypes = Set<Int>()
            for _ in 0..<ndatum {
                let datumAt = c.offset
                let sources = try c.ebitmap()
                let o = try concreteType(try c.u32(), at: datumAt, what: "new type")
                guard otypes.insert(o).inserted else { throw c.error(.duplicate("new type in one filename transition key"), at: datumAt) }
                for s in try mapped(sources, typeOf, what: "source type").members {
                    guard !db.types[s].isAttribute else { throw c.error(.invalid("source type \(db.types[s].name) is an attribute"), at: datumAt) }
                    let key = FilenameTransitionKey(source: s, target: t, classValue: cls, name: name)
                    guard db.filenameTransitions.updateValue(o, forKey: key) == nil else {
                        throw c.error(.duplicate("filename transition \(db.types[s].name) \(db.types[t].name) \"\(name)\""), at: datumAt)
                    }
                }
            }
        }
    }

    // MARK: Range transitions (§3.11)

    mutating func readRangeTransitions() throws(BinaryPolicyError) {
        c.section = .rangeTransitions
        let n = try c.count(minimumSize: version >= 21 ? 32 : 28)
        guard n == 0 || header.mls else { throw c.error(.invalid("range transitions in a policy without MLS"), at: c.offset - 4) }
        for _ in 0..<n {
            let at = c.offset
            let s = try type(try c.u32(), at: at, what: "source type")
            let t = try type(try c.u32(), at: at, what: "target type")
            let cls = version >= 21 ? try objectClass(try c.u32(), at: at) : db.processClass
            let r = try range(try range())!
            let k = AVTable.key(source: s, target: t, classValue: cls)
            guard db.rangeTransitions.updateValue(r, forKey: k) == nil else { throw c.error(.duplicate("range transition"), at: at) }
        }
    }

    // MARK: Type-attribute map (§3.12)

    mutating func readTypeAttributeMap() throws(BinaryPolicyError) {
        guard version >= 20 else { return }
        c.section = .typeAttributeMap
        var members = Array(repeating: Bitset(), count: db.types.count)
        for v in 1..<types.valueCount + 1 {
            let bitmap = try c.ebitmap()
            guard let t = typeOf[v] else {
                // A gap (version ≥ 24 only: below, gaps are attributes): at most itself.
                guard bitmap.bits.allSatisfy({ $0 == Int(v) - 1 }) else { throw c.error(.invalid("map of unused type value \(v)"), at: bitmap.offset) }
                continue
            }
            let set = try mapped(bitmap, typeOf, what: "type-attribute map bit")
            if db.types[t].isAttribute {
                guard set.members.allSatisfy({ $0 == t }) else {
                    throw c.error(.invalid("map of attribute \(db.types[t].name) names others"), at: bitmap.offset)
                }
                continue
            }
            var row: [Int32] = [Int32(t)]
            for a in set.members where a != t {
                guard db.types[a].isAttribute else {
                    throw c.error(.invalid("map of \(db.types[t].name) names type \(db.types[a].name), not an attribute"), at: bitmap.offset)
                }
                row.append(Int32(a))
                members[a].insert(t)
            }
            db.typeAttributeMap[t] = row.sorted()
        }
        for a in db.types.indices where db.types[a].isAttribute && !members[a].isEmpty { db.attributeMembers[a] = members[a] }
    }
}
