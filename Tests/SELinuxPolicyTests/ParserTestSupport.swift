import Testing
import SELinuxPolicy
import SecurityContexts

/// Parses `text` and returns its statements.
func parse(_ text: String, file: String = "test.conf") throws -> [PolicyStatement] {
    try PolicyParser.parse(text, file: file).statements
}

/// Parses `text`, which must hold exactly one statement, and returns its kind.
func parseOne(_ text: String) throws -> StatementKind {
    let statements = try parse(text)
    try #require(statements.count == 1, "expected one statement, got \(statements.count)")
    return statements[0].kind
}

/// The error parsing `text` gives (fails the test if it parses).
func parseError(_ text: String) -> PolicyError? {
    do {
        _ = try PolicyParser.parse(text, file: "test.conf")
        Issue.record("expected a parse error for: \(text)")
        return nil
    } catch {
        return error
    }
}

/// A name set of plain names.
func names(_ included: String..., excluded: [String] = []) -> NameSet {
    NameSet(included: included, excluded: excluded)
}

/// A context `user:role:type` with an optional range.
func context(_ user: String, _ role: String, _ type: String, _ range: RangeSyntax? = nil) -> SecurityContext {
    SecurityContext(user: user, role: role, type: type, range: range)
}

/// `s0` and similar: a level without categories.
func level(_ sensitivity: String, _ categories: CategoryItem...) -> LevelSyntax {
    LevelSyntax(sensitivity: sensitivity, categories: categories)
}
