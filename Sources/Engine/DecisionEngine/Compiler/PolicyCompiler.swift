public import SELinuxPolicy
import SecurityContexts

/// Compiles a parsed policy (`PolicySource` (SELinuxPolicy)) into a ``PolicyDB``, as checkpolicy compiles
/// `policy.conf` into a kernel policy: symbols are declared first (in any order), then rules are
/// resolved against them. Any error rejects the whole policy; nothing partial is returned.
///
/// The meaning of each statement is written down in `Specs/engine/policy-language.md`.
public struct PolicyCompiler {
    var db = PolicyDB()
    /// Statements held back for the second pass, with the conditional they belong to.
    private var deferred: [PolicyStatement] = []
    var neverallows: [PolicyStatement] = []
    /// The identity of each entry of `db.conditionals`, to merge the `if`s libsepol merges.
    var conditionalIdentities: [ConditionalIdentity] = []
    /// Where each bounded type's `typebounds` statement is.
    var boundsLocations: [Int: SourceLocation] = [:]

    /// Compiles a parsed policy.
    public static func compile(_ source: PolicySource) throws(PolicyError) -> PolicyDB {
        var compiler = PolicyCompiler()
        try compiler.declare(source.statements)
        try compiler.finishDeclarations()
        try compiler.resolve()
        try compiler.checkNeverallows()
        try compiler.checkTypeBounds()
        try compiler.checkLoadable()
        return compiler.db
    }

    /// Parses and compiles policy text.
    public static func compile(text: String, file: String) throws(PolicyError) -> PolicyDB {
        try compile(PolicyParser.parse(text, file: file))
    }

    /// Parses and compiles policy bytes.
    public static func compile(bytes: [UInt8], file: String) throws(PolicyError) -> PolicyDB {
        try compile(PolicyParser.parse(bytes, file: file))
    }

    // MARK: - Pass 1: declarations

    private var classPermissionStatements: [PolicyStatement] = []
    private var mlsStatements: [PolicyStatement] = []
    private var typeAttributeLinks: [(type: Int, attribute: Int)] = []

