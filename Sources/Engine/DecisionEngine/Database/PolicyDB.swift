public import SecurityContexts
public import SELinuxPolicy

/// A compiled policy: symbols resolved to values, rules merged into tables. Immutable once built by
/// ``PolicyCompiler``; the security server adds the boolean-dependent state (``RuleSet``).
///
/// Indices are 0-based here; class values are 1-based (as in the kernel) because they are packed
/// into avtab keys where 0 means "empty".
public struct PolicyDB: Sendable {
    // MARK: Classes and permissions
    /// Classes in declaration order; `classes[v - 1]` has value `v`.
    public internal(set) var classes: [PolicyClass] = []
    /// Class name → 1-based class value.
    public internal(set) var classValues: [String: Int] = [:]
    /// Commons: name → permissions in order.
    public internal(set) var commons: [String: [String]] = [:]

    // MARK: Types, attributes
    /// Types and attributes share one index space, in declaration order.
    public internal(set) var types: [PolicyType] = []
    /// Type, attribute or alias name → type index.
    public internal(set) var typeIndex: [String: Int] = [:]
    /// For each attribute index, the types it contains.
    public internal(set) var attributeMembers: [Int: Bitset] = [:]
    /// For each type index (not attributes): itself followed by its attributes, ascending.
    public internal(set) var typeAttributeMap: [[Int32]] = []

    // MARK: RBAC and users
    /// Roles; index 0 is `object_r`.
    public internal(set) var roles: [PolicyRole] = []
    public internal(set) var roleIndex: [String: Int] = [:]
    /// Role attributes (`attribute_role`): name → member roles.
    public internal(set) var roleAttributes: [String: Bitset] = [:]
    /// `allow r1 r2;` pairs, packed as `r1 << 32 | r2`.
    public internal(set) var roleAllows: Set<UInt64> = []
    /// `role_transition`: (role, type, class) key → new role.
    public internal(set) var roleTransitions: [UInt64: Int] = [:]
    public internal(set) var users: [PolicyUser] = []
    public internal(set) var userIndex: [String: Int] = [:]

    // MARK: Booleans and rules
    public internal(set) var bools: [PolicyBool] = []
    public internal(set) var boolIndex: [String: Int] = [:]
    /// Unconditional AV rules (`allow`, `auditallow`, `dontaudit`, `auditdeny`).
    public internal(set) var avTable = AVTable()
    /// Unconditional type rules, per kind: (source, target, class) key → new type.
    public internal(set) var typeRules: [TransitionKind: [UInt64: Int]] = [.transition: [:], .member: [:], .change: [:]]
    /// `type_transition` with an object name.
    public internal(set) var filenameTransitions: [FilenameTransitionKey: Int] = [:]
    /// `if` statements, in source order.
    public internal(set) var conditionals: [CompiledConditional] = []
    /// `neverallow` rules, kept for reports (they were checked at compile time).
    public internal(set) var neverallowCount = 0

    // MARK: MLS
    /// The MLS vocabulary (sensitivities, categories, levels); `nil` when the policy has no MLS.
    public internal(set) var mls: MLSVocabulary?
    /// `range_transition`: (source, target, class) key → range.
    public internal(set) var rangeTransitions: [UInt64: MLSRange] = [:]

    // MARK: Options and labeling
    public internal(set) var policyCapabilities: [String] = []
    public internal(set) var handleUnknown: HandleUnknown = .deny
    /// Initial SIDs in declaration order with their contexts (if given).
    public internal(set) var initialSIDs: [(name: String, context: SecurityContext?)] = []
    public internal(set) var portcons: [PortContext] = []
    public internal(set) var netifcons: [NetifContext] = []
    public internal(set) var nodecons: [NodeContext] = []
    public internal(set) var genfscons: [(filesystem: String, path: String, fileType: String?, context: SecurityContext)] = []
    public internal(set) var fsUses: [(behavior: String, filesystem: String, context: SecurityContext)] = []
    /// `fscon`: file systems by device number (ocontext 1, Specs/engine/binary-policy.md §3.9).
    public internal(set) var fsContexts: [FSContext] = []
    /// `ibpkeycon` (ocontext 7), in source order.
    public internal(set) var ibpkeyContexts: [IBPKeyContext] = []
    /// `ibendportcon` (ocontext 8), in source order.
    public internal(set) var ibendportContexts: [IBEndportContext] = []
    /// Labeling statements of other platforms (Xen: `pirqcon`, `iomemcon`, `ioportcon`,
    /// `pcidevicecon`, `devicetreecon`), kept as written; a Linux binary policy cannot carry them.
    public internal(set) var otherLabeling: [(keyword: String, tokens: [String])] = []
    /// The number of extended-permission rules (`allowxperm`, `auditallowxperm`,
    /// `dontauditxperm`) or avtab entries. They refine `ioctl` decisions only; the database does not
    /// hold their sets yet (Specs/engine/binary-policy.md §5), so the binary writer refuses a
    /// policy that has any rather than drop them.
    public internal(set) var extendedPermissionRuleCount = 0

