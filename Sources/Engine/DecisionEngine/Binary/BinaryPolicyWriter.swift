import SecurityContexts

extension PolicyDB {
    /// The policy in the kernel's binary form (`policy.NN`), as libsepol's `policydb_write` lays it
    /// out (Specs/engine/binary-policy.md §6): the file `checkpolicy -c version` would write for the
    /// same source, up to record order, which the format leaves free. The MLS flag follows the
    /// policy (``mlsEnabled``).
    ///
    /// Symbols are numbered densely in the database's order (value = index + 1), records are
    /// written in value order, so the output is the same on every run. Tunables are folded into
    /// the unconditional rules, as checkpolicy does; conditionals are written as the database holds
    /// them, already merged the way checkpolicy merges them.
    /// - Parameter version: the format version, 15…33 (default 33, the newest the kernels of
    ///   Debian 12 and 13 read).
    /// - Throws: ``BinaryPolicyWriteError`` when the version cannot carry something the policy
    ///   has (never a silent drop), or the policy cannot be written at all.
    public func binaryPolicy(version: UInt32 = BinaryPolicyVersion.maximum) throws(BinaryPolicyWriteError) -> [UInt8] {
        var writer = try BinaryPolicyWriter(self, version: version)
        return try writer.write()
    }
}

/// One conditional as written: its expression over the booleans that are not tunables (values
/// renumbered) and its two lists, entries merged per key (§3.5).
struct WrittenConditional {
    var expression: [ConditionalNode]
    var trueAV: [(key: UInt64, entry: AVEntry)] = []
    var falseAV: [(key: UInt64, entry: AVEntry)] = []
    var trueTypes: [(kind: TransitionKind, key: UInt64, newType: Int)] = []
    var falseTypes: [(kind: TransitionKind, key: UInt64, newType: Int)] = []
}

/// The writer: the database checked against the version, tunables folded and each conditional
/// branch merged per key (§6 items 8, 9, 11), then one pass in the reader's section order (§3).
struct BinaryPolicyWriter {
    let db: PolicyDB
    let version: UInt32
    var out = BinaryBuffer()

    /// Unconditional rules, with the taken branch of every tunable-only conditional added.
    var avTable: AVTable
    var typeRules: [TransitionKind: [UInt64: Int]]
    var conditionals: [WrittenConditional] = []
    /// Boolean index → value in the file (tunables are not written).
    var boolValue: [Int: Int] = [:]
    var writtenBools: [PolicyBool] = []

    var mls: Bool { db.mls != nil }

    init(_ db: PolicyDB, version: UInt32) throws(BinaryPolicyWriteError) {
        guard version >= BinaryPolicyVersion.minimum, version <= BinaryPolicyVersion.maximum else { throw .unsupportedVersion(version) }
        self.db = db
        self.version = version
        avTable = db.avTable
        typeRules = db.typeRules
        for (i, b) in db.bools.enumerated() where !b.isTunable {
            boolValue[i] = writtenBools.count + 1
            writtenBools.append(b)
        }
        try foldConditionals()
        try checkVersion()
        try checkWritable()
    }

    /// Whether `version` is at least `minimum`; else the error naming `feature`.
    func require(_ minimum: UInt32, _ feature: String) throws(BinaryPolicyWriteError) {
        guard version >= minimum else { throw .needsVersion(feature: feature, minimum: minimum, version: version) }
    }

