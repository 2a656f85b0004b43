import IPsecModel
import SecurityContexts

/// A line of `ip xfrm` words that cannot be turned into an operation.
public struct IPXfrmSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line in a batch file (0 for a single command).
    public var line: Int
    /// 1-based index of the offending word (0 when the line ended early).
    public var word: Int
    public var message: String

    public var description: String {
        (line > 0 ? "line \(line): " : "") + (word > 0 ? "word \(word): " : "") + message
    }
}

/// Parses `ip xfrm state …` and `ip xfrm policy …` commands in iproute2's own words (ip-xfrm(8),
/// iproute2 `ip/xfrm_state.c`, `ip/xfrm_policy.c`, `ip/ipxfrm.c`) into ``XfrmOperation``s, so that
/// iproute2 scripts (selinux-testsuite's ipsec-load among them) run unchanged through
/// `salabel xfrm --batch`. A leading `ip` and/or `xfrm` is accepted. Specs/manager/ip-xfrm-syntax.md
/// lists every word.
public enum IPXfrmSyntax {
    /// The largest `replay-window`: the kernel's ESN bitmap holds at most 128 32-bit words
    /// (`XFRMA_REPLAY_ESN_MAX` 4096 bytes / 4 / 8 in net/xfrm/xfrm_user.c `verify_replay`), 4096
    /// packets; windows up to 255 also fit the legacy `replay_window` byte of `xfrm_usersa_info`.
    public static let maximumReplayWindow: UInt32 = 4096

    /// Splits a line into words as iproute2's `makeargs` does for batch files: whitespace
    /// separates, single or double quotes group (no escapes inside single quotes; `\` escapes one
    /// character elsewhere), `#` at the start of a word begins a comment.
    public static func words(_ line: some StringProtocol) throws(IPXfrmSyntaxError) -> [String] {
        if let plain = plainWords(line) { return plain }
        return try quotedWords(line)
    }

    /// The general tokenizer (quotes anywhere, backslash escapes). Public so that tests can check
    /// that the fast path gives the same words.
    public static func quotedWords(_ line: some StringProtocol) throws(IPXfrmSyntaxError) -> [String] {
        // Byte by byte: every character with a meaning here is ASCII, and no byte of a multi-byte
        // UTF-8 sequence is ASCII, so words keep their other characters unchanged.
        var out: [String] = []
        var current: [UInt8] = []
        var inWord = false
        var quote: UInt8?
        var escaped = false
        let backslash = UInt8(ascii: "\\"), dquote = UInt8(ascii: "\""), squote = UInt8(ascii: "'")
        for b in line.utf8 {
            if escaped { current.append(b); escaped = false; inWord = true; continue }
            if let q = quote {
                if b == q { quote = nil } else if b == backslash && q == dquote { escaped = true } else { current.append(b) }
                continue
            }
            switch b {
            case backslash: escaped = true
            case dquote, squote: quote = b; inWord = true
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                if inWord { out.append(String(decoding: current, as: UTF8.self)); current.removeAll(keepingCapacity: true); inWord = false }
            case UInt8(ascii: "#") where !inWord:
                return out
            default:
                current.append(b); inWord = true
            }
        }
        if quote != nil { throw IPXfrmSyntaxError(line: 0, word: out.count + 1, message: "unterminated quote") }
        if escaped { throw IPXfrmSyntaxError(line: 0, word: out.count + 1, message: "line ends with a backslash") }
        if inWord { out.append(String(decoding: current, as: UTF8.self)) }
        return out
    }

    /// The words of a line without backslashes whose quotes, if any, each enclose a whole word
    /// (nearly every line of a batch file): cut at white space, up to a `#` that starts a word.
    /// `nil` for any other line, which the general loop handles.
    public static func plainWords(_ line: some StringProtocol) -> [String]? {
        func strings(_ bytes: UnsafeBufferPointer<UInt8>) -> [String]? {
            plainWordRanges(bytes: bytes)?.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }
        if let words = line.utf8.withContiguousStorageIfAvailable(strings) { return words }
        return Array(line.utf8).withUnsafeBufferPointer(strings)
    }

