// The parser of the kernel policy language: a recursive-descent parser over checkpolicy's grammar
// (`policy_parse.y`), one token of lookahead. Statements are accepted in any order (checkpolicy
// requires its section order; the compiler checks what the order would have checked).

/// Parses policy sources written in the kernel policy language (`policy.conf`).
public enum PolicyParser {
    /// Parses a policy source given as bytes (UTF-8).
    ///
    /// - Parameters:
    ///   - bytes: the source text.
    ///   - file: the name used in error locations and statement locations.
    /// - Returns: the statements in source order.
    /// - Throws: `PolicyError` at the first lexical or syntax error, with its `file:line:column`.
    public static func parse(_ bytes: [UInt8], file: String) throws(PolicyError) -> PolicySource {
        try bytes.withUnsafeBufferPointer { (buffer) throws(PolicyError) -> PolicySource in
            var parser = try Parser(buffer: buffer, file: file)
            return PolicySource(statements: try parser.parseStatements())
        }
    }

    /// Parses a policy source given as a string.
    public static func parse(_ text: String, file: String) throws(PolicyError) -> PolicySource {
        try parse(Array(text.utf8), file: file)
    }

    /// The deepest nesting of parentheses, `not` and brace sets that is accepted.
    public static let maximumNestingDepth = 1000
}

/// The parser state: the lexer and the current token.
struct Parser {
    var lexer: Lexer
    /// The current token (not yet consumed).
    var token: Token
    /// The current nesting depth of expressions and sets.
    var depth = 0

    init(buffer: UnsafeBufferPointer<UInt8>, file: String) throws(PolicyError) {
        lexer = Lexer(buffer: buffer, file: file)
        token = try lexer.next()
    }

    // MARK: Tokens

    var location: SourceLocation { lexer.location(line: token.line, column: token.column) }

    func location(of token: Token) -> SourceLocation { lexer.location(line: token.line, column: token.column) }

    /// Moves to the next token.
    mutating func advance() throws(PolicyError) {
        token = try lexer.next()
    }

    func at(_ kind: TokenKind) -> Bool { token.kind == kind }

    func at(_ keyword: Keyword) -> Bool { token.kind == .keyword && token.keyword == keyword }

    /// Consumes a token of `kind` or fails with "expected WHAT, found ...".
    mutating func expect(_ kind: TokenKind, _ what: @autoclosure () -> String) throws(PolicyError) {
        guard token.kind == kind else { throw unexpected(what()) }
        try advance()
    }

    mutating func expect(_ keyword: Keyword, _ what: @autoclosure () -> String) throws(PolicyError) {
        guard at(keyword) else { throw unexpected(what()) }
        try advance()
    }

    /// Consumes `;` ending a statement.
    mutating func expectSemicolon(after statement: @autoclosure () -> String) throws(PolicyError) {
        guard token.kind == .semicolon else { throw unexpected("';' after \(statement())") }
        try advance()
    }

    /// Consumes an identifier and returns its text.
    mutating func identifier(_ what: @autoclosure () -> String) throws(PolicyError) -> String {
        guard token.kind == .identifier else { throw unexpected(what()) }
        let name = lexer.text(token)
        try advance()
        return name
    }

    /// The error for the current token when `what` was expected.
    func unexpected(_ what: String) -> PolicyError {
        PolicyError("expected \(what), found \(describe(token))", at: location)
    }

    /// An error at a token.
    func error(_ message: String, at token: Token) -> PolicyError {
        PolicyError(message, at: location(of: token))
    }

    /// How a token is named in messages: its text in quotes, or "end of file".
    func describe(_ token: Token) -> String {
        if token.kind == .endOfFile { return "end of file" }
        let length = token.end - token.start
        if length > 40 { return "'\(lexer.text(from: token.start, to: token.start + 37))...'" }
        let text = lexer.text(token)
        switch token.kind {
        case .keyword: return "keyword '\(text)'"
        default: return "'\(text)'"
        }
    }

    /// Enters one level of nesting, failing past the limit.
    mutating func enterNesting() throws(PolicyError) {
        depth += 1
        if depth > PolicyParser.maximumNestingDepth {
            throw PolicyError(
                "nesting deeper than \(PolicyParser.maximumNestingDepth) levels", at: location)
        }
    }

    mutating func leaveNesting() { depth -= 1 }

    // MARK: Statements