    /// Everything the version cannot carry is refused by name (§6 item 11).
    func checkVersion() throws(BinaryPolicyWriteError) {
        if mls { try require(19, "MLS") }
        if !writtenBools.isEmpty || !conditionals.isEmpty { try require(16, "booleans or conditional rules") }
        if db.nodecons.contains(where: { $0.address.bytes.count == 16 }) { try require(17, "IPv6 nodecon") }
        if db.classes.contains(where: { !$0.validateTrans.isEmpty }) { try require(19, "validatetrans") }
        if db.rangeTransitions.keys.contains(where: { Int($0 & 0xFFFF) != db.processClass }) {
            try require(21, "range_transition for a class other than process")
        }
        if !db.policyCapabilities.isEmpty { try require(22, "policy capabilities") }
        if db.types.contains(where: \.isPermissive) { try require(23, "permissive types") }
        if db.types.contains(where: { $0.bounds != nil }) || db.roles.contains(where: { $0.bounds != nil })
            || db.users.contains(where: { $0.bounds != nil })
        {
            try require(24, "bounds (typebounds, role or user bounds)")
        }
        if !db.filenameTransitions.isEmpty { try require(25, "type_transition with an object name") }
        if db.roleTransitions.keys.contains(where: { Int($0 & 0xFFFF) != db.processClass }) {
            try require(26, "role_transition for a class other than process")
        }
        if db.classes.contains(where: { $0.defaultUser != nil || $0.defaultRole != nil || $0.defaultRange != nil }) {
            try require(27, "default_user, default_role or default_range")
        }
        if db.classes.contains(where: { $0.defaultType != nil }) { try require(28, "default_type") }
        if db.classes.contains(where: { $0.defaultRange == .glblub }) { try require(32, "default_range glblub") }
        if !db.ibpkeyContexts.isEmpty || !db.ibendportContexts.isEmpty { try require(31, "ibpkeycon or ibendportcon") }
    }

    /// What no version of the Linux format carries (§6), and the format's own rules.
    func checkWritable() throws(BinaryPolicyWriteError) {
        if db.extendedPermissionRuleCount > 0 {
            throw .cannotCarry(
                "the policy has \(db.extendedPermissionRuleCount) extended-permission rules (allowxperm…), whose sets salabel does not hold yet; compile it with checkpolicy"
            )
        }
        if let t = db.types.first(where: \.isNeverAudit) { throw .cannotCarry("neveraudit \(t.name) needs version 35") }
        if let other = db.otherLabeling.first { throw .cannotCarry("\(other.keyword) is a Xen statement; a Linux policy cannot carry it") }
        if let c = db.policyCapabilities.first(where: { !BinaryPolicyReader.capabilityNames.contains($0) }) {
            throw .cannotCarry("policy capability \(c) has no number")
        }
        if avTable.count == 0 && typeRules.values.allSatisfy(\.isEmpty) {
            throw .invalid("the policy has no unconditional rule (the kernel refuses an empty rule table)")
        }
        guard db.types.count <= 0xFFFF, db.classes.count <= 0xFFFF else { throw .invalid("more than 65535 types or classes") }
    }

    // MARK: Conditionals (§6 items 8, 9)

