import IPsecModel
import XfrmManager

extension ScenarioStep {
    /// The syntax of an `xfrm_migrate` step: the SPD entry as `ip xfrm policy` names it (selector,
    /// direction, type), one template with the SA's old endpoints, and the new endpoints.
    static let migrateSyntax =
        "SELECTOR dir in|out|fwd [ptype main|sub] tmpl src OLD dst OLD proto esp|ah|comp mode transport|tunnel|beet [reqid N] new src NEW dst NEW"

    /// Parses an `xfrm_migrate` line into the SPD entry it names (a `deletePolicy` by selector, the
    /// key `xfrm_migrate_policy_find` uses: selector, direction and type, no label) and the one SA
    /// move it carries. What the MIGRATE message cannot carry (a label, mark, index, priority, an
    /// SPI, several templates) is refused rather than dropped.
    static func parseMigrate(
        _ line: String, fail: (String) throws(Scenario.Error) -> Never
    ) throws(Scenario.Error) -> (XfrmOperation, SAMigration) {
        let words: [String]
        do { words = try IPXfrmSyntax.words(line) } catch { try fail("\(error)") }
        guard let new = words.firstIndex(of: "new"), words.lastIndex(of: "new") == new else {
            try fail("expected `\(migrateSyntax)` (one `new`, before the new endpoints)")
        }
        let entry: PolicyEntry
        do {
            guard case .addPolicy(let e) = try IPXfrmSyntax.parse(words: ["policy", "add"] + words[..<new]) else {
                try fail("expected `\(migrateSyntax)`")
            }
            entry = e
        } catch let error as Scenario.Error {
            throw error
        } catch {
            try fail("\(error)")
        }
        if entry.securityContext != nil {
            try fail("a MIGRATE names the SPD entry by selector, direction and type only (xfrm_migrate_policy_find): no ctx")
        }
        let plain = PolicyEntry(selector: entry.selector, direction: entry.direction, templates: entry.templates, policyType: entry.policyType)
        guard entry == plain else {
            try fail("a MIGRATE carries the selector, direction and type of the SPD entry only: no mark, if_id, index, priority, action, flag or limit")
        }
        guard entry.templates.count == 1, let t = entry.templates.first else {
            try fail("expected one `tmpl` with the SA's old endpoints (one SA moves per step)")
        }
        guard t.spi == 0, !t.optional else { try fail("a migration has no SPI or level: the SA is found by mode, protocol, endpoints and reqid") }
        guard t.source != .any(t.source.family), t.destination != .any(t.destination.family) else {
            try fail("the `tmpl` needs the SA's old `src` and `dst`: the kernel finds the SA by them")
        }
        let rest = Array(words[(new + 1)...])
        guard rest.count == 4, rest[0] == "src", rest[2] == "dst", let source = IPAddress(rest[1]), let destination = IPAddress(rest[3]) else {
            try fail("expected `new src ADDRESS dst ADDRESS` at the end")
        }
        guard source.family == destination.family else { try fail("the new endpoints are of two families: \(source), \(destination)") }
        guard source != .any(source.family), destination != .any(destination.family) else {
            try fail("the kernel refuses an unspecified new endpoint (EINVAL, xfrm_migrate_check)")
        }
        let migration = SAMigration(
            proto: t.proto, mode: t.mode, reqid: t.reqid, oldSource: t.source, oldDestination: t.destination, newSource: source,
            newDestination: destination)
        let key = XfrmOperation.deletePolicy(
            .selector(entry.selector, entry.direction, securityContext: nil), mark: nil, policyType: entry.policyType, interfaceID: nil)
        return (key, migration)
    }
}
