// Declarations: classes, initial SIDs, commons, defaults, MLS, types, attributes, booleans, roles
// and users.

import SecurityContexts

extension Parser {
    // MARK: Classes and SIDs

    /// `class NAME` (declaration), `class NAME { perms }`, `class NAME inherits COMMON [{ perms }]`.
    mutating func parseClass() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a class name after 'class'")
        if token.kind == .leftBrace {
            return .classPermissions(name: name, inherits: nil, permissions: try parsePermissionBlock())
        }
        guard at(.inherits) else { return .classDeclaration(name) }
        try advance()
        let common = try identifier("a common name after 'inherits'")
        var permissions: [String] = []
        if token.kind == .leftBrace { permissions = try parsePermissionBlock() }
        return .classPermissions(name: name, inherits: common, permissions: permissions)
    }

    /// `{ perm perm ... }`.
    private mutating func parsePermissionBlock() throws(PolicyError) -> [String] {
        try advance()  // '{'
        let permissions = try parseIdentifierList("a permission name")
        try expect(.rightBrace, "a permission name or '}'")
        return permissions
    }

    /// `common NAME { perms }`.
    mutating func parseCommon() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a common name after 'common'")
        guard token.kind == .leftBrace else { throw unexpected("'{' after 'common \(name)'") }
        return .common(name: name, permissions: try parsePermissionBlock())
    }

    /// `sid NAME` (declaration) or `sid NAME CONTEXT`. A context starts with a name; a declaration
    /// is followed by a keyword or the end.
    mutating func parseSid() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("an initial SID name after 'sid'")
        guard token.kind == .identifier else { return .initialSIDDeclaration(name) }
        return .initialSIDContext(name: name, context: try parseContext())
    }

    // MARK: Defaults

    /// `default_user|default_role|default_type CLASSES source|target;`
    mutating func parseDefaultObject() throws(PolicyError) -> StatementKind {
        let keyword = token.keyword
        let spelling = keyword.spelling
        try advance()
        let classes = try parseNameList("a class or '{' after '\(spelling)'")
        let object: DefaultObject
        if at(.source) {
            object = .source
        } else if at(.target) {
            object = .target
        } else {
            throw unexpected("'source' or 'target' in \(spelling)")
        }
        try advance()
        try expectSemicolon(after: "\(spelling) statement")
        switch keyword {
        case .defaultUser: return .defaultUser(classes: classes, object)
        case .defaultRole: return .defaultRole(classes: classes, object)
        default: return .defaultType(classes: classes, object)
        }
    }

    /// `default_range CLASSES source|target low|high|low-high;` or `default_range CLASSES glblub;`
    mutating func parseDefaultRange() throws(PolicyError) -> StatementKind {
        try advance()
        let classes = try parseNameList("a class or '{' after 'default_range'")
        let choice: DefaultRange
        if at(.glblub) {
            choice = .glblub
            try advance()
        } else {
            let isSource: Bool
            if at(.source) {
                isSource = true
            } else if at(.target) {
                isSource = false
            } else {
                throw unexpected("'source', 'target' or 'glblub' in default_range")
            }
            try advance()
            if at(.low) {
                choice = isSource ? .sourceLow : .targetLow
            } else if at(.high) {
                choice = isSource ? .sourceHigh : .targetHigh
            } else if at(.lowHigh) {
                choice = isSource ? .sourceLowHigh : .targetLowHigh
            } else {
                throw unexpected("'low', 'high' or 'low-high' in default_range")
            }
            try advance()
        }
        try expectSemicolon(after: "default_range statement")
        return .defaultRange(classes: classes, choice)
    }

    // MARK: MLS

    /// `sensitivity NAME [alias ALIASES];`
    mutating func parseSensitivity() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a sensitivity name after 'sensitivity'")
        let aliases = try parseOptionalAliases()
        try expectSemicolon(after: "sensitivity declaration")
        return .sensitivity(name: name, aliases: aliases)
    }

    /// `category NAME [alias ALIASES];`
    mutating func parseCategory() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a category name after 'category'")
        let aliases = try parseOptionalAliases()
        try expectSemicolon(after: "category declaration")
        return .category(name: name, aliases: aliases)
    }

    /// `[alias NAMES]`.
    private mutating func parseOptionalAliases() throws(PolicyError) -> [String] {
        guard at(.alias) else { return [] }
        try advance()
        return try parseNameList("an alias name or '{' after 'alias'")
    }

    /// `dominance NAME` or `dominance { NAMES }` (no `;`), the sensitivity order; or the role
    /// dominance tree `dominance { role r1 { role r2; } }`.
    mutating func parseDominance() throws(PolicyError) -> StatementKind {
        try advance()
        if token.kind == .leftBrace {
            try advance()
            if at(.role) {
                var roots: [RoleDominance] = []
                while at(.role) { roots.append(try parseRoleDominance()) }
                try expect(.rightBrace, "'role' or '}' in role dominance")
                return .roleDominance(roots)
            }
            let names = try parseIdentifierList("a sensitivity name in dominance")
            try expect(.rightBrace, "a sensitivity name or '}' in dominance")
            return .dominance(names)
        }
        return .dominance([try identifier("a sensitivity name or '{' after 'dominance'")])
    }

    /// `role NAME;` or `role NAME { role …; … }` inside a role dominance tree.
    private mutating func parseRoleDominance() throws(PolicyError) -> RoleDominance {
        try expect(.role, "'role' in role dominance")
        let name = try identifier("a role name in role dominance")
        if at(.semicolon) {
            try advance()
            return RoleDominance(role: name, dominates: [])
        }
        try expect(.leftBrace, "';' or '{' after the role name in role dominance")
        try enterNesting()
        var children: [RoleDominance] = []
        while at(.role) { children.append(try parseRoleDominance()) }
        leaveNesting()
        try expect(.rightBrace, "'role' or '}' in role dominance")
        return RoleDominance(role: name, dominates: children)
    }

    /// `level SENS[:CATS];`
    mutating func parseLevelDeclaration() throws(PolicyError) -> StatementKind {
        try advance()
        let level = try parseLevel("a sensitivity after 'level'")
        try expectSemicolon(after: "level declaration")
        return .level(level)
    }

    // MARK: Types and attributes

    /// `type NAME [alias ALIASES] [, ATTRIBUTES];`
    mutating func parseType() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a type name after 'type'")
        let aliases = try parseOptionalAliases()
        var attributes: [String] = []
        if token.kind == .comma {
            try advance()
            attributes = try parseCommaList("an attribute name after ','")
        }
        try expectSemicolon(after: "type declaration")
        return .type(name: name, aliases: aliases, attributes: attributes)
    }

    /// `typealias NAME alias ALIASES;`
    mutating func parseTypeAlias() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a type name after 'typealias'")
        try expect(.alias, "'alias' after 'typealias \(name)'")
        let aliases = try parseNameList("an alias name or '{' after 'alias'")
        try expectSemicolon(after: "typealias statement")
        return .typeAlias(name: name, aliases: aliases)
    }

    /// `typeattribute NAME A, B;`, `typebounds NAME A, B;`, `roleattribute NAME A, B;`
    mutating func parseNameAndCommaList() throws(PolicyError) -> StatementKind {
        let keyword = token.keyword
        let spelling = keyword.spelling
        try advance()
        let name = try identifier("a name after '\(spelling)'")
        let list = try parseCommaList("a name after '\(spelling) \(name)'")
        try expectSemicolon(after: "\(spelling) statement")
        switch keyword {
        case .typeattribute: return .typeAttribute(type: name, attributes: list)
        case .typebounds: return .typeBounds(bounding: name, bounded: list)
        default: return .roleAttribute(role: name, attributes: list)
        }
    }

    /// `expandattribute ATTRIBUTES true|false;`
    mutating func parseExpandAttribute() throws(PolicyError) -> StatementKind {
        try advance()
        let attributes = try parseNameList("an attribute name or '{' after 'expandattribute'")
        let value = try parseBoolValue("expandattribute")
        try expectSemicolon(after: "expandattribute statement")
        return .expandAttribute(attributes: attributes, expand: value)
    }

    /// `true` or `false`.
    private mutating func parseBoolValue(_ statement: String) throws(PolicyError) -> Bool {
        let value: Bool
        if at(.true) {
            value = true
        } else if at(.false) {
            value = false
        } else {
            throw unexpected("'true' or 'false' in \(statement)")
        }
        try advance()
        return value
    }

    /// `bool NAME true|false;` and `tunable NAME true|false;`
    mutating func parseBool() throws(PolicyError) -> StatementKind {
        let isTunable = at(.tunable)
        let spelling = isTunable ? "tunable" : "bool"
        try advance()
        let name = try identifier("a name after '\(spelling)'")
        let value = try parseBoolValue("\(spelling) \(name)")
        try expectSemicolon(after: "\(spelling) declaration")
        return .bool(name: name, value: value, isTunable: isTunable)
    }

    // MARK: Roles and users

    /// `role NAME types TYPES;`, `role NAME;`, `role NAME, ATTRIBUTES;`
    mutating func parseRole() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a role name after 'role'")
        if at(.types) {
            try advance()
            let types = try parseNames("a type, '{', '*' or '~' after 'types'")
            try expectSemicolon(after: "role declaration")
            return .role(name: name, types: types)
        }
        if token.kind == .comma {
            try advance()
            let attributes = try parseCommaList("a role attribute name after ','")
            try expectSemicolon(after: "role declaration")
            return .roleWithAttributes(name: name, attributes: attributes)
        }
        guard token.kind == .semicolon else { throw unexpected("'types', ',' or ';' after 'role \(name)'") }
        try advance()
        return .role(name: name, types: nil)
    }

    /// `user NAME roles ROLES [level LEVEL range RANGE];`
    mutating func parseUser() throws(PolicyError) -> StatementKind {
        try advance()
        let name = try identifier("a user name after 'user'")
        try expect(.roles, "'roles' after 'user \(name)'")
        let roles = try parseNames("a role, '{', '*' or '~' after 'roles'")
        var level: LevelSyntax?
        var range: RangeSyntax?
        if at(.level) {
            try advance()
            level = try parseLevel("a sensitivity after 'level'")
            try expect(.range, "'range' after the user's level")
            range = try parseRange("a sensitivity after 'range'")
        }
        try expectSemicolon(after: level == nil ? "user declaration (or 'level')" : "user declaration")
        return .user(name: name, roles: roles, level: level, range: range)
    }
}