    /// Folds tunable-only conditionals into the unconditional rules, merges each branch's entries
    /// per key, and refuses what libsepol and the kernel would reject.
    mutating func foldConditionals() throws(BinaryPolicyWriteError) {
        let defaults = db.bools.map(\.defaultValue)
        var lists: [(expression: [ConditionalNode], branches: [ConditionalRules])] = []
        for cond in db.conditionals {
            var tunables = 0, booleans = 0
            for case .bool(let b) in cond.expression { if db.bools[b].isTunable { tunables += 1 } else { booleans += 1 } }
            if tunables > 0 && booleans > 0 {
                throw .invalid("a conditional mixes booleans and tunables (\(expressionText(cond.expression))); checkpolicy cannot write it either")
            }
            if tunables > 0 {
                let taken = RuleSet.evaluate(cond.expression, defaults) ? cond.trueRules : cond.falseRules
                for (k, e) in taken.av { avTable.merge(k, e) }
                for r in taken.typeRules {
                    if let old = typeRules[r.kind]![r.key], old != r.newType {
                        throw .invalid("a tunable's \(r.kind) rule conflicts with another (\(ruleText(r.key)))")
                    }
                    typeRules[r.kind]![r.key] = r.newType
                }
                continue
            }
            // The compiler and the reader hold conditionals as libsepol stores them, normalized and
            // merged (ConditionalIdentity, §3.5): written as they are.
            let expression = cond.expression.map { node -> ConditionalNode in
                if case .bool(let b) = node { return .bool(boolValue[b]!) }
                return node
            }
            lists.append((expression, [cond.trueRules, cond.falseRules]))
        }
        // A type rule may be placed once: not also unconditional, not in two conditionals (the
        // false list of its own conditional may repeat its true list), §3.5.
        var placed = Set<UInt64>()
        for (kind, rules) in typeRules { for k in rules.keys { placed.insert(k | UInt64(BinaryPolicyReader.kindBit(kind)) << 48) } }
        for (expression, branches) in lists {
            var written = WrittenConditional(expression: expression)
            var ownTrue = Set<UInt64>()
            for (b, rules) in branches.enumerated() {
                var av = AVTable()
                var order: [UInt64] = []
                for (k, e) in rules.av {
                    if av.lookup(k) == nil { order.append(k) }
                    av.merge(k, e)
                }
                let entries = order.map { ($0, av.lookup($0)!) }
                var types: [UInt64: (TransitionKind, UInt64, Int)] = [:]
                var typeOrder: [UInt64] = []
                for r in rules.typeRules {
                    let tagged = r.key | UInt64(BinaryPolicyReader.kindBit(r.kind)) << 48
                    if let old = types[tagged] {
                        guard old.2 == r.newType else { throw .invalid("conflicting conditional \(r.kind) rules for \(ruleText(r.key))") }
                        continue
                    }
                    guard !placed.contains(tagged) || (b == 1 && ownTrue.contains(tagged)) else {
                        throw .invalid("the \(r.kind) rule for \(ruleText(r.key)) is in two places (unconditional or another conditional)")
                    }
                    types[tagged] = (r.kind, r.key, r.newType)
                    typeOrder.append(tagged)
                }
                if b == 0 {
                    written.trueAV = entries
                    written.trueTypes = typeOrder.map { types[$0]! }
                    ownTrue = Set(typeOrder)
                } else {
                    written.falseAV = entries
                    written.falseTypes = typeOrder.map { types[$0]! }
                    placed.formUnion(typeOrder)
                }
            }
            placed.formUnion(ownTrue)
            conditionals.append(written)
        }
    }

    /// `(source, target:class)` of a key, for messages.
    func ruleText(_ key: UInt64) -> String {
        "(\(db.types[Int(key >> 32)].name), \(db.types[Int((key >> 16) & 0xFFFF)].name):\(db.classes[Int(key & 0xFFFF) - 1].name))"
    }

    func expressionText(_ expression: [ConditionalNode]) -> String {
        expression.map { node in
            switch node {
            case .bool(let b): db.bools[b].name
            case .not: "!"
            case .and: "&&"
            case .or: "||"
            case .xor: "^"
            case .eq: "=="
            case .neq: "!="
            }
        }.joined(separator: " ")
    }

    // MARK: The file (§3, in order)

    mutating func write() throws(BinaryPolicyWriteError) -> [UInt8] {
        writeHeader()
        if version >= 22 { out.ebitmap(db.policyCapabilities.compactMap { BinaryPolicyReader.capabilityNames.firstIndex(of: $0) }) }
        if version >= 23 { out.ebitmap(db.types.indices.filter { db.types[$0].isPermissive }.map { $0 + 1 }) }
        writeCommons()
        writeClasses()
        writeRoles()
        writeTypes()
        writeUsers()
        if version >= 16 { writeBooleans() }
        if version >= 19 {
            writeSensitivities()
            writeCategories()
        }
        try writeAVTab()
        if version >= 16 { writeConditionals() }
        writeRoleTransitions()
        writeRoleAllows()
        if version >= 25 { writeFilenameTransitions() }
        try writeOContexts()
        try writeGenfs()
        if version >= 19 { writeRangeTransitions() }
        if version >= 20 { writeTypeAttributeMap() }
        return out.bytes
    }

    /// Magic, target string, version, config, table counts (§2).
    mutating func writeHeader() {
        out.u32(BinaryPolicyHeader.magic)
        let target = "SE Linux"
        out.u32(target.utf8.count)
        out.nameBytes(target)
        out.u32(version)
        let handle: UInt32
        switch db.handleUnknown {
        case .deny: handle = 0
        case .reject: handle = 2
        case .allow: handle = 4
        }
        out.u32((mls ? 1 : 0) | handle)
        let counts = BinaryPolicyVersion.tableCounts(version)
        out.u32(counts.symbols)
        out.u32(counts.ocontexts)
    }
}
