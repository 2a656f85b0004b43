import SecurityContexts
import SELinuxPolicy

// The symbol tables mapped onto PolicyDB (§5): values renumbered densely through names, gaps
// skipped (§1.3), every reference checked (§4.3).

extension BinaryPolicyReader {
    /// Primary records sorted by value, checked unique and within 1…`valueCount`; names unique.
    /// Inlined so that each table's record type and accessors are specialized.
    @inline(__always)
    func primaries<R>(
        _ table: RawTable<R>, _ section: BinaryPolicySection, isPrimary: (R) -> Bool, value: (R) -> UInt32, name: (R) -> String,
        offset: (R) -> Int
    ) throws(BinaryPolicyError) -> [R] {
        var names = Set<String>(minimumCapacity: table.records.count)
        // Values seen: a bit per value where the value space is small (every table but categories
        // and sensitivities is capped at 65535, §4.3), a set beyond, so memory follows the records.
        var seen = table.valueCount <= 65536 ? [Bool](repeating: false, count: Int(table.valueCount) + 1) : []
        var seenSparse = Set<UInt32>()
        var out: [R] = []
        out.reserveCapacity(table.records.count)
        var inOrder = true
        for r in table.records {
            guard names.insert(name(r)).inserted else { throw error(.duplicate("name \(name(r))"), at: offset(r), in: section) }
            guard isPrimary(r) else { continue }
            let v = value(r)
            guard v >= 1, v <= table.valueCount else { throw error(.indexOutOfRange(what: "\(section) \(name(r))", value: v), at: offset(r), in: section) }
            let fresh: Bool
            if seen.isEmpty {
                fresh = seenSparse.insert(v).inserted
            } else {
                fresh = !seen[Int(v)]
                seen[Int(v)] = true
            }
            guard fresh else { throw error(.duplicate("value \(v) (\(name(r)))"), at: offset(r), in: section) }
            if let last = out.last, value(last) > v { inOrder = false }
            out.append(r)
        }
        return inOrder ? out : out.sorted { value($0) < value($1) }
    }

    mutating func mapSymbols() throws(BinaryPolicyError) {
        try mapClasses()
        try mapMLS()
        try mapTypes()
        try mapRoles()
        try mapUsers()
        try mapBooleans()
        try mapConstraints()
        try mapCapabilitiesAndPermissive()
    }

    // MARK: Commons and classes (§3.3.1, §3.3.2)

    /// Permission names in value order, and each name's bit; the values must be exactly 1…n and
    /// the names unique (§4.3).
    func densePermissions(_ perms: [RawPermission], count: UInt32, owner: @autoclosure () -> String, at offset: Int, in section: BinaryPolicySection)
        throws(BinaryPolicyError) -> (names: [String], bits: [String: Int])
    {
        var slots = Array(repeating: String?.none, count: Int(count))
        var bits: [String: Int] = [:]
        bits.reserveCapacity(perms.count)
        for p in perms {
            guard p.value >= 1, p.value <= count, slots[Int(p.value) - 1] == nil else {
                throw error(.duplicate("permission value \(p.value) in \(owner())"), at: offset, in: section)
            }
            guard bits.updateValue(Int(p.value) - 1, forKey: p.name) == nil else {
                throw error(.duplicate("permission \(p.name) in \(owner())"), at: offset, in: section)
            }
            slots[Int(p.value) - 1] = p.name
        }
        var out: [String] = []
        out.reserveCapacity(slots.count)
        for (i, s) in slots.enumerated() {
            guard let s else { throw error(.invalid("\(owner()) has no permission with value \(i + 1)"), at: offset, in: section) }
            out.append(s)
        }
        return (out, bits)
    }

