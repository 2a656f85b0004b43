public import SecurityContexts
import SELinuxPolicy

// A constraint evaluated operand by operand (`salabel why`, Specs/resolver/why.md): each
// comparison of the expression with the values it compared and whether it held, and for two
// levels, which dominated which and which categories one lacks.

/// One comparison of a constraint expression (`l1 dom l2`, `t1 == { a b }`, `r1 dom r2`)
/// evaluated for a source and a target context.
public struct ConstraintTerm: Sendable, Hashable {
    /// One side of the comparison: its operand (`l1`, `t2`, or the set written on the right of
    /// `==`) and the value it had.
    public struct Operand: Sendable, Hashable {
        /// `u1`, `r2`, `l1`, `h2`, … or, for a name set, the set as written.
        public var name: String
        /// The context's user, role, type or level; for a name set, nil.
        public var value: String?
    }

    /// The comparison as the policy writes it.
    public var text: String
    /// Whether it held for the two contexts.
    public var holds: Bool
    public var left: Operand
    public var right: Operand
    /// For two levels: how they compare.
    public var levels: LevelComparison?

    /// Why it held or not, in words: the operands' values and, for levels, the sensitivities and
    /// the categories that decide it.
    public var explanation: String {
        let l = left.value.map { "\(left.name) = \($0)" } ?? left.name
        let r = right.value.map { "\(right.name) = \($0)" } ?? right.name
        if let levels { return "\(l), \(r): \(levels.explanation(left.name, right.name))" }
        if right.value == nil {
            let member = text.contains("!=") ? !holds : holds
            return "\(l) is \(member ? "" : "not ")in \(right.name)"
        }
        return "\(l), \(r)"
    }
}

/// How two MLS levels compare: the relation and what makes it.
public struct LevelComparison: Sendable, Hashable {
    /// The first level against the second: equal, dominates (strictly), dominated by, incomparable.
    public var relation: MLSRelation
    /// The first level's sensitivity against the second's: negative below, 0 the same, positive above.
    public var sensitivityOrder: Int
    /// The first level's sensitivity.
    public var sensitivity: String
    /// The second level's sensitivity.
    public var otherSensitivity: String
    /// Categories of the second level the first lacks (why the first does not dominate), as the
    /// kernel prints a category set (`c0.c3,c7`); empty when none.
    public var lacking: String
    /// Categories of the first level the second lacks (why the second does not dominate); empty
    /// when none.
    public var extra: String

    /// In words, with the operands named `a` and `b`: `l1 is dominated by l2: sensitivity s0 is
    /// below s1; l1 lacks c3`.
    public func explanation(_ a: String, _ b: String) -> String {
        let relationText: String
        switch relation {
        case .equal: relationText = "\(a) equals \(b)"
        case .dominates: relationText = "\(a) dominates \(b) and differs from it"
        case .dominatedBy: relationText = "\(a) is dominated by \(b) and differs from it"
        case .incomparable: relationText = "\(a) and \(b) are incomparable"
        }
        var parts: [String] = []
        switch sensitivityOrder {
        case ..<0: parts.append("sensitivity \(sensitivity) is below \(otherSensitivity)")
        case 0: parts.append("both at sensitivity \(sensitivity)")
        default: parts.append("sensitivity \(sensitivity) is above \(otherSensitivity)")
        }
        if !lacking.isEmpty { parts.append("\(a) lacks \(lacking)") }
        if !extra.isEmpty { parts.append("\(b) lacks \(extra)") }
        return relationText + " (" + parts.joined(separator: "; ") + ")"
    }
}

extension PolicySnapshot {
    /// Each comparison of a postfix constraint expression, in the order written, evaluated for
    /// `s` and `t` as `evaluate` evaluates it (comparisons of a third context are left out: a
    /// constraint has none); `writer` (over this snapshot's policy) prints each one.
    func terms(
        _ expression: [ConstraintNode], written: [Int: ConstraintTypeSet], _ s: ResolvedContext, _ t: ResolvedContext,
        writer: PolicyTextWriter
    ) -> [ConstraintTerm] {
        var out: [ConstraintTerm] = []
        for (index, node) in expression.enumerated() {
            let text = writer.expressionText([node], written: written[index].map { [0: $0] } ?? [:])
            switch node {
            case .attribute(let attribute, let op):
                let (a, b) = PolicyTextWriter.operands(attribute)
                var term = ConstraintTerm(
                    text: text, holds: compare(attribute, op, s, t), left: .init(name: a, value: value(a, s, t)),
                    right: .init(name: b, value: value(b, s, t)))
                if let x = level(a, s, t), let y = level(b, s, t), let mls = policy.mls {
                    term.levels = Self.levelComparison(x, y, mls)
                }
                out.append(term)
            case .names(let operand, let op, let set):
                guard let v = value(operand.rawValue, s, t) else { continue }
                let member = set.contains(Int(id(operand, operand.rawValue.hasSuffix("1") ? s : t)))
                // The set as written after `t1 == ` (an empty set with nothing written is printed as a constant).
                let setText = text.hasPrefix("(") ? "{ }" : String(text.dropFirst(operand.rawValue.count + op.rawValue.count + 2))
                out.append(
                    ConstraintTerm(
                        text: text, holds: op == .neq ? !member : member, left: .init(name: operand.rawValue, value: v),
                        right: .init(name: setText, value: nil)))
            case .not, .and, .or:
                continue
            }
        }
        return out
    }

    private func id(_ operand: ConstraintOperand, _ c: ResolvedContext) -> Int32 {
        switch operand {
        case .u1, .u2, .u3: c.user
        case .r1, .r2, .r3: c.role
        default: c.type
        }
    }

    /// The value of an operand (`u1`, `r2`, `t1`, `l2`, `h1`) for the two contexts, by name.
    private func value(_ operand: String, _ s: ResolvedContext, _ t: ResolvedContext) -> String? {
        guard operand.count == 2, let side = operand.last, side == "1" || side == "2" else { return nil }
        let c = side == "1" ? s : t
        switch operand.first {
        case "u": return policy.users[Int(c.user)].name
        case "r": return policy.roles[Int(c.role)].name
        case "t": return policy.types[Int(c.type)].name
        default: return level(operand, s, t).flatMap { l in policy.mls.map { $0.text(l) } }
        }
    }

    private func level(_ operand: String, _ s: ResolvedContext, _ t: ResolvedContext) -> MLSLevel? {
        switch operand {
        case "l1": s.low
        case "h1": s.high
        case "l2": t.low
        case "h2": t.high
        default: nil
        }
    }

    static func levelComparison(_ a: MLSLevel, _ b: MLSLevel, _ mls: MLSVocabulary) -> LevelComparison {
        LevelComparison(
            relation: a.relation(to: b), sensitivityOrder: a.sensitivity - b.sensitivity,
            sensitivity: mls.sensitivities[a.sensitivity].name, otherSensitivity: mls.sensitivities[b.sensitivity].name,
            lacking: mls.canonicalCategories(b.categories.subtracting(a.categories)),
            extra: mls.canonicalCategories(a.categories.subtracting(b.categories)))
    }
}