    // MARK: Well-known values
    /// Value of class `process` (0 if the policy has none).
    public internal(set) var processClass = 0
    /// Bits of `process { transition dyntransition }`.
    public internal(set) var processTransitionPerms: UInt32 = 0

    public init() {}

    /// Whether the policy declares MLS sensitivities.
    public var mlsEnabled: Bool { mls != nil }

    /// Whether a policy capability is set.
    public func hasCapability(_ name: String) -> Bool { policyCapabilities.contains(name) }

    /// The class with a 1-based value.
    @inline(__always)
    public func objectClass(_ value: Int) -> PolicyClass { classes[value - 1] }

    /// The names of the permissions set in `vector` for a class, in permission order.
    public func permissionNames(_ vector: UInt32, classValue: Int) -> [String] {
        let perms = classes[classValue - 1].permissions
        var out: [String] = []
        var v = vector
        while v != 0 {
            let b = v.trailingZeroBitCount
            if b < perms.count { out.append(perms[b]) }
            v &= v - 1
        }
        return out
    }

    /// The number of types that are not attributes.
    public var typeCount: Int { types.lazy.filter { !$0.isAttribute }.count }
    /// The number of attributes.
    public var attributeCount: Int { types.lazy.filter { $0.isAttribute }.count }
}

/// A class with its permissions (bit `i` is `permissions[i]`), defaults and constraints.
public struct PolicyClass: Sendable {
    public var name: String
    public var value: Int
    /// Permission names: the common's first, then the class's own.
    public var permissions: [String]
    public var permissionBits: [String: Int]
    public var common: String?
    public var defaultUser: DefaultObject?
    public var defaultRole: DefaultObject?
    public var defaultType: DefaultObject?
    public var defaultRange: DefaultRange?
    /// `constrain` and `mlsconstrain` rules, in source order.
    public var constraints: [Constraint]
    /// `validatetrans` and `mlsvalidatetrans` expressions.
    public var validateTrans: [Constraint]
    /// The kernel treats the class as a socket class (`socket` or a name ending in `_socket`).
    public var isSocket: Bool
    /// Whether the class's permissions were defined (`class NAME ...` in the access-vector part).
    public var isDefined: Bool

    /// All permission bits of the class.
    public var allPermissions: UInt32 {
        permissions.count >= 32 ? ~0 : (UInt32(1) << UInt32(permissions.count)) - 1
    }
}

/// A type or an attribute.
public struct PolicyType: Sendable {
    public var name: String
    public var isAttribute: Bool
    public var aliases: [String]
    /// `typebounds`: the bounding type's index.
    public var bounds: Int?
    /// `permissive`: denials for this domain are audited but not enforced.
    public var isPermissive: Bool
    /// `neveraudit`: nothing this domain does is audited.
    public var isNeverAudit: Bool = false
}

/// A role and the types it may have.
public struct PolicyRole: Sendable {
    public var name: String
    public var types: Bitset
    /// The roles it dominates, itself included (role dominance; `r1 dom r2` in constraints).
    public var dominates: Bitset = Bitset()
    /// The bounding role's index (`bounds` in a binary policy, Specs/engine/binary-policy.md
    /// §3.3.4); the policy language has no statement for it, so compiled policies leave it `nil`.
    public var bounds: Int?

    public init(name: String, types: Bitset) {
        self.name = name
        self.types = types
    }
}

/// A user: its roles and (with MLS) its default level and range.
public struct PolicyUser: Sendable {
    public var name: String
    public var roles: Bitset
    public var defaultLevel: MLSLevel?
    public var range: MLSRange?
    /// The bounding user's index (`bounds` in a binary policy, Specs/engine/binary-policy.md
    /// §3.3.6); compiled policies leave it `nil`.
    public var bounds: Int? = nil
}