    mutating func declare(_ statements: [PolicyStatement]) throws(PolicyError) {
        db.roles = [PolicyRole(name: "object_r", types: Bitset())]
        db.roleIndex["object_r"] = 0
        for st in statements {
            let loc = st.location
            switch st.kind {
            case .classDeclaration(let name):
                guard db.classValues[name] == nil else { throw PolicyError("duplicate declaration of class \(name)", at: loc) }
                let value = db.classes.count + 1
                guard value <= Int(UInt16.max) else { throw PolicyError("too many classes", at: loc) }
                db.classes.append(
                    PolicyClass(
                        name: name, value: value, permissions: [], permissionBits: [:], common: nil,
                        constraints: [], validateTrans: [], isSocket: name == "socket" || name.hasSuffix("_socket"),
                        isDefined: false))
                db.classValues[name] = value
            case .initialSIDDeclaration(let name):
                guard !db.initialSIDs.contains(where: { $0.name == name }) else {
                    throw PolicyError("duplicate declaration of initial SID \(name)", at: loc)
                }
                db.initialSIDs.append((name, nil))
            case .common(let name, let perms):
                guard db.commons[name] == nil else { throw PolicyError("duplicate declaration of common \(name)", at: loc) }
                try checkUnique(perms, what: "permission", in: "common \(name)", at: loc)
                guard perms.count <= 32 else { throw PolicyError("common \(name) has \(perms.count) permissions; at most 32", at: loc) }
                db.commons[name] = perms
            case .classPermissions:
                classPermissionStatements.append(st)
            case .sensitivity, .dominance, .category, .level:
                mlsStatements.append(st)
            case .policyCapability(let name):
                guard PolicyCompiler.knownCapabilities.contains(name) else {
                    throw PolicyError("unknown policy capability \(name)", at: loc)
                }
                if !db.policyCapabilities.contains(name) { db.policyCapabilities.append(name) }
            case .handleUnknown(let h):
                db.handleUnknown = h
            case .attribute(let name):
                try declareType(name, isAttribute: true, at: loc)
            case .type(let name, let aliases, let attributes):
                let t = try declareType(name, isAttribute: false, at: loc)
                for a in aliases { try declareAlias(a, of: t, at: loc) }
                deferred.append(PolicyStatement(.typeAttribute(type: name, attributes: attributes), at: loc))
            case .typeAlias(let name, let aliases):
                deferred.append(PolicyStatement(.typeAlias(name: name, aliases: aliases), at: loc))
            case .bool(let name, let value, let isTunable):
                guard db.boolIndex[name] == nil else { throw PolicyError("duplicate declaration of boolean \(name)", at: loc) }
                db.boolIndex[name] = db.bools.count
                db.bools.append(PolicyBool(name: name, defaultValue: value, isTunable: isTunable))
            case .role(let name, let types):
                if db.roleAttributes[name] == nil || types == nil { try declareRole(name, at: loc) }
                deferred.append(st)
            case .roleWithAttributes(let name, _):
                try declareRole(name, at: loc)
                deferred.append(st)
            case .attributeRole(let name):
                guard db.roleIndex[name] == nil, db.roleAttributes[name] == nil else {
                    throw PolicyError("duplicate declaration of role attribute \(name)", at: loc)
                }
                db.roleAttributes[name] = Bitset()
            case .roleDominance(let roots):
                func declareTree(_ node: RoleDominance) throws(PolicyError) {
                    try declareRole(node.role, at: loc)
                    for child in node.dominates { try declareTree(child) }
                }
                for root in roots { try declareTree(root) }
                deferred.append(st)
            case .user(let name, _, _, _):
                guard db.userIndex[name] == nil else { throw PolicyError("duplicate declaration of user \(name)", at: loc) }
                db.userIndex[name] = db.users.count
                db.users.append(PolicyUser(name: name, roles: Bitset()))
                deferred.append(st)
            case .avRule(.neverallow, _, _, _, _):
                neverallows.append(st)
            default:
                deferred.append(st)
            }
        }
    }

    /// Completes what pass 1 needs before rules: class permissions, MLS, aliases, attribute maps.
    mutating func finishDeclarations() throws(PolicyError) {
        for st in classPermissionStatements {
            guard case .classPermissions(let name, let inherits, let own) = st.kind else { continue }
            guard let value = db.classValues[name] else {
                throw PolicyError("class \(name) is not declared (add `class \(name)` to the class declarations)", at: st.location)
            }
            var cls = db.classes[value - 1]
            guard !cls.isDefined else { throw PolicyError("permissions of class \(name) defined twice", at: st.location) }
            var perms: [String] = []
            if let inherits {
                guard let common = db.commons[inherits] else { throw PolicyError("unknown common \(inherits)", at: st.location) }
                perms = common
                cls.common = inherits
            }
            for p in own {
                if perms.contains(p) {
                    throw PolicyError("permission \(p) of class \(name) is already defined\(inherits.map { " by common \($0)" } ?? "")", at: st.location)
                }
                perms.append(p)
            }
            guard perms.count <= 32 else { throw PolicyError("class \(name) has \(perms.count) permissions; at most 32", at: st.location) }
            cls.permissions = perms
            cls.permissionBits = Dictionary(uniqueKeysWithValues: perms.enumerated().map { ($1, $0) })
            cls.isDefined = true
            db.classes[value - 1] = cls
        }
        for cls in db.classes where !cls.isDefined {
            throw PolicyError("class \(cls.name) is declared but its permissions are never defined")
        }
        if let process = db.classValues["process"] {
            db.processClass = process
            let cls = db.classes[process - 1]
            for p in ["transition", "dyntransition"] {
                if let b = cls.permissionBits[p] { db.processTransitionPerms |= 1 << UInt32(b) }
            }
        }
        try compileMLSDeclarations(mlsStatements)

        // Aliases and attribute membership need every type declared.
        var rest: [PolicyStatement] = []
        for st in deferred {
            switch st.kind {
            case .typeAlias(let name, let aliases):
                let t = try typeValue(name, at: st.location, allowAttribute: false)
                for a in aliases { try declareAlias(a, of: t, at: st.location) }
            case .typeAttribute(let name, let attributes):
                let t = try typeValue(name, at: st.location, allowAttribute: false)
                for a in attributes {
                    guard let av = db.typeIndex[a] else { throw PolicyError("unknown attribute \(a)", at: st.location) }
                    guard db.types[av].isAttribute else { throw PolicyError("\(a) is a type, not an attribute", at: st.location) }
                    typeAttributeLinks.append((t, av))
                }
            default:
                rest.append(st)
            }
        }
        deferred = rest
        var map = db.types.indices.map { db.types[$0].isAttribute ? [] : [Int32($0)] }
        for (t, a) in typeAttributeLinks {
            db.attributeMembers[a, default: Bitset()].insert(t)
            if !map[t].contains(Int32(a)) { map[t].append(Int32(a)) }
        }
        for i in map.indices { map[i].sort() }
        db.typeAttributeMap = map
        for (i, t) in db.types.enumerated() where t.isAttribute && db.attributeMembers[i] == nil {
            db.attributeMembers[i] = Bitset()
        }
    }

