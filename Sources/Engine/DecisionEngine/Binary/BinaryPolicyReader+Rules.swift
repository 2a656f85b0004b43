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

/// What placing an avtab record needs from the reader, held apart from it. The reader is a large
/// value, and a non-mutating method of it called from a mutating loop copies all of it per call
/// (Specs/engine/binary-policy.md §5.1); this value is a few references.
struct AVRecordMapper {
    let typeOf: ValueMap
    let types: [PolicyType]
    /// Each class's permission bits, by class value − 1.
    let classMasks: [UInt32]
    let section: BinaryPolicySection

    func error(_ kind: BinaryPolicyError.Kind, at offset: Int) -> BinaryPolicyError {
        BinaryPolicyError(offset: offset, section: section, kind: kind)
    }

    @inline(__always)
    func type(_ value: UInt32, at offset: Int, what: String) throws(BinaryPolicyError) -> Int {
        guard let t = typeOf[value] else { throw error(.indexOutOfRange(what: what, value: value), at: offset) }
        return t
    }

    /// The index of a type value that is not an attribute.
    func concreteType(_ value: UInt32, at offset: Int, what: String) throws(BinaryPolicyError) -> Int {
        let t = try type(value, at: offset, what: what)
        guard !types[t].isAttribute else { throw error(.invalid("\(what) \(types[t].name) is an attribute"), at: offset) }
        return t
    }

    /// The key of an entry, checked (§4.4).
    @inline(__always)
    func key(_ e: RawAVEntry) throws(BinaryPolicyError) -> UInt64 {
        let source = try type(e.source, at: e.offset, what: "source type")
        let target = try type(e.target, at: e.offset, what: "target type")
        guard e.objectClass >= 1, Int(e.objectClass) <= classMasks.count else {
            throw error(.indexOutOfRange(what: "class", value: e.objectClass), at: e.offset)
        }
        return AVTable.key(source: source, target: target, classValue: Int(e.objectClass))
    }

    /// The record's access vector as an entry. An `allow` or `auditallow` vector keeps only the
    /// class's permissions: checkpolicy writes `allow … *` and `~{…}` with all 32 bits set, and the
    /// kernel never grants a bit the class lacks. (A `dontaudit` vector is a complement: its other
    /// bits stay set.)
    @inline(__always)
    func entry(_ e: RawAVEntry) -> AVEntry {
        let mask = classMasks[Int(e.objectClass) - 1]
        switch e.kind {
        case AVKind.allowed: return AVEntry(allowed: e.data & mask, auditAllow: 0, auditDeny: ~0)
        case AVKind.auditAllow: return AVEntry(allowed: 0, auditAllow: e.data & mask, auditDeny: ~0)
        default: return AVEntry(allowed: 0, auditAllow: 0, auditDeny: e.data)
        }
    }
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

    static func transitionKind(_ kind: UInt16) -> TransitionKind? {
        switch kind {
        case AVKind.transition: .transition
        case AVKind.member: .member
        case AVKind.change: .change
        default: nil
        }
    }

    // MARK: avtab (§3.4)

    mutating func readAVTab() throws(BinaryPolicyError) {
        c.section = .avtab
        let at = c.offset
        let n = try c.count(minimumSize: avEntryMinimum)
        guard n >= 1 else { throw c.error(.invalid("the rule table is empty"), at: at) }
        // One table, sized for every entry (each has one key, whatever its kinds, §3.4.2), whose
        // slots keep the kinds seen: a repeated (key, kind) is found while placing (§4.4).
        var table = AVTable.forReading(entries: n)
        var transitions = TypeRuleTables(db.typeRules)
        let mapper = avRecordMapper()
        // From version 20 one record is one entry: read without building an array per record.
        for _ in 0..<n {
            if version >= 20 {
                if let e = try avEntry20(conditional: false) { try Self.place(e, mapper, &table, &transitions) }
            } else {
                for e in try avEntries(conditional: false) { try Self.place(e, mapper, &table, &transitions) }
            }
        }
        db.avTable = table
        db.typeRules = transitions.byKind
    }

    /// The type rules of the three kinds while the avtab is read: one dictionary each, not a
    /// dictionary of them, so that a record costs one hash lookup.
    struct TypeRuleTables {
        var transition: [UInt64: Int], member: [UInt64: Int], change: [UInt64: Int]

        init(_ rules: [TransitionKind: [UInt64: Int]]) {
            transition = rules[.transition] ?? [:]
            member = rules[.member] ?? [:]
            change = rules[.change] ?? [:]
        }

        var byKind: [TransitionKind: [UInt64: Int]] { [.transition: transition, .member: member, .change: change] }

        /// False when the key already has a rule of this kind.
        mutating func insert(_ kind: UInt16, _ key: UInt64, _ new: Int) -> Bool {
            switch kind {
            case AVKind.transition: transition.updateValue(new, forKey: key) == nil
            case AVKind.member: member.updateValue(new, forKey: key) == nil
            default: change.updateValue(new, forKey: key) == nil
            }
        }
    }

