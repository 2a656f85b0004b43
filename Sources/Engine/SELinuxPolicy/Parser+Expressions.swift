// Conditional (boolean) and constraint expressions, with the precedence of checkpolicy's grammar:
//   %left OR   %left XOR   %left AND   %right NOT   %left EQUALS NOTEQUAL
// lowest first. `not` binds looser than `==`/`!=`: `!a == b` is `!(a == b)`, and a `not` written
// after a binary operator takes the operand up to the next operator that binds looser than `not`.

extension Parser {
    // MARK: Conditional expressions

    private static func conditionalPrecedence(_ kind: TokenKind) -> Int {
        switch kind {
        case .or: return 1
        case .xor: return 2
        case .and: return 3
        case .equals, .notEquals: return 5
        default: return 0
        }
    }

    /// Precedence of `not` in both expression languages (between `and` and `==`).
    private static let notPrecedence = 4

    /// A conditional expression (the condition of an `if`).
    mutating func parseConditionalExpression() throws(PolicyError) -> ConditionalExpr {
        try parseConditional(minimum: 1).expression
    }

    /// The expression and the height of its tree (capped, so that no tree is too deep to walk).
    private mutating func parseConditional(minimum: Int) throws(PolicyError) -> (expression: ConditionalExpr, height: Int) {
        try enterNesting()
        var left: ConditionalExpr
        var height = 1
        switch token.kind {
        case .not:
            try advance()
            let operand = try parseConditional(minimum: Self.notPrecedence + 1)
            left = .not(operand.expression)
            height = try checkHeight(operand.height + 1)
        case .leftParen:
            try advance()
            (left, height) = try parseConditional(minimum: 1)
            try expect(.rightParen, "')' or an operator in conditional expression")
        case .identifier:
            left = .bool(lexer.text(token))
            try advance()
        default:
            throw unexpected("a boolean name, '(' or '!' in conditional expression")
        }
        while true {
            let precedence = Self.conditionalPrecedence(token.kind)
            guard precedence >= minimum, precedence > 0 else { break }
            let op = token.kind
            try advance()
            // All binary operators are left-associative.
            let (right, rightHeight) = try parseConditional(minimum: precedence + 1)
            height = try checkHeight(max(height, rightHeight) + 1)
            switch op {
            case .or: left = .or(left, right)
            case .xor: left = .xor(left, right)
            case .and: left = .and(left, right)
            case .equals: left = .eq(left, right)
            default: left = .neq(left, right)
            }
        }
        leaveNesting()
        return (left, height)
    }

    /// Fails when an expression tree gets deeper than the nesting limit (a long chain such as
    /// `a && b && c ...` is as deep as it has operators).
    private func checkHeight(_ height: Int) throws(PolicyError) -> Int {
        if height > PolicyParser.maximumNestingDepth {
            throw PolicyError("nesting deeper than \(PolicyParser.maximumNestingDepth) levels", at: location)
        }
        return height
    }

    // MARK: Constraint expressions

    /// `constrain CLASSES PERMS EXPR;` and `mlsconstrain CLASSES PERMS EXPR;`
    mutating func parseConstrain() throws(PolicyError) -> StatementKind {
        let isMLS = at(.mlsconstrain)
        let spelling = isMLS ? "mlsconstrain" : "constrain"
        try advance()
        let classes = try parseNames("a class, '{', '*' or '~' after '\(spelling)'")
        let permissions = try parseNames("permissions ('{', '*', '~' or a name) in \(spelling)")
        let expression = try parseConstraintExpression(minimum: 1).expression
        try expectSemicolon(after: "\(spelling) expression")
        return isMLS
            ? .mlsConstrain(classes: classes, permissions: permissions, expression)
            : .constrain(classes: classes, permissions: permissions, expression)
    }

    /// `validatetrans CLASSES EXPR;` and `mlsvalidatetrans CLASSES EXPR;`
    mutating func parseValidateTrans() throws(PolicyError) -> StatementKind {
        let isMLS = at(.mlsvalidatetrans)
        let spelling = isMLS ? "mlsvalidatetrans" : "validatetrans"
        try advance()
        let classes = try parseNames("a class, '{', '*' or '~' after '\(spelling)'")
        let expression = try parseConstraintExpression(minimum: 1).expression
        try expectSemicolon(after: "\(spelling) expression")
        return isMLS ? .mlsValidateTrans(classes: classes, expression) : .validateTrans(classes: classes, expression)
    }

    private mutating func parseConstraintExpression(minimum: Int) throws(PolicyError) -> (expression: ConstraintExpr, height: Int) {
        try enterNesting()
        var left: ConstraintExpr
        var height = 1
        switch token.kind {
        case .not:
            try advance()
            let operand = try parseConstraintExpression(minimum: Self.notPrecedence + 1)
            left = .not(operand.expression)
            height = try checkHeight(operand.height + 1)
        case .leftParen:
            try advance()
            (left, height) = try parseConstraintExpression(minimum: 1)
            try expect(.rightParen, "')', 'and' or 'or' in constraint expression")
        default:
            left = try parseConstraintPrimary()
        }
        while true {
            let precedence = token.kind == .or ? 1 : token.kind == .and ? 3 : 0
            guard precedence >= minimum, precedence > 0 else { break }
            let isOr = token.kind == .or
            try advance()
            let (right, rightHeight) = try parseConstraintExpression(minimum: precedence + 1)
            height = try checkHeight(max(height, rightHeight) + 1)
            left = isOr ? .or(left, right) : .and(left, right)
        }
        leaveNesting()
        return (left, height)
    }