    // MARK: - Pass 2: rules

    mutating func resolve() throws(PolicyError) {
        var userStatements: [PolicyStatement] = []
        // Role attributes, then role types (an attribute's types go to its members), then role
        // dominance (a role has the types of the roles it dominates): users refer to all of it.
        for st in deferred {
            switch st.kind {
            case .roleWithAttributes(let name, let attributes):
                for a in attributes { try addRole(name, toAttribute: a, at: st.location) }
            case .roleAttribute(let role, let attributes):
                for a in attributes { try addRole(role, toAttribute: a, at: st.location) }
            default: break
            }
        }
        // Every declared role dominates itself; object_r, which the policy does not declare,
        // dominates nothing (checkpolicy writes its dominance bitmap empty, and the kernel reads it).
        for i in db.roles.indices where i != 0 { db.roles[i].dominates = Bitset([i]) }
        for st in deferred {
            if case .role(let name, let types) = st.kind, let types {
                let set = try concreteTypes(types, at: st.location)
                for r in try roleValues(.single(name), at: st.location) { db.roles[r].types.formUnion(set) }
            }
        }
        for st in deferred {
            if case .roleDominance(let roots) = st.kind {
                for root in roots { _ = compileDominance(root) }
            }
        }
        for st in deferred {
            let loc = st.location
            switch st.kind {
            case .role, .roleWithAttributes, .roleAttribute, .roleDominance: break
            case .user: userStatements.append(st)
            case .neverAudit(let name):
                let t = try typeValue(name, at: loc, allowAttribute: false)
                db.types[t].isNeverAudit = true
            case .expandAttribute(let attributes, _):
                for a in attributes {
                    guard let v = db.typeIndex[a], db.types[v].isAttribute else { throw PolicyError("unknown attribute \(a)", at: loc) }
                }
            case .typeBounds(let bounding, let bounded):
                let b = try typeValue(bounding, at: loc, allowAttribute: false)
                for name in bounded {
                    let t = try typeValue(name, at: loc, allowAttribute: false)
                    if let existing = db.types[t].bounds, existing != b {
                        throw PolicyError("type \(name) is already bounded by \(db.types[existing].name)", at: loc)
                    }
                    guard t != b else { throw PolicyError("type \(name) cannot bound itself", at: loc) }
                    db.types[t].bounds = b
                    boundsLocations[t] = loc
                }
            case .permissive(let name):
                let t = try typeValue(name, at: loc, allowAttribute: false)
                db.types[t].isPermissive = true
            case .avRule, .typeRule, .extendedPermissionRule:
                var rules = ConditionalRules()
                try compileTERule(st, into: &rules, conditional: false)
            case .conditional(let expr, let thenBranch, let elseBranch):
                try compileConditional(expr, thenBranch, elseBranch, at: loc)
            case .rangeTransition(let sources, let targets, let classes, let range):
                try compileRangeTransition(sources, targets, classes, range, at: loc)
            case .roleAllow(let from, let to):
                for r1 in try roleValues(from, at: loc) { for r2 in try roleValues(to, at: loc) { db.roleAllows.insert(UInt64(r1) << 32 | UInt64(r2)) } }
            case .roleTransition(let roles, let types, let classes, let newRole):
                guard let nr = db.roleIndex[newRole] else { throw PolicyError("unknown role \(newRole)", at: loc) }
                let cls = try classValueList(classes ?? .single("process"), at: loc)
                let ts = try concreteTypes(types, at: loc).members
                for r in try roleValues(roles, at: loc) {
                    for t in ts {
                        for c in cls {
                            let key = AVTable.key(source: r, target: t, classValue: c)
                            if let old = db.roleTransitions[key] {
                                throw PolicyError(
                                    "duplicate role_transition for \(db.roles[r].name) \(db.types[t].name):\(db.classes[c - 1].name): \(db.roles[old].name) and \(newRole)",
                                    at: loc)
                            }
                            db.roleTransitions[key] = nr
                        }
                    }
                }
            case .constrain(let classes, let perms, let expr):
                try compileConstraint(classes: classes, permissions: perms, expr, isMLS: false, at: loc)
            case .mlsConstrain(let classes, let perms, let expr):
                guard db.mlsEnabled else { throw PolicyError("mlsconstrain in a policy without MLS", at: loc) }
                try compileConstraint(classes: classes, permissions: perms, expr, isMLS: true, at: loc)
            case .validateTrans(let classes, let expr):
                try compileValidateTrans(classes: classes, expr, isMLS: false, at: loc)
            case .mlsValidateTrans(let classes, let expr):
                guard db.mlsEnabled else { throw PolicyError("mlsvalidatetrans in a policy without MLS", at: loc) }
                try compileValidateTrans(classes: classes, expr, isMLS: true, at: loc)
            case .defaultUser(let classes, let d):
                for c in try classValueList(NameSet(included: classes), at: loc) {
                    try setDefault(c, "default_user", &db.classes[c - 1].defaultUser, d, at: loc)
                }
            case .defaultRole(let classes, let d):
                for c in try classValueList(NameSet(included: classes), at: loc) {
                    try setDefault(c, "default_role", &db.classes[c - 1].defaultRole, d, at: loc)
                }
            case .defaultType(let classes, let d):
                for c in try classValueList(NameSet(included: classes), at: loc) {
                    try setDefault(c, "default_type", &db.classes[c - 1].defaultType, d, at: loc)
                }
            case .defaultRange(let classes, let d):
                guard db.mlsEnabled else { throw PolicyError("default_range in a policy without MLS", at: loc) }
                for c in try classValueList(NameSet(included: classes), at: loc) {
                    try setDefault(c, "default_range", &db.classes[c - 1].defaultRange, d, at: loc)
                }
            case .initialSIDContext, .portcon, .netifcon, .nodecon, .genfscon, .fsUse, .fscon, .ibpkeycon, .ibendportcon, .otherLabeling:
                break  // after users: contexts are validated against them
            default:
                throw PolicyError("statement not allowed here", at: loc)
            }
        }
        for st in userStatements { try compileUser(st) }
        for st in deferred { try compileLabeling(st) }
    }

