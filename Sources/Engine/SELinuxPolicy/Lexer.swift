// The lexer of the kernel policy language. It follows checkpolicy's scanner (`policy_scan.l`): at
// each position every token pattern is tried, the longest match wins, and a tie goes to the pattern
// checkpolicy lists first (keywords, then IDENTIFIER, NUMBER, FILESYSTEM, IPV4_CIDR, IPV4_ADDR,
// IPV6_ADDR, IPV6_CIDR, VERSION_IDENTIFIER, NETIFNAME). It works on the raw bytes; text is made
// only for the tokens the parser keeps.

/// The kind of a token.
enum TokenKind: UInt8, Sendable {
    case endOfFile
    /// A reserved word; `Token.keyword` says which.
    case keyword
    /// `{letter}({alnum}|[_-])*([.]?({alnum}|[_-]))*`: `s0`, `c0.c1023`, `s0-s15`, `httpd_t`.
    case identifier
    /// Decimal digits or `0x` and hex digits.
    case number
    /// Letters and digits with at least one letter, not an identifier (`9p`).
    case filesystem
    case ipv4Address, ipv4CIDR, ipv6Address, ipv6CIDR
    /// Digits, a dot and more (`1.0`): only the module language uses it.
    case versionIdentifier
    /// A network interface pattern with `*` or `?` (`eth*`).
    case netifName
    /// An unquoted path (`/proc`).
    case path
    /// A quoted path (`"/"`).
    case quotedPath
    /// A quoted object name without `/` (`"Maildir"`).
    case filename
    case equals, notEquals, and, or, not, xor
    case comma, colon, semicolon, leftParen, rightParen, leftBrace, rightBrace
    case leftBracket, rightBracket, minus, dot, tilde, star
}

/// The reserved words, each spelled in lower case or in upper case.
enum Keyword: UInt8, Sendable, CaseIterable {
    case none
    case common, `class`, constrain, validatetrans, inherits, sid, role, roles, roleattribute
    case attributeRole, types, `typealias`, typeattribute, typebounds, type, bool, tunable, `if`, `else`
    case alias, attribute, expandattribute, typeTransition, typeMember, typeChange, roleTransition
    case rangeTransition, sensitivity, dominance, category, level, range, mlsconstrain
    case mlsvalidatetrans, user, neverallow, allow, auditallow, auditdeny, dontaudit, allowxperm
    case auditallowxperm, dontauditxperm, neverallowxperm, source, target, sameuser, module
    case require, optional, `true`, `false`, dom, domby, incomp, ibpkeycon, ibendportcon, portcon
    case netifcon, nodecon, pirqcon, iomemcon, ioportcon, pcidevicecon, devicetreecon, fsUseXattr
    case fsUseTask, fsUseTrans, genfscon, r1, r2, r3, u1, u2, u3, t1, t2, t3, l1, l2, h1, h2
    case policycap, permissive, neveraudit, defaultUser, defaultRole, defaultType, defaultRange
    case lowHigh, high, low, glblub

