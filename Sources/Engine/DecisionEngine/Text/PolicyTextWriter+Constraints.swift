import SELinuxPolicy

// constrain, validatetrans and their MLS forms, from the postfix expressions the policy holds.

extension PolicyTextWriter {
    /// The constraints and validatetrans statements of every class, MLS ones or the others, in
    /// class order and, within a class, in the order the policy holds them.
    mutating func writeConstraints(mls: Bool) {
        var lines: [String] = []
        for c in db.classes {
            for k in c.constraints where k.isMLS == mls && k.permissions != 0 {
                let keyword = mls ? "mlsconstrain" : "constrain"
                lines.append(
                    "\(keyword) \(c.name) \(permissions(k.permissions, classValue: c.value)) \(expressionText(k.expression, written: k.writtenTypeSets));")
            }
        }
        for c in db.classes {
            for k in c.validateTrans where k.isMLS == mls {
                let keyword = mls ? "mlsvalidatetrans" : "validatetrans"
                lines.append("\(keyword) \(c.name) \(expressionText(k.expression, written: k.writtenTypeSets));")
            }
        }
        guard !lines.isEmpty else { return }
        section(mls ? "MLS constraints" : "Constraints")
        for l in lines { line(l) }
    }

    /// The operands a `.attribute` node compares.
    static func operands(_ a: ConstraintAttribute) -> (String, String) {
        switch a {
        case .user: ("u1", "u2")
        case .role: ("r1", "r2")
        case .type: ("t1", "t2")
        case .l1l2: ("l1", "l2")
        case .l1h2: ("l1", "h2")
        case .h1l2: ("h1", "l2")
        case .h1h2: ("h1", "h2")
        case .l1h1: ("l1", "h1")
        case .l2h2: ("l2", "h2")
        }
    }

    /// A postfix constraint expression in infix form: `not (…)`, `(… and …)`, `(… or …)`.
    ///
    /// A type set is printed as written when the policy kept it (`written`, attributes and all),
    /// otherwise as its expansion. A name set is printed by name (`t1 == { a b }`, one name without
    /// braces). The language has
    /// no empty set (checkpolicy's grammar needs at least one name, and libsepol's policy.conf
    /// writer prints the placeholder `NO_IDENTIFIER`, which does not compile), so a comparison
    /// with the empty set is written as the constant it evaluates to: `==` is false,
    /// `(u1 == u2 and u1 != u2)`; `!=` is true, `(u1 == u2 or u1 != u2)`.
    func expressionText(_ expression: [ConstraintNode], written: [Int: ConstraintTypeSet] = [:]) -> String {
        var stack: [String] = []
        for (index, node) in expression.enumerated() {
            switch node {
            case .not:
                stack.append("not (\(stack.popLast() ?? ""))")
            case .and, .or:
                let b = stack.popLast() ?? "", a = stack.popLast() ?? ""
                stack.append("(\(a) \(node.isAnd ? "and" : "or") \(b))")
            case .attribute(let a, let op):
                let (x, y) = Self.operands(a)
                stack.append("\(x) \(op.rawValue) \(y)")
            case .names(let operand, let op, _) where written[index].map({ !Self.isEmpty($0) }) ?? false:
                stack.append("\(operand.rawValue) \(op.rawValue) \(writtenSetText(written[index]!))")
            case .names(let operand, let op, let set):
                let members = set.members
                if members.isEmpty {
                    stack.append(op == .eq ? "(u1 == u2 and u1 != u2)" : "(u1 == u2 or u1 != u2)")
                    continue
                }
                let names: [String]
                switch operand {
                case .u1, .u2, .u3: names = members.map { userNames[$0] }
                case .r1, .r2, .r3: names = members.map { roleNames[$0] }
                default: names = members.map { typeNames[$0] }
                }
                stack.append("\(operand.rawValue) \(op.rawValue) \(Self.nameSet(names))")
            }
        }
        return stack.last ?? ""
    }
}

extension PolicyTextWriter {
    /// A written type set: `*`, `~…`, names with `-` for the excluded ones, braces unless one name.
    func writtenSetText(_ set: ConstraintTypeSet) -> String {
        var items = set.isAll ? ["*"] : []
        items += set.included.members.map { typeNames[$0] }
        items += set.excluded.members.map { "-" + typeNames[$0] }
        let body = items.count == 1 && !items[0].hasPrefix("-") ? items[0] : "{ " + items.joined(separator: " ") + " }"
        return set.isComplement ? "~" + body : body
    }

    /// Whether a written set names nothing at all (then only its expansion can be written).
    static func isEmpty(_ set: ConstraintTypeSet) -> Bool { set.included.isEmpty && set.excluded.isEmpty && !set.isAll }
}

extension ConstraintNode {
    fileprivate var isAnd: Bool {
        if case .and = self { return true }
        return false
    }
}
