import DecisionEngine
import Foundation

// `policy_capabilities:` (Specs/scenarios/README.md): the scenario's own choice of the policy
// capabilities that decide which of the kernel's network checks run (Specs/kernel/labeled-ipsec.md
// §a: `network_peer_controls` picks the peer checks over the compat checks D3/D4,
// `always_check_network` turns the peer checks on without a labeled object, edge 26).
extension Scenario {
    /// Parses `policy_capabilities: { NAME: true|false, … }`: each name one the kernel knows
    /// (``PolicyCompiler/knownCapabilities``), each value a boolean.
    static func policyCapabilities(
        _ top: [String: Any], fail: (String, String) -> Scenario.Error
    ) throws(Scenario.Error) -> [String: Bool] {
        guard let value = top["policy_capabilities"] else { return [:] }
        guard let map = value as? [String: Any] else {
            throw fail("policy_capabilities", "expected a mapping of policy capability names to true/false")
        }
        var out: [String: Bool] = [:]
        for name in map.keys.sorted() {
            guard PolicyCompiler.knownCapabilities.contains(name) else {
                let known = PolicyCompiler.knownCapabilities.sorted().joined(separator: ", ")
                throw fail("policy_capabilities.\(name)", "not a policy capability the kernel knows (known: \(known))")
            }
            guard let on = map[name] as? Bool else {
                throw fail("policy_capabilities.\(name)", "expected true (add `policycap \(name);`) or false (remove it)")
            }
            out[name] = on
        }
        return out
    }

    /// `base` with the scenario's ``policyCapabilities`` applied: every `policycap NAME;` statement
    /// of a named capability that begins a line is taken out (a commented-out one stays a
    /// comment), and those set to `true` are returned as statements to add with the scenario's
    /// rules (a `policycap` statement may stand anywhere in the type enforcement part).
    func applyingCapabilities(to base: String) -> (text: String, added: String?) {
        guard !policyCapabilities.isEmpty else { return (base, nil) }
        var lines: [Substring] = []
        for line in base.split(separator: "\n", omittingEmptySubsequences: false) {
            if let name = Self.capabilityStatement(line), policyCapabilities[name] != nil {
                lines.append("# policycap \(name); (removed by policy_capabilities of scenario \(self.name))")
            } else {
                lines.append(line)
            }
        }
        let on = policyCapabilities.filter(\.value).keys.sorted()
        let added = on.isEmpty ? nil : "# policy_capabilities of scenario \(name)\n" + on.map { "policycap \($0);" }.joined(separator: "\n")
        return (lines.joined(separator: "\n"), added)
    }

    /// The capability a line's leading `policycap NAME;` statement names, or nil.
    static func capabilityStatement(_ line: Substring) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 2, words[0] == "policycap" else { return nil }
        let rest = words[1...].joined(separator: " ")
        guard let semicolon = rest.firstIndex(of: ";") else { return nil }
        let name = rest[..<semicolon].trimmingCharacters(in: .whitespaces)
        return name.isEmpty || name.contains(" ") ? nil : name
    }
}