    private func setDefault<T: Equatable>(_ c: Int, _ what: String, _ slot: inout T?, _ value: T, at loc: SourceLocation) throws(PolicyError) {
        if let old = slot, old != value {
            throw PolicyError("\(what) for class \(db.classes[c - 1].name) is already set", at: loc)
        }
        slot = value
    }

    /// What the kernel (and libsepol) refuse when they read a binary policy, although checkpolicy
    /// writes it: an empty unconditional rule table (`avtab_read`: "table is empty").
    func checkLoadable() throws(PolicyError) {
        let typeRuleCount = db.typeRules.values.reduce(0) { $0 + $1.count }
        if db.avTable.count + typeRuleCount == 0 {
            throw PolicyError("the policy has no unconditional allow, auditallow, dontaudit or type rule; the kernel refuses to load an empty rule table")
        }
    }

    // MARK: - Roles

    private mutating func declareRole(_ name: String, at loc: SourceLocation) throws(PolicyError) {
        guard db.roleAttributes[name] == nil else { throw PolicyError("duplicate declaration of role \(name): it is a role attribute", at: loc) }
        if db.roleIndex[name] == nil {
            db.roleIndex[name] = db.roles.count
            db.roles.append(PolicyRole(name: name, types: Bitset()))
        }
    }

