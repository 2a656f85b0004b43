// The syntax tree of the kernel policy language (the `policy.conf` language that checkpolicy
// compiles, and that `checkpolicy -b -F` writes back from a binary policy).
//
// The parser produces one `PolicyStatement` per statement, in source order, each with the location
// of its first token. Names are kept as written; the compiler (`PolicyCompiler`) resolves them.
// Specs/engine/policy-language.md lists every statement with its grammar and meaning.

public import SecurityContexts

/// A position in a policy source: file name, 1-based line and 1-based column (in bytes).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A parsed policy: the statements in source order.
public struct PolicySource: Sendable {
    public var statements: [PolicyStatement]

    public init(statements: [PolicyStatement]) {
        self.statements = statements
    }
}

/// One statement and where it starts.
public struct PolicyStatement: Sendable {
    public var kind: StatementKind
    public var location: SourceLocation

    public init(_ kind: StatementKind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }
}

/// A set of names as the language writes it: `a`, `{ a b -c }`, `*`, `~a`, `~{ a b }`.
///
/// `self` may appear among the included names of a target set; it is kept as the name `"self"`.
public struct NameSet: Sendable, Hashable {
    /// Names listed without `-`.
    public var included: [String]
    /// Names listed with a leading `-` (removed after the included names are expanded).
    public var excluded: [String]
    /// `*`: every name of the kind (for types: every type, not attributes).
    public var isAll: Bool
    /// `~`: the complement of the set that follows.
    public var isComplement: Bool

    public init(included: [String] = [], excluded: [String] = [], isAll: Bool = false, isComplement: Bool = false) {
        self.included = included
        self.excluded = excluded
        self.isAll = isAll
        self.isComplement = isComplement
    }

    /// A set of exactly one name.
    public static func single(_ name: String) -> NameSet { NameSet(included: [name]) }
}

/// One role of a role dominance tree and the roles it dominates.
public struct RoleDominance: Sendable, Hashable {
    public var role: String
    public var dominates: [RoleDominance]

    public init(role: String, dominates: [RoleDominance]) {
        self.role = role
        self.dominates = dominates
    }
}

/// The kind of a TE access-vector rule.
public enum AVRuleKind: String, Sendable, Hashable {
    case allow, auditallow, auditdeny, dontaudit, neverallow
}

/// The kind of a TE type rule.
public enum TypeRuleKind: String, Sendable, Hashable {
    case typeTransition = "type_transition"
    case typeMember = "type_member"
    case typeChange = "type_change"
}

/// `default_user`, `default_role`, `default_type`, `default_range` (which context a new object's
/// field comes from).
public enum DefaultObject: String, Sendable, Hashable {
    case source, target
}

/// The `default_range` choice: which context and which part of its range.
public enum DefaultRange: String, Sendable, Hashable {
    case sourceLow = "source low"
    case sourceHigh = "source high"
    case sourceLowHigh = "source low_high"
    case targetLow = "target low"
    case targetHigh = "target high"
    case targetLowHigh = "target low_high"
    case glblub
}

/// Operands of a constraint expression (`constrain`, `mlsconstrain`, `validatetrans`,
/// `mlsvalidatetrans`). `1` is the source (or old) context, `2` the target (or new), `3` the task
/// context of a validatetrans.
public enum ConstraintOperand: String, Sendable, Hashable {
    case u1, u2, u3, r1, r2, r3, t1, t2, t3
    case l1, l2, h1, h2
}

/// Operators of a constraint primary: `==`, `!=` for every operand; `dom`, `domby`, `incomp` for
/// roles and MLS levels.
public enum ConstraintOperator: String, Sendable, Hashable {
    case eq = "=="
    case neq = "!="
    case dom
    case domby
    case incomp
}

/// A constraint expression.
public indirect enum ConstraintExpr: Sendable, Hashable {
    case not(ConstraintExpr)
    case and(ConstraintExpr, ConstraintExpr)
    case or(ConstraintExpr, ConstraintExpr)
    /// Two context attributes compared: `u1 == u2`, `r1 dom r2`, `t1 != t2`, `l1 domby h2`, ...
    case attributes(ConstraintOperand, ConstraintOperator, ConstraintOperand)
    /// An attribute compared with names: `t1 == { a b }`, `u2 != system_u`, `r1 == object_r`.
    case names(ConstraintOperand, ConstraintOperator, NameSet)
}

