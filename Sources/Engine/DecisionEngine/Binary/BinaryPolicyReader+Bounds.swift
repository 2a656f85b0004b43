// The bounds checks made after the last byte (§3.3.5, §4.4): each chain of type, role and user
// bounds is followed; a loop, a self-bound or four links or more are refused (the kernel's
// `POLICYDB_BOUNDS_MAXDEPTH`), and a bounded role or user may not have what its bounds lack.

extension BinaryPolicyReader {
    /// Follows the chain from `start`; calls `check` with each bound on the way.
    func followBounds(
        from start: Int, name: String, offset: Int, section: BinaryPolicySection, bounds: (Int) -> Int?,
        check: (Int) throws(BinaryPolicyError) -> Void
    ) throws(BinaryPolicyError) {
        var current = start
        var links = 0
        while let b = bounds(current) {
            links += 1
            guard b != start, links < 4 else {
                throw error(.boundsCycle("the chain from \(name) loops or is too deep (\(links) links)"), at: offset, in: section)
            }
            try check(b)
            current = b
        }
    }

    func validateBounds() throws(BinaryPolicyError) {
        for (i, t) in db.types.enumerated() where t.bounds != nil {
            try followBounds(from: i, name: t.name, offset: typeOffsets[i], section: .types, bounds: { db.types[$0].bounds }, check: { _ in })
        }
        for (i, r) in db.roles.enumerated() where r.bounds != nil {
            try followBounds(from: i, name: r.name, offset: roleOffsets[i], section: .roles, bounds: { db.roles[$0].bounds }) {
                (b) throws(BinaryPolicyError) in
                var extra = r.types
                extra.subtract(db.roles[b].types)
                guard extra.isEmpty else {
                    throw error(.invalid("role \(r.name) has types its bound \(db.roles[b].name) lacks"), at: roleOffsets[i], in: .roles)
                }
            }
        }
        for (i, u) in db.users.enumerated() where u.bounds != nil {
            try followBounds(from: i, name: u.name, offset: userOffsets[i], section: .users, bounds: { db.users[$0].bounds }) {
                (b) throws(BinaryPolicyError) in
                var extra = u.roles
                extra.subtract(db.users[b].roles)
                guard extra.isEmpty else {
                    throw error(.invalid("user \(u.name) has roles its bound \(db.users[b].name) lacks"), at: userOffsets[i], in: .users)
                }
            }
        }
    }
}
