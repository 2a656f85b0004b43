public import SecurityContexts

/// A context resolved against a policy: user, role and type values, and the MLS range when the
/// policy has MLS. The kernel's `struct context`.
public struct ResolvedContext: Sendable, Hashable {
    public var user: Int32
    public var role: Int32
    public var type: Int32
    public var low: MLSLevel?
    public var high: MLSLevel?

    public init(user: Int32, role: Int32, type: Int32, low: MLSLevel? = nil, high: MLSLevel? = nil) {
        self.user = user
        self.role = role
        self.type = type
        self.low = low
        self.high = high
    }
}

extension PolicyDB {
    /// Resolves and validates a context as the kernel does when it maps a context to a SID
    /// (`string_to_context_struct` + `policydb_context_isvalid` + `mls_context_isvalid`):
    /// user, role and type must exist and the type must not be an attribute; unless the role is
    /// `object_r`, the role must be authorized for the type and the user for the role; the MLS range
    /// must be valid (known sensitivities and categories allowed with them, high dominating low) and,
    /// unless the role is `object_r`, contained in the user's range. A policy without MLS refuses a
    /// context with a range; an MLS policy requires one.
    public func resolve(_ context: SecurityContext, categoryRule: CategoryRangeRule = .kernelContext) throws(DecisionError) -> ResolvedContext {
        try resolve(context, categoryRule: categoryRule, validating: true)
    }

    /// The context's names mapped into this policy, without the validity checks (`policydb_context_isvalid`:
    /// the role's types, the user's roles, the user's range): what the kernel's `convert_context`
    /// keeps on a policy load in permissive mode for a context whose names all still exist but
    /// which the new policy finds invalid (`convert_context_handle_invalid_context`).
    /// - Throws: ``DecisionError/invalidContext(_:reason:)`` for a name the policy lacks.
    public func resolveNames(_ context: SecurityContext, categoryRule: CategoryRangeRule = .kernelContext) throws(DecisionError) -> ResolvedContext {
        try resolve(context, categoryRule: categoryRule, validating: false)
    }

    private func resolve(_ context: SecurityContext, categoryRule: CategoryRangeRule, validating: Bool) throws(DecisionError) -> ResolvedContext {
        func invalid(_ reason: String) -> DecisionError { .invalidContext(context.description, reason: reason) }
        guard let u = userIndex[context.user] else { throw invalid("unknown user \(context.user)") }
        guard let r = roleIndex[context.role] else { throw invalid("unknown role \(context.role)") }
        guard let t = typeIndex[context.type] else { throw invalid("unknown type \(context.type)") }
        guard !types[t].isAttribute else { throw invalid("\(context.type) is an attribute, not a type") }
        if r != 0 && validating {
            guard roles[r].types.contains(t) else { throw invalid("role \(context.role) is not authorized for type \(types[t].name)") }
            guard users[u].roles.contains(r) else { throw invalid("user \(context.user) is not authorized for role \(context.role)") }
        }
        var resolved = ResolvedContext(user: Int32(u), role: Int32(r), type: Int32(t))
        if let mls {
            guard let range = context.range else { throw invalid("the policy has MLS and the context has no level") }
            let resolvedRange: MLSRange
            do { resolvedRange = try mls.resolve(range, rule: categoryRule) } catch { throw invalid(error.description) }
            if validating, r != 0, let userRange = users[u].range, !userRange.contains(resolvedRange) {
                throw invalid("range \(mls.text(resolvedRange)) is not within user \(context.user)'s range \(mls.text(userRange))")
            }
            resolved.low = resolvedRange.low
            resolved.high = resolvedRange.high
        } else if context.range != nil {
            throw invalid("the policy has no MLS and the context has a level")
        }
        return resolved
    }

    /// Whether a resolved context is valid (the check made on computed contexts).
    public func isValid(_ c: ResolvedContext) -> Bool { invalidityReason(c) == nil }

    /// Why a resolved context is not valid (`policydb_context_isvalid`), or `nil` if it is.
    public func invalidityReason(_ c: ResolvedContext) -> String? {
        let r = Int(c.role), u = Int(c.user), t = Int(c.type)
        guard u >= 0, u < users.count, r >= 0, r < roles.count, t >= 0, t < types.count else { return "value out of range" }
        guard !types[t].isAttribute else { return "\(types[t].name) is an attribute" }
        if r != 0 {
            guard roles[r].types.contains(t) else { return "role \(roles[r].name) is not authorized for type \(types[t].name)" }
            guard users[u].roles.contains(r) else { return "user \(users[u].name) is not authorized for role \(roles[r].name)" }
        }
        if let mls {
            guard let low = c.low, let high = c.high else { return "no MLS range" }
            let range = MLSRange(low: low, high: high)
            guard mls.isValid(range) else { return "invalid MLS range \(mls.text(range))" }
            if r != 0, let userRange = users[u].range, !userRange.contains(range) {
                return "range \(mls.text(range)) is not within user \(users[u].name)'s range \(mls.text(userRange))"
            }
        }
        return nil
    }

    /// The text form of a resolved context, with primary names and the canonical MLS form.
    public func context(_ c: ResolvedContext) -> SecurityContext {
        var out = SecurityContext(user: users[Int(c.user)].name, role: roles[Int(c.role)].name, type: types[Int(c.type)].name)
        if let mls, let low = c.low, let high = c.high {
            out.range = mls.syntax(MLSRange(low: low, high: high))
        }
        return out
    }
}