/// A boolean and its default value.
public struct PolicyBool: Sendable {
    public var name: String
    public var defaultValue: Bool
    public var isTunable: Bool
}

/// A `type_transition` rule with an object name.
public struct FilenameTransitionKey: Sendable, Hashable {
    public var source: Int
    public var target: Int
    public var classValue: Int
    public var name: String
}

/// A constraint: the permissions it restricts and its expression in postfix form, as the kernel
/// stores it.
public struct Constraint: Sendable {
    public var permissions: UInt32
    public var expression: [ConstraintNode]
    public var isMLS: Bool
    public var location: SourceLocation
    /// For each `.names` node on types (by its index in `expression`): the set as written, before
    /// expansion. The binary format keeps it from version 29 (`type_names`,
    /// Specs/engine/binary-policy.md §3.3.3) and tools print it; decisions use the expanded set.
    public var writtenTypeSets: [Int: ConstraintTypeSet] = [:]
}

/// A type set of a constraint as written: `{ a attr -b }`, `*`, `~{ … }` (libsepol's `type_set`).
public struct ConstraintTypeSet: Sendable, Hashable {
    /// The types and attributes listed (type indices; aliases resolved to their type).
    public var included: Bitset
    /// The types and attributes listed with `-`.
    public var excluded: Bitset
    /// `*`.
    public var isAll: Bool
    /// `~`.
    public var isComplement: Bool

    public init(included: Bitset, excluded: Bitset = Bitset(), isAll: Bool = false, isComplement: Bool = false) {
        self.included = included
        self.excluded = excluded
        self.isAll = isAll
        self.isComplement = isComplement
    }
}

/// One node of a postfix constraint expression.
public enum ConstraintNode: Sendable {
    case not, and, or
    /// Compare an attribute of the two (or three) contexts.
    case attribute(ConstraintAttribute, ConstraintOperator)
    /// Compare one context's user, role or type with a set of values.
    case names(ConstraintOperand, ConstraintOperator, Bitset)
}

/// What a `.attribute` node compares.
public enum ConstraintAttribute: Sendable, Hashable {
    case user, role, type
    case l1l2, l1h2, h1l2, h1h2, l1h1, l2h2
}

/// One `if` statement compiled: its expression in postfix form and the rules of each branch.
public struct CompiledConditional: Sendable {
    public var expression: [ConditionalNode]
    public var trueRules: ConditionalRules
    public var falseRules: ConditionalRules
}

/// The rules of one branch of a conditional.
public struct ConditionalRules: Sendable {
    public var av: [(key: UInt64, entry: AVEntry)] = []
    public var typeRules: [(kind: TransitionKind, key: UInt64, newType: Int)] = []
}

/// A postfix boolean expression node.
public enum ConditionalNode: Sendable, Hashable {
    case bool(Int)
    case not, and, or, xor, eq, neq
}

/// `portcon`.
public struct PortContext: Sendable {
    public var `protocol`: String
    public var low: Int
    public var high: Int
    public var context: SecurityContext
}

/// `netifcon`.
public struct NetifContext: Sendable {
    public var interface: String
    public var interfaceContext: SecurityContext
    public var packetContext: SecurityContext
}

/// `fscon`: a file system by device (`%02x:%02x` of major and minor, as checkpolicy names it), the
/// context of the file system and the default context of its files.
public struct FSContext: Sendable, Hashable {
    public var name: String
    public var fileSystemContext: SecurityContext
    public var fileContext: SecurityContext
}

/// `ibpkeycon`: an InfiniBand subnet prefix (the first 8 bytes of an IPv6 address) and a range of
/// partition keys.
public struct IBPKeyContext: Sendable, Hashable {
    /// 8 bytes, network order.
    public var subnetPrefix: [UInt8]
    public var low: Int
    public var high: Int
    public var context: SecurityContext
}

/// `ibendportcon`: an InfiniBand device and port.
public struct IBEndportContext: Sendable, Hashable {
    public var device: String
    public var port: Int
    public var context: SecurityContext
}

/// `nodecon`.
public struct NodeContext: Sendable {
    public var address: NodeAddress
    public var mask: NodeAddress
    public var context: SecurityContext
}
