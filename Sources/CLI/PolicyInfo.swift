import DecisionEngine

/// `salabel policy info`: counts of the policy's components (`PolicyStatistics`), named as seinfo names them.
enum PolicyInfo {
    static func answer(_ server: SecurityServer, name: String) -> Answer {
        let stats = server.policy.statistics
        var text =
            "Policy: \(name)\nMLS: \(stats.mlsEnabled ? "enabled" : "disabled")  handle_unknown: \(stats.handleUnknown.rawValue)  mode: \(server.enforcing ? "enforcing" : "permissive")\n"
        for c in stats.counts { text += "  \(c.label + ":")\(String(repeating: " ", count: max(1, 26 - c.label.count)))\(c.value)\n" }
        let json: [String: Any] = [
            "policy": name, "mls": stats.mlsEnabled, "handle_unknown": stats.handleUnknown.rawValue, "enforcing": server.enforcing,
            "counts": Dictionary(uniqueKeysWithValues: stats.counts.map { ($0.key, $0.value) }), "policycaps": stats.policyCapabilities,
        ]
        return Answer(status: Status.allowed, text: String(text.dropLast()), json: json)
    }
}
