// Name sets, name lists, levels, ranges and security contexts.

import SecurityContexts

extension Parser {
    /// checkpolicy's `names`: `a`, `a - b`, `{ a -b { c } }`, `*`, `~a`, `~{ a b }`. Nested braces
    /// are flattened; `-` applies to the one name after it.
    mutating func parseNames(_ what: @autoclosure () -> String) throws(PolicyError) -> NameSet {
        var set = NameSet()
        switch token.kind {
        case .identifier:
            set.included.append(lexer.text(token))
            try advance()
            if token.kind == .minus {
                try advance()
                set.excluded.append(try identifier("a name after '-'"))
            }
        case .leftBrace:
            try parseNestedSet(into: &set)
        case .star:
            set.isAll = true
            try advance()
        case .tilde:
            set.isComplement = true
            try advance()
            if token.kind == .leftBrace {
                try parseNestedSet(into: &set)
            } else {
                set.included.append(try identifier("a name or '{' after '~'"))
            }
        default:
            throw unexpected(what())
        }
        return set
    }

    /// `'{' (name | '-' name | nested set)+ '}'`, appended to `set`.
    private mutating func parseNestedSet(into set: inout NameSet) throws(PolicyError) {
        try enterNesting()
        try advance()  // '{'
        var first = true
        while true {
            switch token.kind {
            case .identifier:
                set.included.append(lexer.text(token))
                try advance()
            case .minus:
                try advance()
                set.excluded.append(try identifier("a name after '-' in a set"))
            case .leftBrace:
                try parseNestedSet(into: &set)
            case .rightBrace where !first:
                try advance()
                leaveNesting()
                return
            default:
                throw unexpected(first ? "a name in a set" : "a name or '}' in a set")
            }
            first = false
        }
    }

    /// checkpolicy's `names_push` (the names in constraint expressions): `a`, `{ a b }`, `*`, `~a`,
    /// `~{ a b }`: no `-`, no nesting.
    mutating func parseConstraintNames() throws(PolicyError) -> NameSet {
        var set = NameSet()
        if token.kind == .star {
            set.isAll = true
            try advance()
            return set
        }
        if token.kind == .tilde {
            set.isComplement = true
            try advance()
        }
        if token.kind == .leftBrace {
            try advance()
            set.included.append(try identifier("a name in a set"))
            while token.kind == .identifier {
                set.included.append(lexer.text(token))
                try advance()
            }
            try expect(.rightBrace, "a name or '}' in a set")
        } else {
            set.included.append(
                try identifier(set.isComplement ? "a name or '{' after '~'" : "a name, '{', '*' or '~'"))
        }
        return set
    }

    /// A plain list of names where checkpolicy takes `names` but only names make sense (aliases,
    /// the classes of `default_*`, the attributes of `expandattribute`): `a` or `{ a b { c } }`.
    mutating func parseNameList(_ what: @autoclosure () -> String) throws(PolicyError) -> [String] {
        if token.kind == .identifier {
            let name = lexer.text(token)
            try advance()
            return [name]
        }
        guard token.kind == .leftBrace else { throw unexpected(what()) }
        var names: [String] = []
        try parseNestedNameList(into: &names)
        return names
    }

    private mutating func parseNestedNameList(into names: inout [String]) throws(PolicyError) {
        try enterNesting()
        try advance()  // '{'
        var first = true
        while true {
            switch token.kind {
            case .identifier:
                names.append(lexer.text(token))
                try advance()
            case .leftBrace:
                try parseNestedNameList(into: &names)
            case .rightBrace where !first:
                try advance()
                leaveNesting()
                return
            default:
                throw unexpected(first ? "a name in a list" : "a name or '}' in a list")
            }
            first = false
        }
    }

    /// `identifier_list`: one or more names separated by spaces (permissions, dominance).
    mutating func parseIdentifierList(_ what: String) throws(PolicyError) -> [String] {
        var names = [try identifier(what)]
        while token.kind == .identifier {
            names.append(lexer.text(token))
            try advance()
        }
        return names
    }