    mutating func mapClasses() throws(BinaryPolicyError) {
        var commonPerms: [String: [RawPermission]] = [:]
        for cm in try primaries(commons, .commons, isPrimary: { _ in true }, value: \.value, name: \.name, offset: \.offset) {
            let perms = try densePermissions(cm.permissions, count: UInt32(cm.permissions.count), owner: "common \(cm.name)", at: cm.offset, in: .commons)
            db.commons[cm.name] = perms.names
            commonPerms[cm.name] = cm.permissions
        }
        let sorted = try primaries(classes, .classes, isPrimary: { _ in true }, value: \.value, name: \.name, offset: \.offset)
        // PolicyDB.classes is indexed by class value: no gap (§4.3).
        guard sorted.count == Int(classes.valueCount) else {
            throw error(.invalid("\(sorted.count) classes for \(classes.valueCount) values (gaps are not read)"), at: classes.offset, in: .classes)
        }
        for cls in sorted {
            var perms = cls.permissions
            if let common = cls.common {
                guard let inherited = commonPerms[common] else {
                    throw error(.invalid("class \(cls.name): unknown common \(common)"), at: cls.offset, in: .classes)
                }
                perms = inherited + perms
            }
            let (names, bits) = try densePermissions(perms, count: cls.permissionCount, owner: "class \(cls.name)", at: cls.offset, in: .classes)
            func object(_ v: UInt32) -> DefaultObject? { v == 1 ? .source : v == 2 ? .target : nil }
            let ranges: [DefaultRange?] = [nil, .sourceLow, .sourceHigh, .sourceLowHigh, .targetLow, .targetHigh, .targetLowHigh, .glblub]
            if cls.defaults.range != 0 && !header.mls {
                throw error(.invalid("class \(cls.name): default_range in a policy without MLS"), at: cls.offset, in: .classes)
            }
            db.classes.append(
                PolicyClass(
                    name: cls.name, value: Int(cls.value), permissions: names,
                    permissionBits: bits, common: cls.common,
                    defaultUser: object(cls.defaults.user), defaultRole: object(cls.defaults.role), defaultType: object(cls.defaults.type),
                    defaultRange: ranges[Int(cls.defaults.range)], constraints: [], validateTrans: [],
                    isSocket: cls.name == "socket" || cls.name.hasSuffix("_socket"), isDefined: true))
            db.classValues[cls.name] = Int(cls.value)
        }
        // The kernel and the engine need `process` with `transition` and `dyntransition` (§4.3).
        guard let process = db.classValues["process"] else {
            throw error(.invalid("the policy has no class process"), at: classes.offset, in: .classes)
        }
        let bits = db.classes[process - 1].permissionBits
        guard let t = bits["transition"], let d = bits["dyntransition"] else {
            throw error(.invalid("class process lacks transition or dyntransition"), at: classes.offset, in: .classes)
        }
        db.processClass = process
        db.processTransitionPerms = 1 << UInt32(t) | 1 << UInt32(d)
    }

    // MARK: MLS (§3.3.8, §3.3.9)

    mutating func mapMLS() throws(BinaryPolicyError) {
        guard header.mls else {
            guard sensitivities.records.isEmpty, categories.records.isEmpty, sensitivities.valueCount == 0, categories.valueCount == 0 else {
                throw error(.invalid("sensitivities or categories in a policy without MLS"), at: sensitivities.offset, in: .sensitivities)
            }
            return
        }
        let cats = try primaries(categories, .categories, isPrimary: { !$0.isAlias }, value: \.value, name: \.name, offset: \.offset)
        var catDecls: [MLSVocabulary.Category] = []
        categoryOf = ValueMap(valueCount: categories.valueCount)
        sensitivityOf = ValueMap(valueCount: sensitivities.valueCount)
        for (i, cat) in cats.enumerated() {
            categoryOf[cat.value] = i
            catDecls.append(.init(cat.name))
        }
        for cat in categories.records where cat.isAlias {
            guard let i = categoryOf[cat.value] else {
                throw error(.indexOutOfRange(what: "category alias \(cat.name)", value: cat.value), at: cat.offset, in: .categories)
            }
            catDecls[i].aliases.append(cat.name)
        }
        let sens = try primaries(
            sensitivities, .sensitivities, isPrimary: { !$0.isAlias }, value: \.level.sensitivity, name: \.name, offset: \.offset)
        guard !sens.isEmpty else { throw error(.invalid("an MLS policy without sensitivities"), at: sensitivities.offset, in: .sensitivities) }
        var sensDecls: [MLSVocabulary.Sensitivity] = []
        for (i, s) in sens.enumerated() {
            sensitivityOf[s.level.sensitivity] = i
            sensDecls.append(.init(s.name))
        }
        for s in sensitivities.records where s.isAlias {
            guard let i = sensitivityOf[s.level.sensitivity] else {
                throw error(.indexOutOfRange(what: "sensitivity alias \(s.name)", value: s.level.sensitivity), at: s.offset, in: .sensitivities)
            }
            sensDecls[i].aliases.append(s.name)
        }
        var allowed: [CategorySet] = []
        for s in sens { allowed.append(try level(s.level, section: .sensitivities).categories) }
        do {
            db.mls = try MLSVocabulary(sensitivities: sensDecls, categories: catDecls, allowedCategories: allowed)
        } catch {
            throw self.error(.invalid(error.description), at: sensitivities.offset, in: .sensitivities)
        }
    }