    /// Where the words of ``plainWords(_:)`` lie in a line's UTF-8 bytes (a batch file is read as
    /// one buffer). Every byte with a meaning here is ASCII, so a word cut from valid UTF-8 is
    /// valid UTF-8.
    static func plainWordRanges(bytes line: UnsafeBufferPointer<UInt8>) -> [Range<Int>]? {
        @inline(__always) func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        var out: [Range<Int>] = []
        out.reserveCapacity(24)
        var start = -1
        var i = 0
        let n = line.count
        while i < n {
            let b = line[i]
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                // A whole word in quotes with no backslash: its inside is the word.
                guard start < 0 else { return nil }
                var close = i + 1
                while close < n && line[close] != b {
                    if line[close] == UInt8(ascii: "\\") { return nil }
                    close += 1
                }
                guard close < n, close + 1 == n || isSpace(line[close + 1]) else { return nil }
                out.append((i + 1)..<close)
                i = close + 1
                continue
            case UInt8(ascii: "\\"):
                return nil
            case 0x20, 0x09, 0x0D, 0x0A:
                if start >= 0 { out.append(start..<i); start = -1 }
            case UInt8(ascii: "#") where start < 0:
                return out
            default:
                if start < 0 { start = i }
            }
            i += 1
        }
        if start >= 0 { out.append(start..<n) }
        return out
    }

    /// Parses one command line. Returns `nil` for a blank or comment line.
    public static func parse(line: some StringProtocol, lineNumber: Int = 0) throws(IPXfrmSyntaxError) -> XfrmOperation? {
        try parse(line: line, lineNumber: lineNumber, contexts: nil)
    }

    static func parse(line: some StringProtocol, lineNumber: Int, contexts: ContextCache?) throws(IPXfrmSyntaxError) -> XfrmOperation? {
        let w: [String]
        do { w = try words(line) } catch { throw IPXfrmSyntaxError(line: lineNumber, word: error.word, message: error.message) }
        return try Word.withWords(w) { (words) throws(IPXfrmSyntaxError) in try parse(words: words, lineNumber: lineNumber, contexts: contexts) }
    }

    /// Parses a line's words; `nil` when there are none besides a leading `ip` and/or `xfrm`.
    static func parse(words w: [Word], lineNumber: Int, contexts: ContextCache?) throws(IPXfrmSyntaxError) -> XfrmOperation? {
        var first = 0
        if first < w.count, w[first] == "ip" { first += 1 }
        if first < w.count, w[first] == "xfrm" { first += 1 }
        if first == w.count { return nil }
        var p = WordParser(words: w, line: lineNumber, first: first)
        p.contexts = contexts
        return try p.command()
    }

    /// Parses a command given as words (as a shell passes them): `["state", "add", "src", …]`.
    public static func parse(words: [String]) throws(IPXfrmSyntaxError) -> XfrmOperation {
        let op = try Word.withWords(words) { (w) throws(IPXfrmSyntaxError) in try parse(words: w, lineNumber: 0, contexts: nil) }
        guard let op else { throw IPXfrmSyntaxError(line: 0, word: 0, message: "expected 'state' or 'policy'") }
        return op
    }

    /// Parses a batch file: one command per line.
    public static func parse(batch text: String) throws(IPXfrmSyntaxError) -> [XfrmOperation] {
        try batch(text).operations
    }
}

/// The contexts a batch file has named so far, parsed once each.
final class ContextCache {
    var parsed: [String: SecurityContext] = [:]
    /// The last context named, as its bytes: the next line most likely names it again.
    var lastText: [UInt8] = []
    var last: SecurityContext?
}

/// The word-by-word parser for one command.
struct WordParser {
    /// The line's words; the command starts at `first` (after a leading `ip` and/or `xfrm`).
    let words: [Word]
    let line: Int
    var i: Int
    /// Contexts already parsed in this batch (a file repeats the same few labels on every line).
    var contexts: ContextCache?

    init(words: [Word], line: Int, first: Int) {
        self.words = words
        self.line = line
        self.i = first
    }

    var atEnd: Bool { i >= words.count }
    var peek: Word? { atEnd ? nil : words[i] }

    /// Whether the next word is `literal`.
    func peekIs(_ literal: StaticString) -> Bool { !atEnd && words[i] == literal }

    /// The word `list`, for a command with no verb (its bytes are a string literal's, constant).
    nonisolated(unsafe) static let list = Word(bytes: UnsafeBufferPointer(start: ("list" as StaticString).utf8Start, count: 4))

    func error(_ message: String, atWord index: Int? = nil) -> IPXfrmSyntaxError {
        let at = index ?? i
        return IPXfrmSyntaxError(line: line, word: at < words.count ? at + 1 : 0, message: message)
    }

    mutating func next(_ what: String) throws(IPXfrmSyntaxError) -> Word {
        guard !atEnd else { throw error("expected \(what) after '\(words.last.map(\.string) ?? "")', found the end of the line") }
        defer { i += 1 }
        return words[i]
    }

    mutating func number<T: FixedWidthInteger & UnsignedInteger>(_ what: String, as: T.Type = T.self) throws(IPXfrmSyntaxError) -> T {
        let text = try next(what)
        guard let v: T = text.number() else {
            throw error("\(what) must be a number (decimal or 0x hex) that fits \(T.bitWidth) bits, found '\(text)'", atWord: i - 1)
        }
        return v
    }

