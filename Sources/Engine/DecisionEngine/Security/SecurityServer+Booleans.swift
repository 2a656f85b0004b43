public import SecurityContexts

extension SecurityServer {
    /// The booleans that, each set alone to the value given, grant every one of `permissions`
    /// (`salabel why`'s boolean fix, audit2why's "the boolean … was set incorrectly"). Only the
    /// booleans of conditionals whose branches hold an `allow` rule for the two types (through
    /// their attributes), the class and one of the permissions are tried, each on a scratch copy
    /// of the policy with the current values; this server is not changed.
    public func booleansGranting(
        source: SecurityContext, target: SecurityContext, objectClass: String, permissions: [String]
    ) throws(DecisionError) -> [(name: String, value: Bool)] {
        let snap = snapshot
        let policy = snap.policy
        let s = try policy.resolve(source), t = try policy.resolve(target)
        guard let c = policy.classValues[objectClass] else { throw .unknownClass(objectClass) }
        let bits = permissionBits(objectClass, permissions)
        guard bits != 0 else { return [] }
        var keys = Set<UInt64>()
        for i in policy.typeAttributeMap[Int(s.type)] {
            for j in policy.typeAttributeMap[Int(t.type)] { keys.insert(AVTable.key(source: Int(i), target: Int(j), classValue: c)) }
        }
        var candidates = Set<Int>()
        for cond in policy.conditionals {
            let rules = cond.trueRules.av + cond.falseRules.av
            guard rules.contains(where: { keys.contains($0.key) && $0.entry.allowed & bits != 0 }) else { continue }
            for node in cond.expression { if case .bool(let b) = node { candidates.insert(b) } }
        }
        guard !candidates.isEmpty else { return [] }
        let current = booleans
        let scratch = try SecurityServer(policy: policy, enforcing: true, booleans: current)
        var found: [(name: String, value: Bool)] = []
        for b in candidates.sorted() where b >= 0 && b < policy.bools.count {
            let name = policy.bools[b].name
            guard let value = current[name].map({ !$0 }) else { continue }
            try scratch.setBooleans([name: value])
            let d = try scratch.computeAccess(source: source, target: target, objectClass: objectClass)
            if permissions.allSatisfy({ d.allowed.contains($0) }) { found.append((name, value)) }
            try scratch.setBooleans([name: !value])
        }
        return found
    }
}