    // MARK: Types (§3.3.5)

    mutating func mapTypes() throws(BinaryPolicyError) {
        let prims = try primaries(types, .types, isPrimary: \.isPrimary, value: \.value, name: \.name, offset: \.offset)
        // Versions 20–23 leave attributes unnamed: their values are gaps that the avtab and the
        // type-attribute map refer to. They are read as attributes with synthetic names (§3.3.5).
        let unnamedAttributes = version >= 20 && version < 24
        typeOf = ValueMap(valueCount: types.valueCount)
        db.types.reserveCapacity(Int(types.valueCount))
        typeOffsets.reserveCapacity(Int(types.valueCount))
        db.typeIndex.reserveCapacity(types.records.count)
        func append(_ t: RawType) {
            typeOf[t.value] = db.types.count
            typeOffsets.append(t.offset)
            db.types.append(PolicyType(name: t.name, isAttribute: t.isAttribute, aliases: [], bounds: nil, isPermissive: false))
            db.typeIndex[t.name] = db.types.count - 1
        }
        if unnamedAttributes {
            // The names in use, to keep synthetic names apart from them.
            var names = Set(types.records.map(\.name))
            var next = 0
            for v in 1..<types.valueCount + 1 {
                if next < prims.count, prims[next].value == v {
                    append(prims[next])
                    next += 1
                    continue
                }
                var name = "attribute_\(v)"
                while names.contains(name) { name += "_" }
                names.insert(name)
                typeOf[v] = db.types.count
                typeOffsets.append(types.offset)
                db.types.append(PolicyType(name: name, isAttribute: true, aliases: [], bounds: nil, isPermissive: false))
                db.typeIndex[name] = typeOf[v]
            }
        } else {
            for t in prims { append(t) }
        }
        for t in types.records where !t.isPrimary {
            guard let i = typeOf[t.value], !db.types[i].isAttribute else {
                throw error(.indexOutOfRange(what: "alias \(t.name) of type", value: t.value), at: t.offset, in: .types)
            }
            guard t.bounds == 0 else { throw error(.invalid("alias \(t.name) has bounds"), at: t.offset, in: .types) }
            db.types[i].aliases.append(t.name)
            db.typeIndex[t.name] = i
        }
        for t in prims where t.bounds != 0 {
            let i = typeOf[t.value]!
            guard let b = typeOf[t.bounds] else { throw error(.indexOutOfRange(what: "bounds of \(t.name)", value: t.bounds), at: t.offset, in: .types) }
            guard !db.types[i].isAttribute, !db.types[b].isAttribute else {
                throw error(.boundsCycle("\(t.name) and its bound must be types, not attributes"), at: t.offset, in: .types)
            }
            db.types[i].bounds = b
        }
        // Below version 20 there is no map: each type is its own only attribute (§3.12).
        db.typeAttributeMap = db.types.indices.map { db.types[$0].isAttribute ? [] : [Int32($0)] }
        for i in db.types.indices where db.types[i].isAttribute { db.attributeMembers[i] = Bitset() }
    }

    // MARK: Roles (§3.3.4)