    mutating func address(_ what: String) throws(IPXfrmSyntaxError) -> IPAddress {
        let text = try next(what)
        guard let a = IPAddress(utf8: text.bytes) else { throw error("\(what) must be an IPv4 or IPv6 address, found '\(text)'", atWord: i - 1) }
        return a
    }

    mutating func prefix(_ what: String) throws(IPXfrmSyntaxError) -> IPPrefix {
        let text = try next(what)
        guard let p = IPPrefix(utf8: text.bytes) else { throw error("\(what) must be ADDRESS[/LENGTH], found '\(text)'", atWord: i - 1) }
        return p
    }

    mutating func context() throws(IPXfrmSyntaxError) -> SecurityContext {
        let word = try next("a security context")
        if let cache = contexts, let last = cache.last, cache.lastText.elementsEqual(word.bytes) { return last }
        let text = word.string
        if let known = contexts?.parsed[text] {
            contexts?.lastText = Array(word.bytes)
            contexts?.last = known
            return known
        }
        do {
            let ctx = try SecurityContext(parsing: text)
            contexts?.parsed[text] = ctx
            contexts?.lastText = Array(word.bytes)
            contexts?.last = ctx
            return ctx
        } catch {
            throw self.error("invalid security context '\(text)': \(error)", atWord: i - 1)
        }
    }

    // MARK: Commands

    mutating func command() throws(IPXfrmSyntaxError) -> XfrmOperation {
        let object = try next("'state' or 'policy'")
        let verb = atEnd ? WordParser.list : try next("a command")
        switch (object, verb) {
        case ("state", "add"), ("state", "update"):
            let sa = try stateBody(allowAlgorithms: true)
            return verb == "add" ? .addSA(sa) : .updateSA(sa)
        case ("state", "allocspi"):
            var min: UInt32 = 0x100, max: UInt32 = 0x0FFF_FFFF
            let sa = try stateBody(allowAlgorithms: false) { (p: inout WordParser, word: Word) throws(IPXfrmSyntaxError) -> Bool in
                switch word {
                case "min": min = try p.number("a minimum SPI"); return true
                case "max": max = try p.number("a maximum SPI"); return true
                default: return false
                }
            }
            guard min <= max else { throw error("min SPI 0x\(String(min, radix: 16)) is above max 0x\(String(max, radix: 16))") }
            return .allocateSPI(sa, min: min, max: max)
        case ("state", "delete"), ("state", "get"):
            let id = try idAndMark()
            guard let dst = id.dst, let proto = id.proto, let spi = id.spi else {
                throw error("state \(verb) needs dst, proto and spi")
            }
            let sid = SAIdentifier(destination: dst, spi: spi, proto: proto)
            return verb == "delete" ? .deleteSA(sid, source: id.src, mark: id.mark) : .getSA(sid, source: id.src, mark: id.mark)
        case ("state", "flush"):
            var proto = IPsecProtocol.all
            while let w = peek {
                i += 1
                guard w == "proto" else { throw error("unknown word '\(w)' after 'state flush' (expected 'proto')", atWord: i - 1) }
                proto = try ipsecProtocol()
            }
            return .flushSA(proto)
        case ("state", "deleteall"), ("state", "list"), ("state", "show"), ("state", "ls"), ("state", "lst"):
            let f = try filter(policy: false)
            return verb == "deleteall" ? .deleteAllSA(f) : .listSA(f)
        case ("policy", "add"), ("policy", "update"):
            let p = try policyBody()
            return verb == "add" ? .addPolicy(p) : .updatePolicy(p)
        case ("policy", "delete"), ("policy", "get"):
            return try policyKeyCommand(delete: verb == "delete")
        case ("policy", "flush"):
            var ptype: UInt8 = 0
            while let w = peek {
                i += 1
                guard w == "ptype" else { throw error("unknown word '\(w)' after 'policy flush' (expected 'ptype')", atWord: i - 1) }
                ptype = try policyType()
            }
            return .flushPolicy(policyType: ptype)
        case ("policy", "deleteall"), ("policy", "list"), ("policy", "show"), ("policy", "ls"), ("policy", "lst"):
            let f = try filter(policy: true)
            return verb == "deleteall" ? .deleteAllPolicies(f) : .listPolicies(f)
        case ("state", _), ("policy", _):
            throw error(
                "unknown command '\(object) \(verb)' (salabel runs add, update, delete, get, deleteall, list, flush\(object == "state" ? ", allocspi" : ""))",
                atWord: i - 1)
        default:
            throw error("unknown object '\(object)' (expected 'state' or 'policy'; salabel runs ip xfrm state and policy commands)", atWord: 0)
        }
    }
}