    /// `id_comma_list`: one or more names separated by commas.
    mutating func parseCommaList(_ what: String) throws(PolicyError) -> [String] {
        var names = [try identifier(what)]
        while token.kind == .comma {
            try advance()
            names.append(try identifier("a name after ','"))
        }
        return names
    }

    // MARK: MLS

    /// `SENS[:CATS]` where CATS is a comma list of categories and `c0.c5` ranges.
    mutating func parseLevel(_ what: @autoclosure () -> String = "a sensitivity") throws(PolicyError) -> LevelSyntax {
        let sensitivity = try identifier(what())
        var level = LevelSyntax(sensitivity: sensitivity)
        if token.kind == .colon {
            try advance()
            level.categories = try parseCategories()
        }
        return level
    }

    /// A comma list of categories; a name with a dot is a range (`c0.c1023`).
    mutating func parseCategories() throws(PolicyError) -> [CategoryItem] {
        var items: [CategoryItem] = []
        while true {
            let start = token
            let text = try identifier(items.isEmpty ? "a category" : "a category after ','")
            items.append(try categoryItem(text, at: start))
            guard token.kind == .comma else { return items }
            try advance()
        }
    }

    private func categoryItem(_ text: String, at token: Token) throws(PolicyError) -> CategoryItem {
        let bytes = text.utf8
        guard let dot = bytes.firstIndex(of: 46) else { return .single(text) }
        let low = String(text[..<dot])
        let high = String(text[text.utf8.index(after: dot)...])
        if high.utf8.contains(46) {
            throw error("invalid category range '\(text)': expected 'LOW.HIGH' with one '.'", at: token)
        }
        return .range(low, high)
    }

    /// `LEVEL [- LEVEL]`.
    mutating func parseRange(_ what: @autoclosure () -> String = "a sensitivity") throws(PolicyError) -> RangeSyntax {
        var range = RangeSyntax(low: try parseLevel(what()))
        if token.kind == .minus {
            try advance()
            range.high = try parseLevel("a sensitivity after '-' in a range")
        }
        return range
    }

    // MARK: Contexts

    /// `user:role:type[:range]`.
    mutating func parseContext() throws(PolicyError) -> SecurityContext {
        let user = try identifier("a security context (user:role:type[:range])")
        try expect(.colon, "':' after the user of a security context")
        let role = try identifier("a role in the security context")
        try expect(.colon, "':' after the role of a security context")
        let type = try identifier("a type in the security context")
        var context = SecurityContext(user: user, role: role, type: type)
        if token.kind == .colon {
            try advance()
            context.range = try parseRange("a sensitivity after the type of a security context")
        }
        return context
    }

    /// A context kept as raw token texts (for the labeling statements kept as written).
    mutating func appendRawContext(to tokens: inout [String]) throws(PolicyError) {
        func take(_ parser: inout Parser, _ tokens: inout [String], _ kind: TokenKind, _ what: String) throws(PolicyError) {
            guard parser.token.kind == kind else { throw parser.unexpected(what) }
            tokens.append(parser.lexer.text(parser.token))
            try parser.advance()
        }
        try take(&self, &tokens, .identifier, "a security context (user:role:type[:range])")
        try take(&self, &tokens, .colon, "':' after the user of a security context")
        try take(&self, &tokens, .identifier, "a role in the security context")
        try take(&self, &tokens, .colon, "':' after the role of a security context")
        try take(&self, &tokens, .identifier, "a type in the security context")
        guard token.kind == .colon else { return }
        try take(&self, &tokens, .colon, "':'")
        for level in 0..<2 {
            if level == 1 {
                guard token.kind == .minus else { return }
                try take(&self, &tokens, .minus, "'-'")
            }
            try take(&self, &tokens, .identifier, "a sensitivity")
            if token.kind == .colon {
                try take(&self, &tokens, .colon, "':'")
                try take(&self, &tokens, .identifier, "a category")
                while token.kind == .comma {
                    try take(&self, &tokens, .comma, "','")
                    try take(&self, &tokens, .identifier, "a category after ','")
                }
            }
        }
    }
}
