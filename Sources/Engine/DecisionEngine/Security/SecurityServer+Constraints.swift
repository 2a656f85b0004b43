public import SecurityContexts

/// A constraint that denies permissions to two contexts (`salabel why`): its statement as written,
/// the permissions it covers among those asked.
public struct FailingConstraint: Sendable, Hashable {
    /// `mlsconstrain` or `constrain`.
    public var isMLS: Bool
    /// The permissions it denies among those asked.
    public var permissions: [String]
    /// The expression in the policy language's infix form, type sets as written.
    public var expression: String
    /// The whole statement: `mlsconstrain CLASS { PERMS } EXPRESSION;`.
    public var statement: String
    /// Each comparison of the expression, in the order written, with the values it compared and
    /// whether it held.
    public var terms: [ConstraintTerm]
}

extension SecurityServer {
    /// The constraints of `objectClass` on any of `permissions` that do not hold for `source` and
    /// `target` (security/selinux/ss/services.c: `constraint_expr_eval`, each constraint alone), in
    /// the policy's order.
    public func failingConstraints(
        source: SecurityContext, target: SecurityContext, objectClass: String, permissions: [String]
    ) throws(DecisionError) -> [FailingConstraint] {
        let snap = snapshot
        let s = try snap.policy.resolve(source), t = try snap.policy.resolve(target)
        guard let c = snap.policy.classValues[objectClass] else { throw .unknownClass(objectClass) }
        let bits = permissionBits(objectClass, permissions)
        let writer = PolicyTextWriter(snap.policy)
        return snap.policy.classes[c - 1].constraints.filter { $0.permissions & bits != 0 && !snap.evaluate($0.expression, s, t, nil) }.map {
            let perms = snap.policy.permissionNames($0.permissions & bits, classValue: c)
            let expression = writer.expressionText($0.expression, written: $0.writtenTypeSets)
            return FailingConstraint(
                isMLS: $0.isMLS, permissions: perms, expression: expression,
                statement: "\($0.isMLS ? "mlsconstrain" : "constrain") \(objectClass) { \(perms.joined(separator: " ")) } \(expression);",
                terms: snap.terms($0.expression, written: $0.writtenTypeSets, s, t, writer: writer))
        }
    }
}