    /// The lower-case spelling (the upper-case one is the same in capitals).
    var spelling: String {
        switch self {
        case .none: return ""
        case .common: return "common"
        case .`class`: return "class"
        case .constrain: return "constrain"
        case .validatetrans: return "validatetrans"
        case .inherits: return "inherits"
        case .sid: return "sid"
        case .role: return "role"
        case .roles: return "roles"
        case .roleattribute: return "roleattribute"
        case .attributeRole: return "attribute_role"
        case .types: return "types"
        case .`typealias`: return "typealias"
        case .typeattribute: return "typeattribute"
        case .typebounds: return "typebounds"
        case .type: return "type"
        case .bool: return "bool"
        case .tunable: return "tunable"
        case .`if`: return "if"
        case .`else`: return "else"
        case .alias: return "alias"
        case .attribute: return "attribute"
        case .expandattribute: return "expandattribute"
        case .typeTransition: return "type_transition"
        case .typeMember: return "type_member"
        case .typeChange: return "type_change"
        case .roleTransition: return "role_transition"
        case .rangeTransition: return "range_transition"
        case .sensitivity: return "sensitivity"
        case .dominance: return "dominance"
        case .category: return "category"
        case .level: return "level"
        case .range: return "range"
        case .mlsconstrain: return "mlsconstrain"
        case .mlsvalidatetrans: return "mlsvalidatetrans"
        case .user: return "user"
        case .neverallow: return "neverallow"
        case .allow: return "allow"
        case .auditallow: return "auditallow"
        case .auditdeny: return "auditdeny"
        case .dontaudit: return "dontaudit"
        case .allowxperm: return "allowxperm"
        case .auditallowxperm: return "auditallowxperm"
        case .dontauditxperm: return "dontauditxperm"
        case .neverallowxperm: return "neverallowxperm"
        case .source: return "source"
        case .target: return "target"
        case .sameuser: return "sameuser"
        case .module: return "module"
        case .require: return "require"
        case .optional: return "optional"
        case .`true`: return "true"
        case .`false`: return "false"
        case .dom: return "dom"
        case .domby: return "domby"
        case .incomp: return "incomp"
        case .ibpkeycon: return "ibpkeycon"
        case .ibendportcon: return "ibendportcon"
        case .portcon: return "portcon"
        case .netifcon: return "netifcon"
        case .nodecon: return "nodecon"
        case .pirqcon: return "pirqcon"
        case .iomemcon: return "iomemcon"
        case .ioportcon: return "ioportcon"
        case .pcidevicecon: return "pcidevicecon"
        case .devicetreecon: return "devicetreecon"
        case .fsUseXattr: return "fs_use_xattr"
        case .fsUseTask: return "fs_use_task"
        case .fsUseTrans: return "fs_use_trans"
        case .genfscon: return "genfscon"
        case .r1: return "r1"
        case .r2: return "r2"
        case .r3: return "r3"
        case .u1: return "u1"
        case .u2: return "u2"
        case .u3: return "u3"
        case .t1: return "t1"
        case .t2: return "t2"
        case .t3: return "t3"
        case .l1: return "l1"
        case .l2: return "l2"
        case .h1: return "h1"
        case .h2: return "h2"
        case .policycap: return "policycap"
        case .permissive: return "permissive"
        case .neveraudit: return "neveraudit"
        case .defaultUser: return "default_user"
        case .defaultRole: return "default_role"
        case .defaultType: return "default_type"
        case .defaultRange: return "default_range"
        case .lowHigh: return "low-high"
        case .high: return "high"
        case .low: return "low"
        case .glblub: return "glblub"
        }
    }
}

/// One token: its kind, its bytes (`start..<end` in the source) and where it starts.
struct Token: Sendable {
    var kind: TokenKind
    var keyword: Keyword
    var start: Int
    var end: Int
    var line: Int
    var column: Int
}

/// The keyword table: words of up to 16 bytes packed (folded to lower case) into two integers, in
/// an open-addressing hash table.
struct KeywordTable: Sendable {
    struct Entry: Sendable {
        var low: UInt64
        var high: UInt64
        var kind: TokenKind
        var keyword: Keyword
    }

    static let slotCount = 512
    /// `slots[i].kind == .endOfFile` marks an empty slot.
    let slots: [Entry]

    static let shared = KeywordTable()

    init() {
        var slots = [Entry](
            repeating: Entry(low: 0, high: 0, kind: .endOfFile, keyword: .none),
            count: KeywordTable.slotCount)
        func add(_ word: String, _ kind: TokenKind, _ keyword: Keyword) {
            let (low, high) = KeywordTable.pack(Array(word.utf8))
            var slot = KeywordTable.slot(low, high)
            while slots[slot].kind != .endOfFile { slot = (slot + 1) & (KeywordTable.slotCount - 1) }
            slots[slot] = Entry(low: low, high: high, kind: kind, keyword: keyword)
        }
        for keyword in Keyword.allCases where keyword != .none {
            add(keyword.spelling, .keyword, keyword)
        }
        // Operators spelled as words.
        add("or", .or, .none)
        add("and", .and, .none)
        add("not", .not, .none)
        add("xor", .xor, .none)
        add("eq", .equals, .none)
        self.slots = slots
    }

    @inline(__always) static func slot(_ low: UInt64, _ high: UInt64) -> Int {
        let mixed = (low &* 0x9E37_79B9_7F4A_7C15) ^ (high &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: mixed >> 55)  // 9 bits: 0..<512
    }

    /// Packs up to 16 bytes, folded to lower case, little end first.
    static func pack<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> (UInt64, UInt64) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            let folded = (byte >= 65 && byte <= 90) ? byte | 0x20 : byte
            if i < 8 {
                low |= UInt64(folded) << (UInt64(i) * 8)
            } else {
                high |= UInt64(folded) << (UInt64(i - 8) * 8)
            }
        }
        return (low, high)
    }

    /// The keyword packed as `low`, `high`, if any.
    @inline(__always) func lookup(_ low: UInt64, _ high: UInt64) -> Entry? {
        var slot = KeywordTable.slot(low, high)
        while true {
            let entry = slots[slot]
            if entry.kind == .endOfFile { return nil }
            if entry.low == low && entry.high == high { return entry }
            slot = (slot + 1) & (KeywordTable.slotCount - 1)
        }
    }
}

