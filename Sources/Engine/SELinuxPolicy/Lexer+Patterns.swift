// The lexer's patterns for words and numbers (checkpolicy's IDENTIFIER, NUMBER, FILESYSTEM,
// IPV4_ADDR, IPV4_CIDR, IPV6_ADDR, IPV6_CIDR, VERSION_IDENTIFIER, NETIFNAME), each the length of
// its longest match at a position, and the character classes they are made of.

/// Character classes of checkpolicy's scanner.
@inline(__always) func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- 97 < 26 }
@inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }
@inline(__always) func isAlnum(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) }
@inline(__always) func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20) &- 97 < 6 }
@inline(__always) func isIdentifierByte(_ c: UInt8) -> Bool { isAlnum(c) || c == 95 || c == 45 }

extension Lexer {

    /// A token starting with a letter: keyword, identifier, or (rarely) IPv6 address or NETIFNAME.
    mutating func lexWord(at p: Int) -> Token {
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
    mutating func lexDigits(at p: Int) -> Token {
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
}