    /// `==` or `!=`.
    private mutating func parseEqualityOperator(after operand: String) throws(PolicyError) -> ConstraintOperator {
        switch token.kind {
        case .equals: try advance(); return .eq
        case .notEquals: try advance(); return .neq
        default: throw unexpected("'==' or '!=' after '\(operand)'")
        }
    }

    /// `==`, `!=`, `dom`, `domby` or `incomp`.
    private mutating func parseRoleOperator(after operand: String) throws(PolicyError) -> ConstraintOperator {
        switch token.kind {
        case .equals: try advance(); return .eq
        case .notEquals: try advance(); return .neq
        case .keyword where token.keyword == .dom: try advance(); return .dom
        case .keyword where token.keyword == .domby: try advance(); return .domby
        case .keyword where token.keyword == .incomp: try advance(); return .incomp
        default: throw unexpected("'==', '!=', 'dom', 'domby' or 'incomp' after '\(operand)'")
        }
    }

    /// The operand keyword at the current token, if any.
    private var operandKeyword: ConstraintOperand? {
        guard token.kind == .keyword else { return nil }
        switch token.keyword {
        case .u1: return .u1
        case .u2: return .u2
        case .u3: return .u3
        case .r1: return .r1
        case .r2: return .r2
        case .r3: return .r3
        case .t1: return .t1
        case .t2: return .t2
        case .t3: return .t3
        case .l1: return .l1
        case .l2: return .l2
        case .h1: return .h1
        case .h2: return .h2
        default: return nil
        }
    }

    /// One comparison. `sameuser` is `u1 == u2`; `source role X` is `r1 == X`, `target role X` is
    /// `r2 == X`, `source type X` is `t1 == X`, `target type X` is `t2 == X`; `role OP` is `r1 OP r2`.
    private mutating func parseConstraintPrimary() throws(PolicyError) -> ConstraintExpr {
        if let left = operandKeyword, left != .h2 {
            let name = left.rawValue
            try advance()
            switch left {
            case .u1, .t1:
                let op = try parseEqualityOperator(after: name)
                let partner: ConstraintOperand = left == .u1 ? .u2 : .t2
                if operandKeyword == partner {
                    try advance()
                    return .attributes(left, op, partner)
                }
                return .names(left, op, try parseNamesOperand(after: name, partner: partner))
            case .r1:
                let op = try parseRoleOperator(after: name)
                if operandKeyword == .r2 {
                    try advance()
                    return .attributes(.r1, op, .r2)
                }
                guard op == .eq || op == .neq else {
                    throw unexpected("'r2' after 'r1 \(op.rawValue)'")
                }
                return .names(.r1, op, try parseNamesOperand(after: name, partner: .r2))
            case .u2, .u3, .r2, .r3, .t2, .t3:
                let op = try parseEqualityOperator(after: name)
                return .names(left, op, try parseNamesOperand(after: name, partner: nil))
            case .l1, .l2, .h1, .h2:  // (h2 is never a left operand: excluded above)
                let op = try parseRoleOperator(after: name)
                let allowed: [ConstraintOperand]
                switch left {
                case .l1: allowed = [.l2, .h2, .h1]
                case .h1: allowed = [.l2, .h2]
                default: allowed = [.h2]  // l2 OP h2; h2 is never a left operand
                }
                guard let right = operandKeyword, allowed.contains(right) else {
                    let names = allowed.map { "'\($0.rawValue)'" }.joined(separator: " or ")
                    throw unexpected("\(names) after '\(name) \(op.rawValue)'")
                }
                try advance()
                return .attributes(left, op, right)
            }
        }
        guard token.kind == .keyword else {
            throw unexpected("a constraint expression (u1, r1, t1, l1, h1, ..., '(' or 'not')")
        }
        switch token.keyword {
        case .sameuser:
            try advance()
            return .attributes(.u1, .eq, .u2)
        case .source, .target:
            let isSource = token.keyword == .source
            let word = isSource ? "source" : "target"
            try advance()
            if at(.role) {
                try advance()
                return .names(isSource ? .r1 : .r2, .eq, try parseConstraintNames())
            }
            if at(.type) {
                try advance()
                return .names(isSource ? .t1 : .t2, .eq, try parseConstraintNames())
            }
            throw unexpected("'role' or 'type' after '\(word)'")
        case .role:
            try advance()
            return .attributes(.r1, try parseRoleOperator(after: "role"), .r2)
        default:
            throw unexpected("a constraint expression (u1, r1, t1, l1, h1, ..., '(' or 'not')")
        }
    }

    /// The names after `OPERAND OP`; a keyword operand there (other than the partner) is an error.
    private mutating func parseNamesOperand(after operand: String, partner: ConstraintOperand?) throws(PolicyError) -> NameSet {
        switch token.kind {
        case .identifier, .leftBrace, .star, .tilde:
            return try parseConstraintNames()
        default:
            let partnerText = partner.map { "'\($0.rawValue)' or " } ?? ""
            throw unexpected("\(partnerText)a name, '{', '*' or '~' after '\(operand)' and its operator")
        }
    }
}
