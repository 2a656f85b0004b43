// The tokens of the kernel policy language (Lexer.swift makes them): their kinds, the reserved
// words, and a token as the parser sees it.

/// The kind of a token.
enum TokenKind: UInt8, Sendable {
    case endOfFile
    /// A reserved word; `Token.keyword` says which.
    case keyword
    /// `{letter}({alnum}|[_-])*([.]?({alnum}|[_-]))*`: `s0`, `c0.c1023`, `s0-s15`, `httpd_t`.
    case identifier
    /// Decimal digits or `0x` and hex digits.
    case number
    /// Letters and digits with at least one letter, not an identifier (`9p`).
    case filesystem
    case ipv4Address, ipv4CIDR, ipv6Address, ipv6CIDR
    /// Digits, a dot and more (`1.0`): only the module language uses it.
    case versionIdentifier
    /// A network interface pattern with `*` or `?` (`eth*`).
    case netifName
    /// An unquoted path (`/proc`).
    case path
    /// A quoted path (`"/"`).
    case quotedPath
    /// A quoted object name without `/` (`"Maildir"`).
    case filename
    case equals, notEquals, and, or, not, xor
    case comma, colon, semicolon, leftParen, rightParen, leftBrace, rightBrace
    case leftBracket, rightBracket, minus, dot, tilde, star
}

/// The reserved words, each spelled in lower case or in upper case.
enum Keyword: UInt8, Sendable, CaseIterable {
    case none
    case common, `class`, constrain, validatetrans, inherits, sid, role, roles, roleattribute
    case attributeRole, types, `typealias`, typeattribute, typebounds, type, bool, tunable, `if`, `else`
    case alias, attribute, expandattribute, typeTransition, typeMember, typeChange, roleTransition
    case rangeTransition, sensitivity, dominance, category, level, range, mlsconstrain
    case mlsvalidatetrans, user, neverallow, allow, auditallow, auditdeny, dontaudit, allowxperm
    case auditallowxperm, dontauditxperm, neverallowxperm, source, target, sameuser, module
    case require, optional, `true`, `false`, dom, domby, incomp, ibpkeycon, ibendportcon, portcon
    case netifcon, nodecon, pirqcon, iomemcon, ioportcon, pcidevicecon, devicetreecon, fsUseXattr
    case fsUseTask, fsUseTrans, genfscon, r1, r2, r3, u1, u2, u3, t1, t2, t3, l1, l2, h1, h2
    case policycap, permissive, neveraudit, defaultUser, defaultRole, defaultType, defaultRange
    case lowHigh, high, low, glblub

    /// The lower-case spelling (the upper-case one is the same in capitals).
    var spelling: String {
        switch self {
        case .none: return ""
        case .common: return "common"
        case .`class`: return "class"
        case .constrain: return "constrain"
        case .validatetrans: return "validatetrans"
        case .inherits: return "inherits"
        case .sid: return "sid"
        case .role: return "role"
        case .roles: return "roles"
        case .roleattribute: return "roleattribute"
        case .attributeRole: return "attribute_role"
        case .types: return "types"
        case .`typealias`: return "typealias"
        case .typeattribute: return "typeattribute"
        case .typebounds: return "typebounds"
        case .type: return "type"
        case .bool: return "bool"
        case .tunable: return "tunable"
        case .`if`: return "if"
        case .`else`: return "else"
        case .alias: return "alias"
        case .attribute: return "attribute"
        case .expandattribute: return "expandattribute"
        case .typeTransition: return "type_transition"
        case .typeMember: return "type_member"
        case .typeChange: return "type_change"
        case .roleTransition: return "role_transition"
        case .rangeTransition: return "range_transition"
        case .sensitivity: return "sensitivity"
        case .dominance: return "dominance"
        case .category: return "category"
        case .level: return "level"
        case .range: return "range"
        case .mlsconstrain: return "mlsconstrain"
        case .mlsvalidatetrans: return "mlsvalidatetrans"
        case .user: return "user"
        case .neverallow: return "neverallow"
        case .allow: return "allow"
        case .auditallow: return "auditallow"
        case .auditdeny: return "auditdeny"
        case .dontaudit: return "dontaudit"
        case .allowxperm: return "allowxperm"
        case .auditallowxperm: return "auditallowxperm"
        case .dontauditxperm: return "dontauditxperm"
        case .neverallowxperm: return "neverallowxperm"
        case .source: return "source"
        case .target: return "target"
        case .sameuser: return "sameuser"
        case .module: return "module"
        case .require: return "require"
        case .optional: return "optional"
        case .`true`: return "true"
        case .`false`: return "false"
        case .dom: return "dom"
        case .domby: return "domby"
        case .incomp: return "incomp"
        case .ibpkeycon: return "ibpkeycon"
        case .ibendportcon: return "ibendportcon"
        case .portcon: return "portcon"
        case .netifcon: return "netifcon"
        case .nodecon: return "nodecon"
        case .pirqcon: return "pirqcon"
        case .iomemcon: return "iomemcon"
        case .ioportcon: return "ioportcon"
        case .pcidevicecon: return "pcidevicecon"
        case .devicetreecon: return "devicetreecon"
        case .fsUseXattr: return "fs_use_xattr"
        case .fsUseTask: return "fs_use_task"
        case .fsUseTrans: return "fs_use_trans"
        case .genfscon: return "genfscon"
        case .r1: return "r1"
        case .r2: return "r2"
        case .r3: return "r3"
        case .u1: return "u1"
        case .u2: return "u2"
        case .u3: return "u3"
        case .t1: return "t1"
        case .t2: return "t2"
        case .t3: return "t3"
        case .l1: return "l1"
        case .l2: return "l2"
        case .h1: return "h1"
        case .h2: return "h2"
        case .policycap: return "policycap"
        case .permissive: return "permissive"
        case .neveraudit: return "neveraudit"
        case .defaultUser: return "default_user"
        case .defaultRole: return "default_role"
        case .defaultType: return "default_type"
        case .defaultRange: return "default_range"
        case .lowHigh: return "low-high"
        case .high: return "high"
        case .low: return "low"
        case .glblub: return "glblub"
        }
    }
}

/// One token: its kind, its bytes (`start..<end` in the source) and where it starts.
struct Token: Sendable {
    var kind: TokenKind
    var keyword: Keyword
    var start: Int
    var end: Int
    var line: Int
    var column: Int
}
