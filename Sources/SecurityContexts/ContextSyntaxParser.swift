// The parser of context text: `user:role:type[:sensitivity[:categories][-sensitivity[:categories]]]`.
// It works on UTF-8 bytes, reports the first problem with its byte offset, and never truncates.

/// Character rules of context text.
enum ContextCharacters {
    /// The longest context the kernel accepts: PAGE_SIZE - 1 bytes (xfrm's `ctx_len < PAGE_SIZE`).
    static let maximumLength = 4095

    /// A byte of a user, role or type name: ASCII letters, digits, `_`, `-`, `.`.
    @inline(__always)
    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// A byte of a sensitivity or category name: ASCII letters, digits, `_`. (`.`, `-`, `:` and `,`
    /// delimit the parts of a level and a range, so they cannot appear in these names.)
    @inline(__always)
    static func isLevelNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(isNameByte)
    }

    static func isValidLevelName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(isLevelNameByte)
    }
}

/// A recursive-descent parser over the bytes of one context, level or range.
struct ContextSyntaxParser {
    private let bytes: [UInt8]
    private var position = 0

    private static let colon = UInt8(ascii: ":")
    private static let dash = UInt8(ascii: "-")
    private static let comma = UInt8(ascii: ",")
    private static let dot = UInt8(ascii: ".")

    private static let nameRule = "letters, digits, '_', '-', '.'"
    private static let levelNameRule = "letters, digits, '_'"

    /// Checks the length and the characters of `bytes`: not empty, at most 4095 bytes, no NUL, no
    /// whitespace, control characters or non-ASCII bytes.
    init(_ bytes: [UInt8]) throws(ContextParseError) {
        if bytes.isEmpty { throw ContextParseError(.empty, at: 0, expected: "a security context") }
        if bytes.count > ContextCharacters.maximumLength {
            throw ContextParseError(
                .tooLong(length: bytes.count, limit: ContextCharacters.maximumLength),
                at: ContextCharacters.maximumLength)
        }
        for (offset, byte) in bytes.enumerated() {
            if byte == 0 { throw ContextParseError(.embeddedNUL, at: offset) }
            if byte <= 0x20 || byte >= 0x7F { throw ContextParseError(.invalidCharacter(byte), at: offset) }
        }
        self.bytes = bytes
    }

    private var atEnd: Bool { position == bytes.count }
    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func unexpected(expected: String, note: String? = nil) -> ContextParseError {
        // Only called when not at the end.
        ContextParseError(.unexpectedCharacter(bytes[position]), at: position, expected: expected, note: note)
    }