/// A conditional (boolean) expression of an `if` statement.
public indirect enum ConditionalExpr: Sendable, Hashable {
    case bool(String)
    case not(ConditionalExpr)
    case and(ConditionalExpr, ConditionalExpr)
    case or(ConditionalExpr, ConditionalExpr)
    case xor(ConditionalExpr, ConditionalExpr)
    case eq(ConditionalExpr, ConditionalExpr)
    case neq(ConditionalExpr, ConditionalExpr)
}

/// `handle_unknown` (a command-line option of checkpolicy, `-U`; accepted here as a statement too).
public enum HandleUnknown: String, Sendable, Hashable {
    case deny, reject, allow
}

/// An address in `nodecon`: IPv4 or IPv6, kept as bytes in network order (4 or 16).
public struct NodeAddress: Sendable, Hashable {
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
}

/// Every statement of the language.
public enum StatementKind: Sendable {
    // Classes, permissions, initial SIDs.
    /// `class NAME` in the class declaration section.
    case classDeclaration(String)
    /// `sid NAME`: declares an initial SID.
    case initialSIDDeclaration(String)
    /// `common NAME { perms }`.
    case common(name: String, permissions: [String])
    /// `class NAME [inherits COMMON] [{ perms }]`: the permissions of a declared class.
    case classPermissions(name: String, inherits: String?, permissions: [String])
    /// `default_user|default_role|default_type CLASSES source|target;`
    case defaultUser(classes: [String], DefaultObject)
    case defaultRole(classes: [String], DefaultObject)
    case defaultType(classes: [String], DefaultObject)
    /// `default_range CLASSES source|target low|high|low_high;` or `default_range CLASSES glblub;`
    case defaultRange(classes: [String], DefaultRange)

    // MLS.
    /// `sensitivity NAME [alias ALIASES];`
    case sensitivity(name: String, aliases: [String])
    /// `dominance { s0 s1 ... }`: the order of sensitivities, lowest first.
    case dominance([String])
    /// `dominance { role r1 { role r2; } }`: role dominance (deprecated in checkpolicy, still
    /// honored by it and by the kernel's `r1 dom r2` constraint primaries).
    case roleDominance([RoleDominance])
    /// `category NAME [alias ALIASES];`
    case category(name: String, aliases: [String])
    /// `level SENS[:CATS];`: the categories allowed with a sensitivity.
    case level(LevelSyntax)
    /// `mlsconstrain CLASSES PERMS EXPR;`
    case mlsConstrain(classes: NameSet, permissions: NameSet, ConstraintExpr)
    /// `mlsvalidatetrans CLASSES EXPR;`
    case mlsValidateTrans(classes: NameSet, ConstraintExpr)

    // Policy capabilities and options.
    /// `policycap NAME;`
    case policyCapability(String)
    /// `handle_unknown deny|reject|allow;` (checkpolicy's `-U`).
    case handleUnknown(HandleUnknown)

    // Types and attributes.
    /// `attribute NAME;`
    case attribute(String)
    /// `type NAME [alias ALIASES] [, ATTRIBUTES];`
    case type(name: String, aliases: [String], attributes: [String])
    /// `typealias NAME alias ALIASES;`
    case typeAlias(name: String, aliases: [String])
    /// `typeattribute TYPE ATTRIBUTES;`
    case typeAttribute(type: String, attributes: [String])
    /// `expandattribute ATTRIBUTES true|false;`
    case expandAttribute(attributes: [String], expand: Bool)
    /// `typebounds BOUNDING BOUNDED[, BOUNDED...];`
    case typeBounds(bounding: String, bounded: [String])
    /// `permissive TYPE;`
    case permissive(String)
    /// `neveraudit TYPE;` (checkpolicy 3.9 and later): no access of the domain is audited.
    /// Added by the parser: the language has it and the AST had no case for it.
    case neverAudit(String)

    // Booleans and conditionals.
    /// `bool NAME true|false;` (and `tunable NAME true|false;`, with `isTunable`).
    case bool(name: String, value: Bool, isTunable: Bool)
    /// `if EXPR { rules } [else { rules }]`; the branches hold TE rules only.
    case conditional(ConditionalExpr, then: [PolicyStatement], else: [PolicyStatement])