    mutating func mapRoles() throws(BinaryPolicyError) {
        let prims = try primaries(roles, .roles, isPrimary: { _ in true }, value: \.value, name: \.name, offset: \.offset)
        guard let first = prims.first, first.value == 1, first.name == "object_r" else {
            throw error(.invalid("role object_r must have value 1"), at: prims.first?.offset ?? roles.offset, in: .roles)
        }
        roleOf = ValueMap(valueCount: roles.valueCount)
        for (i, r) in prims.enumerated() {
            roleOf[r.value] = i
            roleOffsets.append(r.offset)
            db.roles.append(PolicyRole(name: r.name, types: Bitset()))
            db.roleIndex[r.name] = i
        }
        // object_r keeps empty sets, as libsepol and the kernel keep their own (§3.3.4).
        for (i, r) in prims.enumerated() where i != 0 {
            db.roles[i].types = try mapped(r.types, typeOf, what: "type of role \(r.name)", section: .roles)
            db.roles[i].dominates = try mapped(r.dominates, roleOf, what: "role dominated by \(r.name)", section: .roles)
            if r.bounds != 0 {
                guard let b = roleOf[r.bounds], b != 0 else {
                    throw error(.indexOutOfRange(what: "bounds of role \(r.name)", value: r.bounds), at: r.offset, in: .roles)
                }
                db.roles[i].bounds = b
            }
        }
    }

    // MARK: Users (§3.3.6)

    mutating func mapUsers() throws(BinaryPolicyError) {
        let prims = try primaries(users, .users, isPrimary: { _ in true }, value: \.value, name: \.name, offset: \.offset)
        userOf = ValueMap(valueCount: users.valueCount)
        for (i, u) in prims.enumerated() {
            userOf[u.value] = i
            userOffsets.append(u.offset)
        }
        for u in prims {
            var user = PolicyUser(name: u.name, roles: try mapped(u.roles, roleOf, what: "role of user \(u.name)", section: .users))
            if let raw = u.range, let rawLevel = u.defaultLevel {
                user.range = try range(raw, section: .users)
                if let mls = db.mls {
                    let l = try level(rawLevel, section: .users)
                    guard mls.isValid(l), user.range!.contains(l) else {
                        throw error(.invalid("default level of user \(u.name) is not within its range"), at: rawLevel.offset, in: .users)
                    }
                    user.defaultLevel = l
                } else {
                    try placeholder(rawLevel, section: .users)
                }
            } else if db.mls != nil {
                throw error(.invalid("user \(u.name) has no range"), at: u.offset, in: .users)
            }
            if u.bounds != 0 {
                guard let b = userOf[u.bounds] else {
                    throw error(.indexOutOfRange(what: "bounds of user \(u.name)", value: u.bounds), at: u.offset, in: .users)
                }
                user.bounds = b
            }
            db.userIndex[u.name] = db.users.count
            db.users.append(user)
        }
    }

    // MARK: Booleans (§3.3.7)

    mutating func mapBooleans() throws(BinaryPolicyError) {
        boolOf = ValueMap(valueCount: bools.valueCount)
        for (i, b) in try primaries(bools, .booleans, isPrimary: { _ in true }, value: \.value, name: \.name, offset: \.offset).enumerated() {
            boolOf[b.value] = i
            db.boolIndex[b.name] = i
            db.bools.append(PolicyBool(name: b.name, defaultValue: b.state, isTunable: false))
        }
    }

    // MARK: Constraints (§3.3.3)

    mutating func mapConstraints() throws(BinaryPolicyError) {
        for cls in classes.records {
            let v = Int(cls.value)
            db.classes[v - 1].constraints = try cls.constraints.map { (k) throws(BinaryPolicyError) in try constraint(k, of: cls) }
            db.classes[v - 1].validateTrans = try cls.validateTrans.map { (k) throws(BinaryPolicyError) in try constraint(k, of: cls) }
        }
    }