    private mutating func takeRun(_ isAllowed: (UInt8) -> Bool) -> String {
        let start = position
        while position < bytes.count, isAllowed(bytes[position]) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    // MARK: Contexts

    mutating func parseContext() throws(ContextParseError) -> SecurityContext {
        let user = try name(.user)
        try separator(before: .role)
        let role = try name(.role)
        try separator(before: .type)
        let type = try name(.type)
        guard let byte = current else { return SecurityContext(user: user, role: role, type: type) }
        guard byte == Self.colon else {
            throw unexpected(expected: "':' or end of input")
        }
        position += 1
        let range = try parseRangeBody()
        return SecurityContext(user: user, role: role, type: type, range: range)
    }

    /// A user, role or type name.
    private mutating func name(_ component: ContextComponent) throws(ContextParseError) -> String {
        let start = position
        let name = takeRun(ContextCharacters.isNameByte)
        if name.isEmpty {
            if atEnd || current == Self.colon {
                throw ContextParseError(.emptyComponent(component), at: start, expected: "a \(component) name")
            }
            throw unexpected(expected: "a \(component) name (\(Self.nameRule))")
        }
        return name
    }

    /// The `:` before the role or the type.
    private mutating func separator(before component: ContextComponent) throws(ContextParseError) {
        guard let byte = current else {
            throw ContextParseError(.missingComponent(component), at: position, expected: "':' and a \(component)")
        }
        guard byte == Self.colon else {
            throw unexpected(expected: "':' before the \(component) (names are \(Self.nameRule))")
        }
        position += 1
    }

    // MARK: Ranges and levels

    mutating func parseRange() throws(ContextParseError) -> RangeSyntax {
        try parseRangeBody()
    }

    mutating func parseLevelOnly() throws(ContextParseError) -> LevelSyntax {
        let level = try parseLevel(isLow: false, inRange: false)
        if !atEnd { throw unexpected(expected: "end of input") }
        return level
    }

    private mutating func parseRangeBody() throws(ContextParseError) -> RangeSyntax {
        let low = try parseLevel(isLow: true, inRange: true)
        guard current == Self.dash else { return RangeSyntax(low: low) }
        position += 1
        let high = try parseLevel(isLow: false, inRange: true)
        return RangeSyntax(low: low, high: high)
    }

    /// What may follow a complete level (or category item) here.
    private func followers(isLow: Bool, inRange: Bool, afterCategory: Bool) -> String {
        var options: [String] = []
        if afterCategory { options.append("','") } else { options.append("':'") }
        if isLow && inRange { options.append("'-'") }
        options.append("end of input")
        if options.count == 2 { return "\(options[0]) or \(options[1])" }
        return options.dropLast().joined(separator: ", ") + " or " + options.last!
    }

    /// A level: `sensitivity[:categories]`. Stops before a `-` of a range (low level only).
    private mutating func parseLevel(isLow: Bool, inRange: Bool) throws(ContextParseError) -> LevelSyntax {
        let start = position
        let sensitivity = takeRun(ContextCharacters.isLevelNameByte)
        if sensitivity.isEmpty {
            if atEnd || current == Self.colon || current == Self.dash {
                throw ContextParseError(.emptyComponent(.sensitivity), at: start, expected: "a sensitivity name")
            }
            throw unexpected(expected: "a sensitivity name (\(Self.levelNameRule))")
        }
        guard let byte = current else { return LevelSyntax(sensitivity: sensitivity) }
        switch byte {
        case Self.colon:
            position += 1
            let categories = try parseCategories(isLow: isLow, inRange: inRange)
            return LevelSyntax(sensitivity: sensitivity, categories: categories)
        case Self.dash where isLow && inRange:
            return LevelSyntax(sensitivity: sensitivity)
        case Self.dash where inRange:
            throw unexpected(
                expected: followers(isLow: false, inRange: true, afterCategory: false),
                note: "a range has one '-'")
        default:
            throw unexpected(expected: followers(isLow: isLow, inRange: inRange, afterCategory: false))
        }
    }

    /// A category set: items separated by `,`; an item is `c` or `cA.cB`.
    private mutating func parseCategories(isLow: Bool, inRange: Bool) throws(ContextParseError) -> [CategoryItem] {
        var items: [CategoryItem] = []
        while true {
            let itemStart = position
            let first = takeRun(ContextCharacters.isLevelNameByte)
            if first.isEmpty {
                if current == Self.dot {
                    throw ContextParseError(
                        .malformedCategoryRange, at: itemStart,
                        expected: "a category name before '.'")
                }
                if atEnd || current == Self.comma || current == Self.dash || current == Self.colon {
                    throw ContextParseError(.emptyComponent(.category), at: itemStart, expected: "a category name")
                }
                throw unexpected(expected: "a category name (\(Self.levelNameRule))")
            }
            if current == Self.dot {
                position += 1
                let secondStart = position
                let second = takeRun(ContextCharacters.isLevelNameByte)
                if second.isEmpty {
                    if let byte = current, byte != Self.comma, byte != Self.dash, byte != Self.colon, byte != Self.dot {
                        throw unexpected(expected: "a category name (\(Self.levelNameRule))")
                    }
                    throw ContextParseError(
                        .malformedCategoryRange, at: secondStart,
                        expected: "a category name after '.'")
                }
                if current == Self.dot {
                    throw ContextParseError(
                        .malformedCategoryRange, at: position,
                        expected: followers(isLow: isLow, inRange: inRange, afterCategory: true),
                        note: "a category range has two ends")
                }
                items.append(.range(first, second))
            } else {
                items.append(.single(first))
            }
            guard let byte = current else { return items }
            switch byte {
            case Self.comma:
                position += 1
            case Self.dash where isLow && inRange:
                return items
            case Self.dash where inRange:
                throw unexpected(
                    expected: followers(isLow: false, inRange: true, afterCategory: true),
                    note: "a range has one '-'")
            case Self.colon:
                throw unexpected(
                    expected: followers(isLow: isLow, inRange: inRange, afterCategory: true),
                    note: "a level has one ':', between its sensitivity and its categories")
            default:
                throw unexpected(expected: followers(isLow: isLow, inRange: inRange, afterCategory: true))
            }
        }
    }

    mutating func finish() throws(ContextParseError) {
        if !atEnd { throw unexpected(expected: "end of input") }
    }
}
