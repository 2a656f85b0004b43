// The lexer of the kernel policy language. It follows checkpolicy's scanner (`policy_scan.l`): at
// each position every token pattern is tried, the longest match wins, and a tie goes to the pattern
// checkpolicy lists first (keywords, then IDENTIFIER, NUMBER, FILESYSTEM, IPV4_CIDR, IPV4_ADDR,
// IPV6_ADDR, IPV6_CIDR, VERSION_IDENTIFIER, NETIFNAME). It works on the raw bytes; text is made
// only for the tokens the parser keeps. The tokens are Token.swift's, the reserved words
// KeywordTable.swift's; the patterns for words and numbers are in Lexer+Patterns.swift, quoted
// strings and the UTF-8 check in Lexer+Strings.swift.

/// The tokenizer over one source buffer.
struct Lexer {
    let buffer: UnsafeBufferPointer<UInt8>
    let file: String
    let keywords: KeywordTable
    private(set) var position = 0
    private(set) var line = 1
    private var lineStart = 0

    init(buffer: UnsafeBufferPointer<UInt8>, file: String) {
        self.buffer = buffer
        self.file = file
        self.keywords = KeywordTable.shared
    }

    /// The byte at `index`, or 0 past the end (a NUL never continues any pattern).
    @inline(__always) func byte(_ index: Int) -> UInt8 {
        index < buffer.count ? buffer[index] : 0
    }

    func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    func error(_ message: String, at offset: Int) -> PolicyError {
        PolicyError(message, at: location(line: line, column: offset - lineStart + 1))
    }

    /// The text of a token.
    func text(_ token: Token) -> String {
        text(from: token.start, to: token.end)
    }

    func text(from start: Int, to end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
    }

    /// The next token; `.endOfFile` at the end (and every time after).
    mutating func next() throws(PolicyError) -> Token {
        let count = buffer.count
        while position < count {
            let c = buffer[position]
            switch c {
            case 10:  // newline
                position += 1
                line += 1
                lineStart = position
            case 32, 9, 12:  // space, tab, form feed
                position += 1
            case 35:  // '#': a comment (checkpolicy's `#line` directives are comments here too)
                try skipComment()
            default:
                return try token(at: position, first: c)
            }
        }
        return Token(
            kind: .endOfFile, keyword: .none, start: count, end: count, line: line,
            column: count - lineStart + 1)
    }

    private mutating func skipComment() throws(PolicyError) {
        var i = position
        var sawHighByte = false
        while i < buffer.count {
            let c = buffer[i]
            if c == 10 { break }
            if c == 0 { throw error("NUL byte in comment", at: i) }
            if c >= 0x80 { sawHighByte = true }
            i += 1
        }
        if sawHighByte, let bad = firstInvalidUTF8(from: position, to: i) {
            throw error("invalid UTF-8 byte \(hex(buffer[bad])) in comment", at: bad)
        }
        position = i
    }

    mutating func make(_ kind: TokenKind, _ keyword: Keyword = .none, start: Int, length: Int) -> Token {
        position = start + length
        return Token(
            kind: kind, keyword: keyword, start: start, end: start + length, line: line,
            column: start - lineStart + 1)
    }

    private mutating func token(at p: Int, first c: UInt8) throws(PolicyError) -> Token {
        if isLetter(c) { return lexWord(at: p) }
        if isDigit(c) { return lexDigits(at: p) }
        switch c {
        case 58:  // ':' may start an IPv6 address (`::1`)
            let (address, cidr) = matchIPv6(at: p)
            if cidr > 0 { return make(.ipv6CIDR, start: p, length: cidr) }
            if address > 0 { return make(.ipv6Address, start: p, length: address) }
            return make(.colon, start: p, length: 1)
        case 42, 63:  // '*', '?': a NETIFNAME such as `*eth` (two bytes or more), else '*'
            let netif = matchNetifName(at: p)
            if netif > 1 { return make(.netifName, start: p, length: netif) }
            if c == 42 { return make(.star, start: p, length: 1) }
        case 47:  // '/': a path up to whitespace
            var i = p + 1
            var sawHighByte = false
            while i < buffer.count {
                let b = buffer[i]
                if b == 32 || b == 10 || b == 13 || b == 9 || b == 12 { break }
                if b == 0 { throw error("NUL byte in path", at: i) }
                if b >= 0x80 { sawHighByte = true }
                i += 1
            }
            if sawHighByte, let bad = firstInvalidUTF8(from: p, to: i) {
                throw error("invalid UTF-8 byte \(hex(buffer[bad])) in path", at: bad)
            }
            return make(.path, start: p, length: i - p)
        case 34:  // '"'
            return try lexQuoted(at: p)
        case 61:  // '='
            if byte(p + 1) == 61 { return make(.equals, start: p, length: 2) }
        case 33:  // '!'
            if byte(p + 1) == 61 { return make(.notEquals, start: p, length: 2) }
            return make(.not, start: p, length: 1)
        case 38:  // '&'
            if byte(p + 1) == 38 { return make(.and, start: p, length: 2) }
        case 124:  // '|'
            if byte(p + 1) == 124 { return make(.or, start: p, length: 2) }
        case 94: return make(.xor, start: p, length: 1)
        case 44: return make(.comma, start: p, length: 1)
        case 59: return make(.semicolon, start: p, length: 1)
        case 40: return make(.leftParen, start: p, length: 1)
        case 41: return make(.rightParen, start: p, length: 1)
        case 123: return make(.leftBrace, start: p, length: 1)
        case 125: return make(.rightBrace, start: p, length: 1)
        case 91: return make(.leftBracket, start: p, length: 1)
        case 93: return make(.rightBracket, start: p, length: 1)
        case 45: return make(.minus, start: p, length: 1)
        case 46: return make(.dot, start: p, length: 1)
        case 126: return make(.tilde, start: p, length: 1)
        default: break
        }
        throw unrecognized(at: p)
    }

    /// The error for a byte that starts no token.
    private func unrecognized(at p: Int) -> PolicyError {
        let c = buffer[p]
        if c == 0 { return error("unexpected NUL byte", at: p) }
        if c == 13 {
            return error("unrecognized character 0x0d (carriage return; line ends must be LF only)", at: p)
        }
        if c >= 0x80 {
            let end = min(buffer.count, p + 4)
            var length = 1
            while p + length < end, buffer[p + length] & 0xC0 == 0x80 { length += 1 }
            if firstInvalidUTF8(from: p, to: p + length) != nil {
                return error("invalid UTF-8 byte \(hex(c))", at: p)
            }
            return error("unrecognized character '\(text(from: p, to: p + length))'", at: p)
        }
        if c < 32 || c == 127 { return error("unrecognized character \(hex(c))", at: p) }
        let character = String(UnicodeScalar(c))
        switch c {
        case 61: return error("unrecognized character '=' (the operator is '==')", at: p)
        case 38: return error("unrecognized character '&' (the operator is '&&')", at: p)
        case 124: return error("unrecognized character '|' (the operator is '||')", at: p)
        default: return error("unrecognized character '\(character)'", at: p)
        }
    }
}

/// `0xNN`.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
}
