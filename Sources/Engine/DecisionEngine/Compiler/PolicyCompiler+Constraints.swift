import SELinuxPolicy

// `constrain`, `mlsconstrain`, `validatetrans`, `mlsvalidatetrans`: expressions compiled to the
// kernel's postfix form (security/selinux/ss/constraint.h), with the operand/operator combinations
// checkpolicy accepts.

extension PolicyCompiler {
    /// The kernel evaluates constraint expressions on a stack of this depth
    /// (`CEXPR_MAXDEPTH` in security/selinux/ss/constraint.h); deeper expressions cannot be evaluated.
    static let constraintMaxDepth = 5

    mutating func compileConstraint(classes: NameSet, permissions: NameSet, _ expr: ConstraintExpr, isMLS: Bool, at loc: SourceLocation) throws(PolicyError) {
        let postfix = try constraintPostfix(expr, isMLS: isMLS, allowThird: false, at: loc)
        let written = try writtenTypeSets(expr, postfix, at: loc)
        for c in try classValueList(classes, at: loc) {
            let mask = try permissionMask(permissions, classValue: c, at: loc)
            db.classes[c - 1].constraints.append(
                Constraint(permissions: mask, expression: postfix, isMLS: isMLS, location: loc, writtenTypeSets: written))
        }
    }

    mutating func compileValidateTrans(classes: NameSet, _ expr: ConstraintExpr, isMLS: Bool, at loc: SourceLocation) throws(PolicyError) {
        let postfix = try constraintPostfix(expr, isMLS: isMLS, allowThird: true, at: loc)
        let written = try writtenTypeSets(expr, postfix, at: loc)
        for c in try classValueList(classes, at: loc) {
            db.classes[c - 1].validateTrans.append(
                Constraint(permissions: 0, expression: postfix, isMLS: isMLS, location: loc, writtenTypeSets: written))
        }
    }

    /// The type sets of an expression as written, keyed by the index of their `.names` node in the
    /// postfix form (the operands appear in the same order in both).
    private func writtenTypeSets(_ expr: ConstraintExpr, _ postfix: [ConstraintNode], at loc: SourceLocation) throws(PolicyError)
        -> [Int: ConstraintTypeSet]
    {
        var sets: [NameSet?] = []
        func collect(_ e: ConstraintExpr) {
            switch e {
            case .not(let a): collect(a)
            case .and(let a, let b), .or(let a, let b):
                collect(a)
                collect(b)
            case .attributes: sets.append(nil)
            case .names(let operand, _, let names): sets.append([.t1, .t2, .t3].contains(operand) ? names : nil)
            }
        }
        collect(expr)
        var out: [Int: ConstraintTypeSet] = [:]
        var operand = 0
        for (i, node) in postfix.enumerated() {
            switch node {
            case .attribute, .names:
                if let set = sets[operand] {
                    func indices(_ names: [String]) throws(PolicyError) -> Bitset {
                        var b = Bitset()
                        for n in names {
                            guard let v = db.typeIndex[n] else { throw PolicyError("unknown type or attribute \(n)", at: loc) }
                            b.insert(v)
                        }
                        return b
                    }
                    out[i] = ConstraintTypeSet(
                        included: try indices(set.included), excluded: try indices(set.excluded), isAll: set.isAll, isComplement: set.isComplement)
                }
                operand += 1
            default: break
            }
        }
        return out
    }

    private func constraintPostfix(_ expr: ConstraintExpr, isMLS: Bool, allowThird: Bool, at loc: SourceLocation) throws(PolicyError) -> [ConstraintNode] {
        var out: [ConstraintNode] = []
        try emit(expr, isMLS: isMLS, allowThird: allowThird, into: &out, at: loc)
        var depth = 0, maxDepth = 0
        for node in out {
            switch node {
            case .not: break
            case .and, .or: depth -= 1
            case .attribute, .names: depth += 1; maxDepth = max(maxDepth, depth)
            }
        }
        guard maxDepth <= PolicyCompiler.constraintMaxDepth else {
            throw PolicyError("constraint expression needs a stack of \(maxDepth); the kernel evaluates at most \(PolicyCompiler.constraintMaxDepth)", at: loc)
        }
        return out
    }

    private func emit(_ e: ConstraintExpr, isMLS: Bool, allowThird: Bool, into out: inout [ConstraintNode], at loc: SourceLocation) throws(PolicyError) {
        switch e {
        case .not(let a):
            try emit(a, isMLS: isMLS, allowThird: allowThird, into: &out, at: loc); out.append(.not)
        case .and(let a, let b):
            try emit(a, isMLS: isMLS, allowThird: allowThird, into: &out, at: loc)
            try emit(b, isMLS: isMLS, allowThird: allowThird, into: &out, at: loc)
            out.append(.and)
        case .or(let a, let b):
            try emit(a, isMLS: isMLS, allowThird: allowThird, into: &out, at: loc)
            try emit(b, isMLS: isMLS, allowThird: allowThird, into: &out, at: loc)
            out.append(.or)
        case .attributes(let left, let op, let right):
            let attribute: ConstraintAttribute
            switch (left, right) {
            case (.u1, .u2): attribute = .user
            case (.r1, .r2): attribute = .role
            case (.t1, .t2): attribute = .type
            case (.l1, .l2): attribute = .l1l2
            case (.l1, .h2): attribute = .l1h2
            case (.h1, .l2): attribute = .h1l2
            case (.h1, .h2): attribute = .h1h2
            case (.l1, .h1): attribute = .l1h1
            case (.l2, .h2): attribute = .l2h2
            default:
                throw PolicyError("cannot compare \(left.rawValue) with \(right.rawValue) in a constraint", at: loc)
            }
            switch attribute {
            case .user, .type:
                guard op == .eq || op == .neq else {
                    throw PolicyError("\(op.rawValue) is only defined for roles and levels", at: loc)
                }
            case .role: break
            default:
                guard isMLS else { throw PolicyError("MLS levels can only be compared in mlsconstrain or mlsvalidatetrans", at: loc) }
            }
            out.append(.attribute(attribute, op))
        case .names(let operand, let op, let names):
            guard op == .eq || op == .neq else {
                throw PolicyError("only == and != compare with names", at: loc)
            }
            let bits: Bitset
            switch operand {
            case .u1, .u2, .u3: bits = try userValues(names, at: loc)
            case .r1, .r2, .r3: bits = Bitset(try roleValues(names, at: loc))
            case .t1, .t2, .t3: bits = try concreteTypes(names, at: loc)
            case .l1, .l2, .h1, .h2:
                throw PolicyError("levels cannot be compared with names", at: loc)
            }
            if !allowThird && (operand == .u3 || operand == .r3 || operand == .t3) {
                throw PolicyError("\(operand.rawValue) is only allowed in validatetrans", at: loc)
            }
            out.append(.names(operand, op, bits))
        }
    }
}
