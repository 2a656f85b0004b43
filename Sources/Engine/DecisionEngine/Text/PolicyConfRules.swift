/// Adding statements to a policy.conf text where the policy language's type-enforcement part ends:
/// before its first `user` statement (types, attributes and rules may stand anywhere before it).
/// Scenario files add their `policy_rules` this way, and `salabel why` a proposed rule to check it
/// against the policy's `neverallow` rules.
public enum PolicyConfRules {
    /// `text` with `statements` inserted before its first `user` statement; nil when it has none.
    public static func adding(_ statements: String, to text: String) -> String? {
        var lines = text.components(separatedBy: "\n")
        guard let at = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("user ") }) else { return nil }
        lines.insert(contentsOf: statements.components(separatedBy: "\n"), at: at)
        return lines.joined(separator: "\n")
    }
}
