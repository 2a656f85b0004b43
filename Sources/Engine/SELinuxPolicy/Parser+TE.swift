// TE and RBAC rules: access-vector rules (and the role `allow`), extended-permission rules, type
// rules, range and role transitions, and conditional blocks.

extension Parser {
    /// `allow|auditallow|auditdeny|dontaudit|neverallow SOURCES TARGETS:CLASSES PERMS;`, and the role
    /// rule `allow ROLES ROLES;` (told apart by the `;` or `:` after the second set). Inside a
    /// conditional block only the TE form is accepted.
    mutating func parseAVRule(inConditional: Bool) throws(PolicyError) -> StatementKind {
        let keyword = token.keyword
        let spelling = keyword.spelling
        let kind: AVRuleKind
        switch keyword {
        case .allow: kind = .allow
        case .auditallow: kind = .auditallow
        case .auditdeny: kind = .auditdeny
        case .dontaudit: kind = .dontaudit
        default: kind = .neverallow
        }
        try advance()
        let sources = try parseNames("a source type, '{', '*' or '~' after '\(spelling)'")
        let targets = try parseNames("a target type, '{', '*' or '~' in \(spelling) rule")
        if keyword == .allow && !inConditional && token.kind == .semicolon {
            try advance()
            return .roleAllow(from: sources, to: targets)
        }
        if token.kind != .colon {
            throw unexpected(
                keyword == .allow && !inConditional
                    ? "':' (allow TYPES TYPES:CLASSES PERMS) or ';' (allow ROLES ROLES) in allow rule"
                    : "':' after the target types of \(spelling) rule")
        }
        try advance()
        let classes = try parseNames("a class, '{', '*' or '~' after ':' in \(spelling) rule")
        let permissions = try parseNames("permissions ('{', '*', '~' or a name) in \(spelling) rule")
        try expectSemicolon(after: "\(spelling) rule")
        return .avRule(kind, sources: sources, targets: targets, classes: classes, permissions: permissions)
    }

    /// `allowxperm|auditallowxperm|dontauditxperm|neverallowxperm SOURCES TARGETS:CLASSES OP XPERMS;`
    mutating func parseExtendedPermissionRule(inConditional: Bool) throws(PolicyError) -> StatementKind {
        let spelling = token.keyword.spelling
        try advance()
        let sources = try parseNames("a source type, '{', '*' or '~' after '\(spelling)'")
        let targets = try parseNames("a target type, '{', '*' or '~' in \(spelling) rule")
        try expect(.colon, "':' after the target types of \(spelling) rule")
        let classes = try parseNames("a class, '{', '*' or '~' after ':' in \(spelling) rule")
        let operation = try identifier("an operation (e.g. 'ioctl') in \(spelling) rule")
        var tokens: [String] = []
        if token.kind == .tilde {
            tokens.append("~")
            try advance()
        }
        if token.kind == .leftBrace {
            try parseExtendedPermissionSet(into: &tokens)
        } else {
            try takeExtendedPermission(into: &tokens, "a number or '{' after '\(operation)'")
        }
        try expectSemicolon(after: "\(spelling) rule")
        return .extendedPermissionRule(
            kind: spelling, sources: sources, targets: targets, classes: classes,
            operation: operation, tokens: tokens)
    }

    /// `{ (N | N - N | nested set)+ }`, its tokens as written.
    private mutating func parseExtendedPermissionSet(into tokens: inout [String]) throws(PolicyError) {
        try enterNesting()
        tokens.append("{")
        try advance()
        var first = true
        while true {
            switch token.kind {
            case .number:
                try takeExtendedPermission(into: &tokens, "a number")
                if token.kind == .minus {
                    tokens.append("-")
                    try advance()
                    try takeExtendedPermission(into: &tokens, "a number after '-'")
                }
            case .leftBrace:
                try parseExtendedPermissionSet(into: &tokens)
            case .rightBrace where !first:
                tokens.append("}")
                try advance()
                leaveNesting()
                return
            default:
                throw unexpected(
                    first
                        ? "a number in an extended permission set"
                        : "a number or '}' in an extended permission set")
            }
            first = false
        }
    }

    private mutating func takeExtendedPermission(into tokens: inout [String], _ what: String) throws(PolicyError) {
        guard token.kind == .number else { throw unexpected(what) }
        _ = try numberValue(of: token, limit: UInt64(UInt32.max))
        tokens.append(lexer.text(token))
        try advance()
    }

