import DecisionEngine

/// `salabel policy info`: counts of the policy's components, named as seinfo names them.
enum PolicyInfo {
    static func answer(_ server: SecurityServer, name: String) -> Answer {
        let p = server.policy
        var allow = 0, auditallow = 0, dontaudit = 0
        p.avTable.forEach { _, e in
            if e.allowed != 0 { allow += 1 }
            if e.auditAllow != 0 { auditallow += 1 }
            if e.auditDeny != ~0 { dontaudit += 1 }
        }
        var condAV = 0, condType = 0
        for c in p.conditionals {
            condAV += c.trueRules.av.count + c.falseRules.av.count
            condType += c.trueRules.typeRules.count + c.falseRules.typeRules.count
        }
        let rows: [(String, Int)] = [
            ("Classes", p.classes.count),
            ("Permissions", Set(p.classes.flatMap(\.permissions)).count),
            ("Commons", p.commons.count),
            ("Sensitivities", p.mls?.sensitivityCount ?? 0),
            ("Categories", p.mls?.categoryCount ?? 0),
            ("Types", p.typeCount),
            ("Attributes", p.attributeCount),
            ("Users", p.users.count),
            ("Roles", p.roles.count),
            ("Booleans", p.bools.count),
            ("Conditionals", p.conditionals.count),
            ("Allow keys", allow),
            ("Auditallow keys", auditallow),
            ("Dontaudit keys", dontaudit),
            ("Conditional AV rules", condAV),
            ("Type transitions", p.typeRules[.transition]!.count + p.filenameTransitions.count),
            ("Type members", p.typeRules[.member]!.count),
            ("Type changes", p.typeRules[.change]!.count),
            ("Conditional type rules", condType),
            ("Role allow", p.roleAllows.count),
            ("Role transitions", p.roleTransitions.count),
            ("Range transitions", p.rangeTransitions.count),
            ("Constraints", p.classes.reduce(0) { $0 + $1.constraints.filter { !$0.isMLS }.count }),
            ("MLS constraints", p.classes.reduce(0) { $0 + $1.constraints.filter(\.isMLS).count }),
            ("Validatetrans", p.classes.reduce(0) { $0 + $1.validateTrans.count }),
            ("Typebounds", p.types.filter { $0.bounds != nil }.count),
            ("Permissive types", p.types.filter(\.isPermissive).count),
            ("Neverallow", p.neverallowCount),
            ("Policy capabilities", p.policyCapabilities.count),
            ("Initial SIDs", p.initialSIDs.count),
            ("Portcon", p.portcons.count),
            ("Netifcon", p.netifcons.count),
            ("Nodecon", p.nodecons.count),
            ("Genfscon", p.genfscons.count),
            ("Fs_use", p.fsUses.count),
        ]
        var text = "Policy: \(name)\nMLS: \(p.mlsEnabled ? "enabled" : "disabled")  handle_unknown: \(p.handleUnknown.rawValue)  mode: \(server.enforcing ? "enforcing" : "permissive")\n"
        for (label, n) in rows { text += "  \(label + ":")\(String(repeating: " ", count: max(1, 26 - label.count)))\(n)\n" }
        var json: [String: Any] = ["policy": name, "mls": p.mlsEnabled, "handle_unknown": p.handleUnknown.rawValue, "enforcing": server.enforcing]
        var counts: [String: Int] = [:]
        for (label, n) in rows { counts[label.lowercased().replacingOccurrences(of: " ", with: "_")] = n }
        json["counts"] = counts
        json["policycaps"] = p.policyCapabilities
        return Answer(status: Status.allowed, text: String(text.dropLast()), json: json)
    }
}