    /// Parses statements up to the end of the source.
    mutating func parseStatements() throws(PolicyError) -> [PolicyStatement] {
        var statements: [PolicyStatement] = []
        statements.reserveCapacity(1024)
        while token.kind != .endOfFile {
            if token.kind == .semicolon {  // an empty statement, as checkpolicy allows among TE/RBAC rules
                try advance()
                continue
            }
            let start = location
            let kind = try parseStatement()
            statements.append(PolicyStatement(kind, at: start))
        }
        return statements
    }

    /// Parses one statement, dispatching on its first token.
    mutating func parseStatement() throws(PolicyError) -> StatementKind {
        if token.kind == .identifier {
            return try parseExtensionStatement()
        }
        guard token.kind == .keyword else { throw unexpected("a statement") }
        switch token.keyword {
        case .class: return try parseClass()
        case .sid: return try parseSid()
        case .common: return try parseCommon()
        case .defaultUser, .defaultRole, .defaultType: return try parseDefaultObject()
        case .defaultRange: return try parseDefaultRange()
        case .sensitivity: return try parseSensitivity()
        case .dominance: return try parseDominance()
        case .category: return try parseCategory()
        case .level: return try parseLevelDeclaration()
        case .mlsconstrain, .constrain: return try parseConstrain()
        case .mlsvalidatetrans, .validatetrans: return try parseValidateTrans()
        case .policycap: return try parseSingleName { .policyCapability($0) }
        case .permissive: return try parseSingleName { .permissive($0) }
        case .neveraudit: return try parseSingleName { .neverAudit($0) }
        case .attribute: return try parseSingleName { .attribute($0) }
        case .attributeRole: return try parseSingleName { .attributeRole($0) }
        case .expandattribute: return try parseExpandAttribute()
        case .type: return try parseType()
        case .typealias: return try parseTypeAlias()
        case .typeattribute, .typebounds, .roleattribute: return try parseNameAndCommaList()
        case .bool, .tunable: return try parseBool()
        case .if: return try parseConditional()
        case .allow, .auditallow, .auditdeny, .dontaudit, .neverallow:
            return try parseAVRule(inConditional: false)
        case .allowxperm, .auditallowxperm, .dontauditxperm, .neverallowxperm:
            return try parseExtendedPermissionRule(inConditional: false)
        case .typeTransition, .typeMember, .typeChange: return try parseTypeRule()
        case .rangeTransition: return try parseRangeTransition()
        case .role: return try parseRole()
        case .roleTransition: return try parseRoleTransition()
        case .user: return try parseUser()
        case .fsUseXattr, .fsUseTask, .fsUseTrans: return try parseFsUse()
        case .genfscon: return try parseGenfscon()
        case .portcon: return try parsePortcon()
        case .netifcon: return try parseNetifcon()
        case .nodecon: return try parseNodecon()
        case .ibpkeycon:
            return try parseIBPkeycon()
        case .ibendportcon:
            return try parseIBEndportcon()
        case .pirqcon, .iomemcon, .ioportcon, .pcidevicecon, .devicetreecon:
            return try parseOtherLabeling()
        case .module, .require, .optional:
            throw error(
                "'\(lexer.text(token))' belongs to the policy module language, which is not supported "
                    + "(flatten the policy first, e.g. with semodule_link/semodule_expand)",
                at: token)
        default:
            throw unexpected("a statement")
        }
    }

    /// Statements that are not checkpolicy keywords: `handle_unknown` (checkpolicy's `-U` option)
    /// and `fscon` (kept raw: salabel does not use it).
    mutating func parseExtensionStatement() throws(PolicyError) -> StatementKind {
        switch lexer.text(token) {
        case "handle_unknown", "HANDLE_UNKNOWN":
            try advance()
            let value: HandleUnknown
            if at(.allow) {
                value = .allow
            } else if token.kind == .identifier,
                let parsed = HandleUnknown(rawValue: lexer.text(token))
                    ?? ["DENY": .deny, "REJECT": .reject][lexer.text(token)]
            {
                value = parsed
            } else {
                throw unexpected("'deny', 'reject' or 'allow' after 'handle_unknown'")
            }
            try advance()
            try expectSemicolon(after: "handle_unknown statement")
            return .handleUnknown(value)
        case "fscon", "FSCON":
            return try parseFscon()
        default:
            throw unexpected("a statement")
        }
    }

    /// `KEYWORD NAME ;` statements.
    mutating func parseSingleName(_ make: (String) -> StatementKind) throws(PolicyError) -> StatementKind {
        let keyword = lexer.text(token)
        try advance()
        let name = try identifier("a name after '\(keyword)'")
        try expectSemicolon(after: "'\(keyword) \(name)'")
        return make(name)
    }
}