    /// The mapper for the current section's records.
    func avRecordMapper() -> AVRecordMapper {
        AVRecordMapper(typeOf: typeOf, types: db.types, classMasks: db.classes.map(\.allPermissions), section: c.section)
    }

    /// One unconditional record into the table or the type rules; a repeated (key, kind) is refused.
    @inline(__always)
    static func place(_ e: RawAVEntry, _ mapper: AVRecordMapper, _ table: inout AVTable, _ transitions: inout TypeRuleTables)
        throws(BinaryPolicyError)
    {
        let k = try mapper.key(e)
        if e.kind & (AVKind.transition | AVKind.member | AVKind.change) != 0 {
            let new = try mapper.concreteType(e.data, at: e.offset, what: "new type")
            guard transitions.insert(e.kind, k, new) else { throw mapper.error(.duplicate("avtab entry"), at: e.offset) }
        } else {
            guard table.placeRecord(k, mapper.entry(e), kindBit: UInt8(e.kind)) else {
                throw mapper.error(.duplicate("avtab entry"), at: e.offset)
            }
        }
    }

    // MARK: Conditionals (§3.5)

    mutating func readConditionals() throws(BinaryPolicyError) {
        c.section = .conditionals
        let n = try c.count(minimumSize: 16)
        // Type rules already placed: unconditional ones, and those of earlier nodes (cond_insertf).
        var placed = PlacedTypeRules(unconditional: TypeRuleTables(db.typeRules))
        let mapper = avRecordMapper()
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
            let trueRules = try conditionalList(placed: placed, sameNodeTrue: nil, into: &trueKeys, mapper: mapper)
            var falseKeys = Set<UInt64>()
            let falseRules = try conditionalList(placed: placed, sameNodeTrue: trueKeys, into: &falseKeys, mapper: mapper)
            placed.conditional.formUnion(trueKeys)
            placed.conditional.formUnion(falseKeys)
            db.conditionals.append(CompiledConditional(expression: expression, trueRules: trueRules, falseRules: falseRules))
        }
    }

    /// The type rules a conditional list may not repeat, by key tagged with its kind bit (`key |
    /// kind << 48`): the unconditional ones, looked up where they are, and earlier nodes' ones.
    struct PlacedTypeRules {
        var unconditional: TypeRuleTables
        var conditional = Set<UInt64>()

        func contains(_ tagged: UInt64) -> Bool {
            let key = tagged & 0xFFFF_FFFF_FFFF
            let found: Int? =
                switch UInt16(truncatingIfNeeded: tagged >> 48) {
                case AVKind.transition: unconditional.transition[key]
                case AVKind.member: unconditional.member[key]
                default: unconditional.change[key]
                }
            return found != nil || conditional.contains(tagged)
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
    mutating func conditionalList(
        placed: PlacedTypeRules, sameNodeTrue: Set<UInt64>?, into keys: inout Set<UInt64>, mapper: AVRecordMapper
    ) throws(BinaryPolicyError) -> ConditionalRules {
        let n = try c.count(minimumSize: avEntryMinimum)
        var rules = ConditionalRules()
        rules.av.reserveCapacity(n)
        var avSlot: [UInt64: Int] = [:]
        avSlot.reserveCapacity(n)
        for _ in 0..<n {
            // From version 20 one record is one entry: read without an array per record.
            if version >= 20 {
                if let e = try avEntry20(conditional: true) {
                    try Self.placeConditional(e, mapper, &rules, &avSlot, &keys, placed: placed, sameNodeTrue: sameNodeTrue)
                }
            } else {
                for e in try avEntries(conditional: true) {
                    try Self.placeConditional(e, mapper, &rules, &avSlot, &keys, placed: placed, sameNodeTrue: sameNodeTrue)
                }
            }
        }
        return rules
    }

    /// One record of a conditional list: access vectors merged per key, type rules checked (§3.5).
    @inline(__always)
    static func placeConditional(
        _ e: RawAVEntry, _ mapper: AVRecordMapper, _ rules: inout ConditionalRules, _ avSlot: inout [UInt64: Int], _ keys: inout Set<UInt64>,
        placed: PlacedTypeRules, sameNodeTrue: Set<UInt64>?
    ) throws(BinaryPolicyError) {
        let k = try mapper.key(e)
        if let kind = Self.transitionKind(e.kind) {
            let tagged = k | UInt64(e.kind) << 48
            let repeatsOwnTrue = sameNodeTrue?.contains(tagged) ?? false
            guard repeatsOwnTrue || !placed.contains(tagged), keys.insert(tagged).inserted else {
                throw mapper.error(.duplicate("conditional type rule (it conflicts with an earlier one)"), at: e.offset)
            }
            rules.typeRules.append((kind, k, try mapper.concreteType(e.data, at: e.offset, what: "new type")))
        } else if let slot = avSlot[k] {
            rules.av[slot].entry.merge(mapper.entry(e))
        } else {
            avSlot[k] = rules.av.count
            rules.av.append((k, mapper.entry(e)))
        }
    }

    // MARK: Role transitions and allows (§3.6, §3.7)

    mutating func readRoleTransitions() throws(BinaryPolicyError) {
        c.section = .roleTransitions
        let n = try c.count(minimumSize: version >= 26 ? 16 : 12)
        for _ in 0..<n {
            let at = c.offset
            let rValue = try c.u32()
            let r = try role(rValue, at: at)
            let tValue = try c.u32()
            let t = try type(tValue, at: at)
            let nrValue = try c.u32()
            let nr = try role(nrValue, at: at)
            var cls = db.processClass
            if version >= 26 {
                let clsValue = try c.u32()
                cls = try objectClass(clsValue, at: at)
            }
            let k = AVTable.key(source: r, target: t, classValue: cls)
            guard db.roleTransitions.updateValue(nr, forKey: k) == nil else { throw c.error(.duplicate("role transition"), at: at) }
        }
    }

    mutating func readRoleAllows() throws(BinaryPolicyError) {
        c.section = .roleAllows
        let n = try c.count(minimumSize: 8)
        for _ in 0..<n {
            let at = c.offset
            let r1Value = try c.u32()
            let r1 = try role(r1Value, at: at)
            let r2Value = try c.u32()
            let r2 = try role(r2Value, at: at)
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
                let sValue = try c.u32()
                let s = try concreteType(sValue, at: at, what: "source type")
                let tValue = try c.u32()
                let t = try type(tValue, at: at, what: "target type")
                let clsValue = try c.u32()
                let cls = try objectClass(clsValue, at: at)
                let oValue = try c.u32()
                let o = try concreteType(oValue, at: at, what: "new type")
                // A repeated rule is ignored; the first one wins (§3.8).
                let key = FilenameTransitionKey(source: s, target: t, classValue: cls, name: name)
                if db.filenameTransitions[key] == nil { db.filenameTransitions[key] = o }
                continue
            }
            let tValue = try c.u32()
            let t = try type(tValue, at: at, what: "target type")
            let clsValue = try c.u32()
            let cls = try objectClass(clsValue, at: at)
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
                let oValue = try c.u32()
                let o = try concreteType(oValue, at: datumAt, what: "new type")
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
            let sValue = try c.u32()
            let s = try type(sValue, at: at, what: "source type")
            let tValue = try c.u32()
            let t = try type(tValue, at: at, what: "target type")
            var cls = db.processClass
            if version >= 21 {
                let clsValue = try c.u32()
                cls = try objectClass(clsValue, at: at)
            }
            let rawRange = try range()
            let r = try range(rawRange)!
            let k = AVTable.key(source: s, target: t, classValue: cls)
            guard db.rangeTransitions.updateValue(r, forKey: k) == nil else { throw c.error(.duplicate("range transition"), at: at) }
        }
    }

    // MARK: Type-attribute map (§3.12)

    mutating func readTypeAttributeMap() throws(BinaryPolicyError) {
        guard version >= 20 else { return }
        c.section = .typeAttributeMap
        var members = Array(repeating: Bitset(), count: db.types.count)
        let isAttribute = db.types.map(\.isAttribute)
        var row: [Int32] = []
        for v in 1..<types.valueCount + 1 {
            let bitmap = try c.ebitmap()
            guard let t = typeOf[v] else {
                // A gap (version ≥ 24 only: below, gaps are attributes): at most itself.
                guard bitmap.bits.allSatisfy({ $0 == Int(v) - 1 }) else { throw c.error(.invalid("map of unused type value \(v)"), at: bitmap.offset) }
                continue
            }
            // The row: the type, then its attributes; each bit mapped and checked as it comes.
            row.removeAll(keepingCapacity: true)
            row.append(Int32(t))
            var sorted = true
            try bitmap.forEachBit { (bit) throws(BinaryPolicyError) in
                guard bit < Int(UInt32.max), let a = typeOf[UInt32(bit + 1)] else {
                    throw c.error(.indexOutOfRange(what: "type-attribute map bit", value: UInt32(truncatingIfNeeded: bit + 1)), at: bitmap.offset)
                }
                guard a != t else { return }
                guard !isAttribute[t] else {
                    throw c.error(.invalid("map of attribute \(db.types[t].name) names others"), at: bitmap.offset)
                }
                guard isAttribute[a] else {
                    throw c.error(.invalid("map of \(db.types[t].name) names type \(db.types[a].name), not an attribute"), at: bitmap.offset)
                }
                if a < Int(row.last!) { sorted = false }
                row.append(Int32(a))
            }
            guard !isAttribute[t] else { continue }
            // Bits map in value order, and values are in database order from version 24.
            if !sorted { row.sort() }
            for a in row where a != Int32(t) { members[Int(a)].insert(t) }
            db.typeAttributeMap[t] = row
        }
        for a in db.types.indices where isAttribute[a] && !members[a].isEmpty { db.attributeMembers[a] = members[a] }
    }
}
