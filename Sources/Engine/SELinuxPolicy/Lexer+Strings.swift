// The lexer's quoted strings (QPATH, FILENAME) and its check of UTF-8 in strings, paths and
// comments.

extension Lexer {
    /// QPATH `"/..."` (no newline inside) or FILENAME `"..."` (no `/` or newline inside, not empty).
    mutating func lexQuoted(at p: Int) throws(PolicyError) -> Token {
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