    /// `type_transition|type_member|type_change SOURCES TARGETS:CLASSES NEWTYPE ["NAME"];`
    mutating func parseTypeRule() throws(PolicyError) -> StatementKind {
        let keyword = token.keyword
        let spelling = keyword.spelling
        let kind: TypeRuleKind
        switch keyword {
        case .typeTransition: kind = .typeTransition
        case .typeMember: kind = .typeMember
        default: kind = .typeChange
        }
        try advance()
        let sources = try parseNames("a source type, '{', '*' or '~' after '\(spelling)'")
        let targets = try parseNames("a target type, '{', '*' or '~' in \(spelling) rule")
        try expect(.colon, "':' after the target types of \(spelling) rule")
        let classes = try parseNames("a class, '{', '*' or '~' after ':' in \(spelling) rule")
        let newType = try identifier("the new type in \(spelling) rule")
        var objectName: String?
        if kind == .typeTransition && token.kind == .filename {
            objectName = lexer.text(from: token.start + 1, to: token.end - 1)
            try advance()
        }
        try expectSemicolon(
            after: kind == .typeTransition && objectName == nil
                ? "type_transition rule (or a quoted object name)" : "\(spelling) rule")
        return .typeRule(
            kind, sources: sources, targets: targets, classes: classes, newType: newType,
            objectName: objectName)
    }

    /// `range_transition SOURCES TARGETS[:CLASSES] RANGE;`
    mutating func parseRangeTransition() throws(PolicyError) -> StatementKind {
        try advance()
        let sources = try parseNames("a source type, '{', '*' or '~' after 'range_transition'")
        let targets = try parseNames("a target type, '{', '*' or '~' in range_transition rule")
        var classes: NameSet?
        if token.kind == .colon {
            try advance()
            classes = try parseNames("a class, '{', '*' or '~' after ':' in range_transition rule")
        }
        let range = try parseRange(
            classes == nil
                ? "a range (or ':' and classes) in range_transition rule" : "a range in range_transition rule")
        try expectSemicolon(after: "range_transition rule")
        return .rangeTransition(sources: sources, targets: targets, classes: classes, range: range)
    }

    /// `role_transition ROLES TYPES[:CLASSES] NEWROLE;`
    mutating func parseRoleTransition() throws(PolicyError) -> StatementKind {
        try advance()
        let roles = try parseNames("a role, '{', '*' or '~' after 'role_transition'")
        let types = try parseNames("a type, '{', '*' or '~' in role_transition rule")
        var classes: NameSet?
        if token.kind == .colon {
            try advance()
            classes = try parseNames("a class, '{', '*' or '~' after ':' in role_transition rule")
        }
        let newRole = try identifier(
            classes == nil
                ? "the new role (or ':' and classes) in role_transition rule" : "the new role in role_transition rule")
        try expectSemicolon(after: "role_transition rule")
        return .roleTransition(roles: roles, types: types, classes: classes, newRole: newRole)
    }

    // MARK: Conditionals

    /// `if EXPR { RULES } [else { RULES }]`.
    mutating func parseConditional() throws(PolicyError) -> StatementKind {
        try advance()
        let condition = try parseConditionalExpression()
        let then = try parseConditionalBlock("'{' after the condition of 'if'")
        var otherwise: [PolicyStatement] = []
        if at(.else) {
            try advance()
            otherwise = try parseConditionalBlock("'{' after 'else'")
        }
        return .conditional(condition, then: then, else: otherwise)
    }

    /// `{ RULES }`: allow, auditallow, auditdeny, dontaudit, their xperm forms (not the never ones)
    /// and type rules; the block may be empty.
    private mutating func parseConditionalBlock(_ what: String) throws(PolicyError) -> [PolicyStatement] {
        try expect(.leftBrace, what)
        var rules: [PolicyStatement] = []
        while token.kind != .rightBrace {
            let start = location
            let kind: StatementKind
            switch token.keyword {
            case _ where token.kind != .keyword:
                throw unexpected("a rule or '}' in conditional block")
            case .allow, .auditallow, .auditdeny, .dontaudit:
                kind = try parseAVRule(inConditional: true)
            case .allowxperm, .auditallowxperm, .dontauditxperm:
                kind = try parseExtendedPermissionRule(inConditional: true)
            case .typeTransition, .typeMember, .typeChange:
                kind = try parseTypeRule()
            default:
                throw unexpected(
                    "a rule or '}' in conditional block (allow, auditallow, auditdeny, dontaudit, "
                        + "allowxperm, auditallowxperm, dontauditxperm, type_transition, type_member, type_change)")
            }
            rules.append(PolicyStatement(kind, at: start))
        }
        try advance()
        return rules
    }
}
