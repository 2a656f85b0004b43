public import SELinuxPolicy

/// Counts of what a policy declares, in the order and with the labels `seinfo` prints them
/// (`Classes`, `Permissions`, `Allow keys`, …), as `salabel policy info` reports them.
///
/// Unconditional AV rules are counted by key of the compiled table: one per (source, target, class)
/// that has an `allow` (`Allow keys`), an `auditallow` (`Auditallow keys`) or a `dontaudit`
/// (`Dontaudit keys`), not one per statement of the source.
public struct PolicyStatistics: Sendable, Hashable {
    /// One count, labelled as `seinfo` labels it.
    public struct Count: Sendable, Hashable {
        /// `seinfo`'s label: `Classes`, `Type transitions`, …
        public var label: String
        public var value: Int
        /// The label in lower case with `_` for spaces (`type_transitions`): a stable key.
        public var key: String { label.lowercased().split(separator: " ").joined(separator: "_") }

        public init(label: String, value: Int) {
            self.label = label
            self.value = value
        }
    }

    /// Every count, in `seinfo`'s order.
    public var counts: [Count]
    /// The policy has MLS enabled.
    public var mlsEnabled: Bool
    /// What the kernel does with classes and permissions the policy does not define.
    public var handleUnknown: HandleUnknown
    /// The `policycap` names, in declaration order.
    public var policyCapabilities: [String]

    /// The count labelled `label`, if there is one.
    public subscript(_ label: String) -> Int? { counts.first { $0.label == label }?.value }

    /// Counts the components of `p`.
    public init(_ p: PolicyDB) {
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
            ("Type transitions", (p.typeRules[.transition]?.count ?? 0) + p.filenameTransitions.count),
            ("Type members", p.typeRules[.member]?.count ?? 0),
            ("Type changes", p.typeRules[.change]?.count ?? 0),
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
        counts = rows.map { Count(label: $0.0, value: $0.1) }
        mlsEnabled = p.mlsEnabled
        handleUnknown = p.handleUnknown
        policyCapabilities = p.policyCapabilities
    }
}

extension PolicyDB {
    /// Counts of what the policy declares, as `seinfo` labels them.
    public var statistics: PolicyStatistics { PolicyStatistics(self) }
}