    func constraint(_ raw: RawConstraint, of cls: RawClass) throws(BinaryPolicyError) -> Constraint {
        let all: UInt32 = cls.permissionCount >= 32 ? ~0 : (1 << cls.permissionCount) - 1
        guard raw.permissions & ~all == 0 else {
            throw error(
                .invalid("constraint on class \(cls.name) names permission bits 0x\(String(raw.permissions & ~all, radix: 16)) it lacks"), at: raw.offset,
                in: .classes)
        }
        var nodes: [ConstraintNode] = []
        var written: [Int: ConstraintTypeSet] = [:]
        var isMLS = false
        let ops: [ConstraintOperator] = [.eq, .neq, .dom, .domby, .incomp]
        for n in raw.nodes {
            switch n.exprType {
            case 1: nodes.append(.not)
            case 2: nodes.append(.and)
            case 3: nodes.append(.or)
            case 4:
                let attribute: ConstraintAttribute
                switch n.attr {
                case 1: attribute = .user
                case 2: attribute = .role
                case 4: attribute = .type
                case 32: attribute = .l1l2
                case 64: attribute = .l1h2
                case 128: attribute = .h1l2
                case 256: attribute = .h1h2
                case 512: attribute = .l1h1
                default: attribute = .l2h2
                }
                if n.attr >= 32 {
                    guard header.mls else { throw error(.invalid("an MLS constraint in a policy without MLS"), at: n.offset, in: .classes) }
                    isMLS = true
                }
                nodes.append(.attribute(attribute, ops[Int(n.op) - 1]))
            default:
                let base = n.attr & 7, which = n.attr & 24
                let operands: [ConstraintOperand]
                let set: Bitset
                switch base {
                case 1:
                    operands = [.u1, .u2, .u3]
                    set = try mapped(n.names!, userOf, what: "user in a constraint", section: .classes)
                case 2:
                    operands = [.r1, .r2, .r3]
                    set = try mapped(n.names!, roleOf, what: "role in a constraint", section: .classes)
                default:
                    operands = [.t1, .t2, .t3]
                    set = try mapped(n.names!, typeOf, what: "type in a constraint", section: .classes)
                    if let w = n.typeNames {
                        written[nodes.count] = ConstraintTypeSet(
                            included: try mapped(w.types, typeOf, what: "type in a constraint's type set", section: .classes),
                            excluded: try mapped(w.negset, typeOf, what: "type in a constraint's type set", section: .classes),
                            isAll: w.flags & 1 != 0, isComplement: w.flags & 2 != 0)
                    }
                }
                nodes.append(.names(operands[which == 0 ? 0 : which == 8 ? 1 : 2], ops[Int(n.op) - 1], set))
            }
        }
        return Constraint(
            permissions: raw.permissions, expression: nodes, isMLS: isMLS, location: SourceLocation(file: "binary policy", line: 0, column: 0),
            writtenTypeSets: written)
    }

    // MARK: Capabilities and permissive (§3.1, §3.2)

    /// Capability numbers, as the kernel numbers them (§3.1); only those the compiler knows.
    static let capabilityNames = [
        "network_peer_controls", "open_perms", "extended_socket_class", "always_check_network",
        "cgroup_seclabel", "nnp_nosuid_transition", "genfs_seclabel_symlinks", "ioctl_skip_cloexec",
        "userspace_initial_context", "netlink_xperm", "netif_wildcard", "genfs_seclabel_wildcard",
        "functionfs_seclabel", "memfd_class",
    ]

    mutating func mapCapabilitiesAndPermissive() throws(BinaryPolicyError) {
        for bit in capabilities.bits {
            guard bit < Self.capabilityNames.count else {
                throw error(
                    .indexOutOfRange(what: "policy capability", value: UInt32(truncatingIfNeeded: bit)), at: capabilities.offset, in: .policyCapabilities)
            }
            db.policyCapabilities.append(Self.capabilityNames[bit])
        }
        // Bit = type value, not value − 1 (§1.4).
        try permissive.forEachBit { (bit) throws(BinaryPolicyError) in
            guard bit < Int(UInt32.max), let t = typeOf[UInt32(bit)], !db.types[t].isAttribute else {
                throw error(.indexOutOfRange(what: "permissive type", value: UInt32(truncatingIfNeeded: bit)), at: permissive.offset, in: .permissiveMap)
            }
            db.types[t].isPermissive = true
        }
    }
}