/// Character classes of checkpolicy's scanner.
@inline(__always) func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- 97 < 26 }
@inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }
@inline(__always) func isAlnum(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) }
@inline(__always) func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20) &- 97 < 6 }
@inline(__always) func isIdentifierByte(_ c: UInt8) -> Bool { isAlnum(c) || c == 95 || c == 45 }

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

    private mutating func make(_ kind: TokenKind, _ keyword: Keyword = .none, start: Int, length: Int) -> Token {
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

    // MARK: Words and numbers

    /// A token starting with a letter: keyword, identifier, or (rarely) IPv6 address or NETIFNAME.
    private mutating func lexWord(at p: Int) -> Token {
        let identifier = matchIdentifier(at: p)
        let after = byte(p + identifier)
        // An IPv6 address can start with up to four hex digits followed by ':'.
        if after == 58 && identifier <= 4 {
            let (address, cidr) = matchIPv6(at: p)
            if cidr > identifier { return make(.ipv6CIDR, start: p, length: cidr) }
            if address > identifier { return make(.ipv6Address, start: p, length: address) }
        }
        // A NETIFNAME is longer only when the identifier stops at '*' or '?'.
        if after == 42 || after == 63 {
            let netif = matchNetifName(at: p)
            if netif > identifier { return make(.netifName, start: p, length: netif) }
        }
        if identifier <= 16, let (kind, keyword) = lookupKeyword(from: p, length: identifier) {
            return make(kind, keyword, start: p, length: identifier)
        }
        return make(.identifier, start: p, length: identifier)
    }

    /// A token starting with a digit: every pattern that can start with one is tried.
    private mutating func lexDigits(at p: Int) -> Token {
        // In checkpolicy's order, so that `>` keeps the first of equal lengths.
        var bestKind = TokenKind.number
        var best = matchNumber(at: p)
        func consider(_ kind: TokenKind, _ length: Int) {
            if length > best {
                best = length
                bestKind = kind
            }
        }
        consider(.filesystem, matchFilesystem(at: p))
        let (ipv4, ipv4CIDR) = matchIPv4(at: p)
        consider(.ipv4CIDR, ipv4CIDR)
        consider(.ipv4Address, ipv4)
        let (ipv6, ipv6CIDR) = matchIPv6(at: p)
        consider(.ipv6Address, ipv6)
        consider(.ipv6CIDR, ipv6CIDR)
        consider(.versionIdentifier, matchVersion(at: p))
        consider(.netifName, matchNetifName(at: p))
        return make(bestKind, start: p, length: best)
    }

    private func lookupKeyword(from p: Int, length: Int) -> (TokenKind, Keyword)? {
        // Keywords are all lower case or all upper case; pack while checking.
        var sawLower = false
        var sawUpper = false
        var low: UInt64 = 0
        var high: UInt64 = 0
        for i in 0..<length {
            var c = buffer[p + i]
            if c >= 97 && c <= 122 {
                sawLower = true
            } else if c >= 65 && c <= 90 {
                sawUpper = true
                c |= 0x20
            } else if c == 46 {
                return nil
            }
            if i < 8 {
                low |= UInt64(c) << (UInt64(i) &* 8)
            } else {
                high |= UInt64(c) << (UInt64(i - 8) &* 8)
            }
        }
        if sawLower && sawUpper { return nil }
        guard let entry = keywords.lookup(low, high) else { return nil }
        return (entry.kind, entry.keyword)
    }

    /// IDENTIFIER: a letter, then letters, digits, `_`, `-`, and single dots between them.
    func matchIdentifier(at p: Int) -> Int {
        var i = p + 1
        let count = buffer.count
        while i < count {
            let c = buffer[i]
            if isIdentifierByte(c) {
                i += 1
            } else if c == 46, i + 1 < count, isIdentifierByte(buffer[i + 1]) {
                i += 2
            } else {
                break
            }
        }
        return i - p
    }

    /// NUMBER: `{digit}+` or `0x{hexval}+`.
    func matchNumber(at p: Int) -> Int {
        if buffer[p] == 48, byte(p + 1) == 120, isHexDigit(byte(p + 2)) {
            var i = p + 2
            while isHexDigit(byte(i)) { i += 1 }
            return i - p
        }
        var i = p
        while isDigit(byte(i)) { i += 1 }
        return i - p
    }

    /// FILESYSTEM: `{alnum}*{letter}{alnum}*`.
    func matchFilesystem(at p: Int) -> Int {
        var i = p
        var sawLetter = false
        while isAlnum(byte(i)) {
            if isLetter(buffer[i]) { sawLetter = true }
            i += 1
        }
        return sawLetter ? i - p : 0
    }

    /// IPV4_ADDR and IPV4_CIDR: four groups of 1 to 3 digits, then `/` and 1 or 2 digits.
    func matchIPv4(at p: Int) -> (address: Int, cidr: Int) {
        var i = p
        for group in 0..<4 {
            if group > 0 {
                guard byte(i) == 46 else { return (0, 0) }
                i += 1
            }
            var digits = 0
            while digits < 3 && isDigit(byte(i)) {
                digits += 1
                i += 1
            }
            guard digits > 0 else { return (0, 0) }
        }
        let address = i - p
        guard byte(i) == 47, isDigit(byte(i + 1)) else { return (address, 0) }
        i += 2
        if isDigit(byte(i)) { i += 1 }
        return (address, i - p)
    }

    /// IPV6_ADDR and IPV6_CIDR: `{hexval}{0,4}:{hexval}{0,4}:({hexval}|[:.])*`, then `/` and 1 to 3 digits.
    func matchIPv6(at p: Int) -> (address: Int, cidr: Int) {
        var i = p
        for _ in 0..<2 {
            var digits = 0
            while digits < 4 && isHexDigit(byte(i)) {
                digits += 1
                i += 1
            }
            guard byte(i) == 58 else { return (0, 0) }
            i += 1
        }
        while true {
            let c = byte(i)
            if isHexDigit(c) || c == 58 || c == 46 { i += 1 } else { break }
        }
        let address = i - p
        guard byte(i) == 47, isDigit(byte(i + 1)) else { return (address, 0) }
        i += 2
        var digits = 1
        while digits < 3 && isDigit(byte(i)) {
            digits += 1
            i += 1
        }
        return (address, i - p)
    }

    /// VERSION_IDENTIFIER: `{digit}+(\.({alnum}|[_.])*)?`.
    func matchVersion(at p: Int) -> Int {
        var i = p
        while isDigit(byte(i)) { i += 1 }
        guard byte(i) == 46 else { return i - p }
        i += 1
        while true {
            let c = byte(i)
            if isAlnum(c) || c == 95 || c == 46 { i += 1 } else { break }
        }
        return i - p
    }

    /// NETIFNAME: `{alnum}({alnum}|[*?_]){0,15}` or `[*?]({alnum}|[*?_]){1,15}`.
    func matchNetifName(at p: Int) -> Int {
        let first = buffer[p]
        guard isAlnum(first) || first == 42 || first == 63 else { return 0 }
        var i = p + 1
        while i - p < 16 {
            let c = byte(i)
            if isAlnum(c) || c == 42 || c == 63 || c == 95 { i += 1 } else { break }
        }
        if !isAlnum(first) && i - p < 2 { return 0 }
        return i - p
    }

    // MARK: Quoted strings

    /// QPATH `"/..."` (no newline inside) or FILENAME `"..."` (no `/` or newline inside, not empty).
    private mutating func lexQuoted(at p: Int) throws(PolicyError) -> Token {
        let isPath = byte(p + 1) == 47
        var i = p + 1
        var sawHighByte = false
        while true {
            guard i < buffer.count else {
                throw error("unterminated quoted string (missing closing '\"' before end of file)", at: p)
            }
            let c = buffer[i]
            if c == 34 { break }
            if c == 10 { throw error("unterminated quoted string (missing closing '\"' before end of line)", at: p) }
            if c == 0 { throw error("NUL byte in quoted string", at: i) }
            if c == 47 && !isPath {
                throw error("'/' in a quoted object name (a quoted path must start with '/')", at: i)
            }
            if c >= 0x80 { sawHighByte = true }
            i += 1
        }
        if i == p + 1 { throw error("empty quoted string", at: p) }
        if sawHighByte, let bad = firstInvalidUTF8(from: p, to: i) {
            throw error("invalid UTF-8 byte \(hex(buffer[bad])) in quoted string", at: bad)
        }
        return make(isPath ? .quotedPath : .filename, start: p, length: i + 1 - p)
    }

    // MARK: UTF-8

    /// The offset of the first byte in `start..<end` that is not part of well-formed UTF-8.
    func firstInvalidUTF8(from start: Int, to end: Int) -> Int? {
        var i = start
        while i < end {
            let c = buffer[i]
            if c < 0x80 {
                i += 1
                continue
            }
            var length = 0
            var minimum: UInt32 = 0
            var scalar: UInt32 = 0
            switch c {
            case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(c & 0x1F)
            case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(c & 0x0F)
            case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(c & 0x07)
            default: return i
            }
            guard i + length <= end else { return i }
            for k in 1..<length {
                let continuation = buffer[i + k]
                guard continuation & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(continuation & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF) { return i }
            i += length
        }
        return nil
    }
}

/// `0xNN`.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
}