    // TE rules.
    /// `allow|auditallow|auditdeny|dontaudit|neverallow SOURCES TARGETS:CLASSES PERMS;`
    case avRule(AVRuleKind, sources: NameSet, targets: NameSet, classes: NameSet, permissions: NameSet)
    /// `allowxperm|auditallowxperm|dontauditxperm|neverallowxperm SOURCES TARGETS:CLASSES OPERATION XPERMS;`
    /// Kept as written (the operation, e.g. `ioctl`, and the raw extended-permission tokens);
    /// extended permissions do not change the access vector.
    case extendedPermissionRule(kind: String, sources: NameSet, targets: NameSet, classes: NameSet, operation: String, tokens: [String])
    /// `type_transition|type_member|type_change SOURCES TARGETS:CLASSES NEWTYPE ["OBJECTNAME"];`
    case typeRule(TypeRuleKind, sources: NameSet, targets: NameSet, classes: NameSet, newType: String, objectName: String?)
    /// `range_transition SOURCES TARGETS[:CLASSES] RANGE;` (no classes means `process`).
    case rangeTransition(sources: NameSet, targets: NameSet, classes: NameSet?, range: RangeSyntax)

    // RBAC and users.
    /// `role NAME [types TYPES];`
    case role(name: String, types: NameSet?)
    /// `role NAME, ATTRIBUTES;`: declares the role (as `role NAME;` does) and adds it to role
    /// attributes. Produced only when at least one attribute is listed; `role NAME;` is
    /// `.role(name:types: nil)`. Added by the parser: the AST had no place for the attributes.
    case roleWithAttributes(name: String, attributes: [String])
    /// `attribute_role NAME;`: declares a role attribute. Added by the parser.
    case attributeRole(String)
    /// `roleattribute ROLE ATTRIBUTES;`: adds a role to role attributes. Added by the parser.
    case roleAttribute(role: String, attributes: [String])
    /// `allow ROLES ROLES;`
    case roleAllow(from: NameSet, to: NameSet)
    /// `role_transition ROLES TYPES[:CLASSES] NEWROLE;` (no classes means `process`).
    case roleTransition(roles: NameSet, types: NameSet, classes: NameSet?, newRole: String)
    /// `user NAME roles ROLES [level LEVEL range RANGE];`
    case user(name: String, roles: NameSet, level: LevelSyntax?, range: RangeSyntax?)

    // Constraints.
    /// `constrain CLASSES PERMS EXPR;`
    case constrain(classes: NameSet, permissions: NameSet, ConstraintExpr)
    /// `validatetrans CLASSES EXPR;`
    case validateTrans(classes: NameSet, ConstraintExpr)

    // Labeling.
    /// `sid NAME CONTEXT`: the context of an initial SID.
    case initialSIDContext(name: String, context: SecurityContext)
    /// `portcon tcp|udp|sctp|dccp PORT[-PORT] CONTEXT`
    case portcon(protocol: String, low: Int, high: Int, context: SecurityContext)
    /// `netifcon NAME IFCONTEXT PACKETCONTEXT`
    case netifcon(interface: String, interfaceContext: SecurityContext, packetContext: SecurityContext)
    /// `nodecon ADDRESS MASK CONTEXT`
    case nodecon(address: NodeAddress, mask: NodeAddress, context: SecurityContext)
    /// `genfscon FSTYPE PATH [-TYPE] CONTEXT` (TYPE is the letter after `-`: b c d p l s or `-`).
    case genfscon(filesystem: String, path: String, fileType: String?, context: SecurityContext)
    /// `fs_use_xattr|fs_use_task|fs_use_trans FSTYPE CONTEXT;`
    case fsUse(behavior: String, filesystem: String, context: SecurityContext)
    /// `fscon MAJOR MINOR FSCONTEXT FILECONTEXT` (checkpolicy names the file system `%02x:%02x`).
    case fscon(major: UInt32, minor: UInt32, fileSystemContext: SecurityContext, fileContext: SecurityContext)
    /// `ibpkeycon SUBNET_PREFIX PKEY[-PKEY] CONTEXT`: the prefix's 8 high bytes (its low 64 bits
    /// must be zero), 16-bit partition keys.
    case ibpkeycon(subnetPrefix: [UInt8], low: Int, high: Int, context: SecurityContext)
    /// `ibendportcon DEVICE PORT CONTEXT` (port 1…255).
    case ibendportcon(device: String, port: Int, context: SecurityContext)
    /// Labeling statements of other platforms kept as written (the Xen ones: `pirqcon`, `iomemcon`,
    /// `ioportcon`, `pcidevicecon`, `devicetreecon`): the keyword and the raw tokens up to the end
    /// of the statement.
    case otherLabeling(keyword: String, tokens: [String])
}
