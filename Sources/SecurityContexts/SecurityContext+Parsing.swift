// Parsing contexts, levels and ranges from text and from bytes.

extension SecurityContext {
    /// The longest context accepted, in bytes: 4095, the kernel's limit (PAGE_SIZE - 1).
    public static let maximumLength = ContextCharacters.maximumLength

    /// Parses `user:role:type[:sensitivity[:categories][-sensitivity[:categories]]]`.
    ///
    /// The rules:
    /// - At most 4095 bytes of UTF-8 (the kernel's limit, PAGE_SIZE - 1); longer input is an error,
    ///   never truncated. No NUL, whitespace, control characters or non-ASCII bytes.
    /// - User, role and type names are non-empty runs of ASCII letters, digits, `_`, `-` and `.`.
    ///   (The kernel itself takes any non-`:` bytes as a name, but policy compilers only declare
    ///   identifiers of these characters, so nothing else can name a declared user, role or type.)
    /// - Sensitivity and category names are non-empty runs of ASCII letters, digits and `_`
    ///   (`:`, `-`, `,` and `.` delimit the parts of a level and a range).
    /// - A category set is a `,`-separated list of items, each a category `c3` or a range `c0.c255`.
    ///
    /// The result is the context as written; resolve it with an `MLSVocabulary` for its meaning.
    /// - Throws: `ContextParseError` with the byte offset of the first problem and what was expected.
    public init(parsing text: String) throws(ContextParseError) {
        var parser = try ContextSyntaxParser(Array(text.utf8))
        self = try parser.parseContext()
    }

    /// Parses a context from bytes, as a netlink attribute (`XFRMA_SEC_CTX`) or an xattr carries it.
    ///
    /// A single trailing NUL terminator is accepted and not part of the context; any other NUL is an
    /// error. The 4095-byte limit applies to all the bytes given, terminator included, as the kernel
    /// checks `ctx_len` (`ctx_len < PAGE_SIZE`). Otherwise the rules are those of `init(parsing:)`.
    /// - Throws: `ContextParseError` with the byte offset of the first problem.
    public init<Bytes: Collection>(bytes: Bytes) throws(ContextParseError) where Bytes.Element == UInt8 {
        var array = Array(bytes)
        if array.count > ContextCharacters.maximumLength {
            throw ContextParseError(
                .tooLong(length: array.count, limit: ContextCharacters.maximumLength),
                at: ContextCharacters.maximumLength)
        }
        if array.last == 0 { array.removeLast() }
        var parser = try ContextSyntaxParser(array)
        self = try parser.parseContext()
    }

    /// The context as UTF-8 bytes, without a terminator.
    public var bytes: [UInt8] { Array(description.utf8) }
}

extension LevelSyntax {
    /// Parses a level: `sensitivity[:categories]` (`s0`, `s2:c0.c3,c7`), with the rules of
    /// `SecurityContext.init(parsing:)`.
    /// - Throws: `ContextParseError` with the byte offset of the first problem.
    public init(parsing text: String) throws(ContextParseError) {
        var parser = try ContextSyntaxParser(Array(text.utf8))
        self = try parser.parseLevelOnly()
    }
}

extension RangeSyntax {
    /// Parses a range: `low` or `low-high` (`s0-s3:c0.c1023`), with the rules of
    /// `SecurityContext.init(parsing:)`.
    /// - Throws: `ContextParseError` with the byte offset of the first problem.
    public init(parsing text: String) throws(ContextParseError) {
        var parser = try ContextSyntaxParser(Array(text.utf8))
        self = try parser.parseRange()
        try parser.finish()
    }
}