    private mutating func addRole(_ role: String, toAttribute attribute: String, at loc: SourceLocation) throws(PolicyError) {
        guard let r = db.roleIndex[role] else { throw PolicyError("unknown role \(role)", at: loc) }
        guard db.roleAttributes[attribute] != nil else { throw PolicyError("unknown role attribute \(attribute)", at: loc) }
        db.roleAttributes[attribute]!.insert(r)
    }

    /// Gives a role of a dominance tree the roles (and their types) it dominates, recursively;
    /// returns the role's value.
    private mutating func compileDominance(_ node: RoleDominance) -> Int {
        let r = db.roleIndex[node.role]!
        for child in node.dominates {
            let c = compileDominance(child)
            db.roles[r].dominates.formUnion(db.roles[c].dominates)
            db.roles[r].types.formUnion(db.roles[c].types)
        }
        return r
    }

    // MARK: - Symbols

    @discardableResult
    private mutating func declareType(_ name: String, isAttribute: Bool, at loc: SourceLocation) throws(PolicyError) -> Int {
        guard name != "self" else { throw PolicyError("self is reserved and cannot be declared", at: loc) }
        guard db.typeIndex[name] == nil else {
            throw PolicyError("duplicate declaration of \(isAttribute ? "attribute" : "type") \(name)", at: loc)
        }
        let v = db.types.count
        guard v < Int(UInt16.max) - 1 else { throw PolicyError("too many types", at: loc) }
        db.types.append(PolicyType(name: name, isAttribute: isAttribute, aliases: [], bounds: nil, isPermissive: false))
        db.typeIndex[name] = v
        return v
    }

    private mutating func declareAlias(_ alias: String, of t: Int, at loc: SourceLocation) throws(PolicyError) {
        guard db.typeIndex[alias] == nil else { throw PolicyError("duplicate declaration of type alias \(alias)", at: loc) }
        db.typeIndex[alias] = t
        db.types[t].aliases.append(alias)
    }

    func typeValue(_ name: String, at loc: SourceLocation, allowAttribute: Bool) throws(PolicyError) -> Int {
        guard let v = db.typeIndex[name] else { throw PolicyError("unknown type \(name)", at: loc) }
        if !allowAttribute && db.types[v].isAttribute { throw PolicyError("\(name) is an attribute, not a type", at: loc) }
        return v
    }

    private func checkUnique(_ names: [String], what: String, in context: String, at loc: SourceLocation) throws(PolicyError) {
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted { throw PolicyError("duplicate \(what) \(n) in \(context)", at: loc) }
    }

    /// The policy capabilities the kernel knows (security/selinux/include/policycap_names.h), the
    /// names a `policycap` statement may give.
    public static let knownCapabilities = Set(BinaryPolicyReader.capabilityNames)
}
