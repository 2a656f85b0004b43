import Glibc
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

    // MARK: State

    struct ID {
        var src: IPAddress?
        var dst: IPAddress?
        var proto: IPsecProtocol?
        var spi: UInt32?
        var mark: XfrmMark?
    }

    mutating func ipsecProtocol() throws(IPXfrmSyntaxError) -> IPsecProtocol {
        let text = try next("an IPsec protocol")
        guard let p = IPsecProtocol(name: text.string) else {
            throw error("unknown IPsec protocol '\(text)' (esp, ah, comp, route2, hao, ipsec-any or a number)", atWord: i - 1)
        }
        return p
    }

    /// Reads `src`, `dst`, `proto`, `spi` if the current word is one of them.
    mutating func idWord(_ w: Word, _ id: inout ID) throws(IPXfrmSyntaxError) -> Bool {
        switch w {
        case "src": id.src = try address("a source address")
        case "dst": id.dst = try address("a destination address")
        case "proto": id.proto = try ipsecProtocol()
        case "spi": id.spi = try number("an SPI")
        default: return false
        }
        return true
    }

    mutating func markWord(_ w: Word) throws(IPXfrmSyntaxError) -> XfrmMark? {
        guard w == "mark" else { return nil }
        var m = XfrmMark(value: try number("a mark"))
        if peekIs("mask") { i += 1; m.mask = try number("a mark mask") }
        return m
    }

    mutating func idAndMark() throws(IPXfrmSyntaxError) -> ID {
        var id = ID()
        while let w = peek {
            i += 1
            if try idWord(w, &id) { continue }
            if let m = try markWord(w) { id.mark = m; continue }
            throw error("unknown word '\(w)' (expected src, dst, proto, spi or mark)", atWord: i - 1)
        }
        return id
    }

    /// The body of `state add|update|allocspi`; `extra` handles command-specific words.
    mutating func stateBody(allowAlgorithms: Bool, extra: ((inout WordParser, Word) throws(IPXfrmSyntaxError) -> Bool)? = nil) throws(IPXfrmSyntaxError)
        -> SecurityAssociation
    {
        var id = ID()
        var mode = XfrmMode.transport, reqid: UInt32 = 0, seq: UInt32 = 0, replay: UInt32 = 0, flags: UInt8 = 0
        var algorithms = SAAlgorithms()
        var selector: TrafficSelector?
        var lifetime = LifetimeConfig()
        var encap: UDPEncapsulation?, ctx: SecurityContext?, ifID: UInt32?
        while let w = peek {
            i += 1
            if try idWord(w, &id) { continue }
            if let m = try markWord(w) { id.mark = m; continue }
            if let extra, try extra(&self, w) { continue }
            switch w {
            case "mode": mode = try xfrmMode()
            case "reqid": reqid = try number("a reqid")
            case "seq": seq = try number("a sequence number")
            case "replay-window":
                replay = try number("a replay window size")
                guard replay <= IPXfrmSyntax.maximumReplayWindow else {
                    throw error(
                        "replay-window \(replay) is out of range: 0 to \(IPXfrmSyntax.maximumReplayWindow) packets (up to 255 in the SA's replay_window byte, larger through XFRMA_REPLAY_ESN_VAL, whose bitmap the kernel caps at 128 words of 32 bits)",
                        atWord: i - 1)
                }
            case "flag": flags |= try stateFlags()
            case "sel": selector = try selectorWords(stopAtUnknown: true)
            case "limit": try limit(&lifetime)
            case "encap": encap = try encapsulation()
            case "ctx": ctx = try context()
            case "if_id": ifID = try number("an interface id")
            case "enc", "auth", "auth-trunc", "aead", "comp":
                guard allowAlgorithms else { throw error("'\(w)' is not allowed here", atWord: i - 1) }
                try algorithm(w, &algorithms)
            case "replay-seq", "replay-oseq", "replay-seq-hi", "replay-oseq-hi", "coa", "extra-flag", "output-mark", "offload", "tfcpad",
                "nat-keepalive-interval", "dir", "pcpu-num":
                throw error("'\(w)' is an iproute2 word salabel does not support yet", atWord: i - 1)
            default:
                throw error("unknown word '\(w)' in a state command", atWord: i - 1)
            }
        }
        guard let dst = id.dst else { throw error("a state needs 'dst ADDRESS'") }
        let src = id.src ?? .any(dst.family)
        guard src.family == dst.family else { throw error("src \(src) and dst \(dst) are of different families") }
        let proto = id.proto ?? .esp
        if allowAlgorithms && id.spi == nil { throw error("a state needs 'spi SPI'") }
        var sa = SecurityAssociation(
            source: src, destination: dst, spi: id.spi ?? 0, proto: proto, mode: mode, reqid: reqid,
            replayWindow: UInt8(clamping: replay), flags: flags,
            replayWindowESN: (replay > 255 || flags & SecurityAssociation.flagESN != 0) ? replay : nil,
            selector: selector, lifetime: lifetime, algorithms: algorithms, encapsulation: encap,
            mark: id.mark, interfaceID: ifID, securityContext: ctx, sequence: seq)
        if replay > 255 { sa.replayWindow = 0 }
        return sa
    }

    /// iproute2's `XFRM_STATE_*` flag names.
    static let stateFlagNames: [(name: StaticString, value: UInt8)] = [
        ("noecn", 1), ("decap-dscp", 2), ("nopmtudisc", 4), ("wildrecv", 8), ("icmp", 16), ("af-unspec", 32), ("align4", 64), ("esn", 128),
    ]
    /// The upper-layer protocol names a selector takes (or a number).
    static let upperProtocolNames: [(name: StaticString, value: UInt8)] = [
        ("tcp", 6), ("udp", 17), ("icmp", 1), ("ipv6-icmp", 58), ("sctp", 132), ("dccp", 33), ("gre", 47), ("mobility-header", 135), ("any", 0),
    ]

    /// The upper-layer protocols whose selectors have ports (or ICMP type and code).
    static let protocolsWithPorts: Set<UInt8> = [6, 17, 132, 33, 1, 58, 135]

    mutating func xfrmMode() throws(IPXfrmSyntaxError) -> XfrmMode {
        let text = try next("a mode")
        guard let m = XfrmMode(name: text.string) else {
            throw error("unknown mode '\(text)' (transport, tunnel, beet, ro or in_trigger)", atWord: i - 1)
        }
        return m
    }

    /// `flag` words (iproute2 `XFRM_STATE_*` names) until a word that is not one; or a number.
    mutating func stateFlags() throws(IPXfrmSyntaxError) -> UInt8 {
        var flags: UInt8 = 0
        var any = false
        while let w = peek {
            if let f = WordParser.stateFlagNames.first(where: { w == $0.name })?.value { flags |= f; i += 1; any = true; continue }
            if !any, w.hasPrefix("0x") || w.string.allSatisfy(\.isNumber) { flags |= try number("a flag value"); any = true; continue }
            break
        }
        guard any else { throw error("expected a state flag (noecn, decap-dscp, nopmtudisc, wildrecv, icmp, af-unspec, align4, esn)") }
        return flags
    }

    /// `enc NAME KEY`, `auth NAME KEY`, `auth-trunc NAME KEY BITS`, `aead NAME KEY ICVBITS`, `comp NAME`.
    /// A key is hex with `0x`, otherwise the word's own bytes (as iproute2 reads it).
    mutating func algorithm(_ kind: Word, _ algs: inout SAAlgorithms) throws(IPXfrmSyntaxError) {
        let name = try next("an algorithm name").string
        guard name.utf8.count < 64 else { throw error("algorithm name '\(name)' is longer than 63 bytes", atWord: i - 1) }
        if kind == "comp" {
            algs.compression = XfrmAlgorithm(name: name, key: KeyMaterial([]))
            return
        }
        let keyWord = try next("a key")
        let key: KeyMaterial
        if keyWord.hasPrefix("0x") || keyWord.hasPrefix("0X") {
            guard let k = KeyMaterial(hex: keyWord.string) else {
                throw error("the key after '\(name)' is not valid hex (an even number of hex digits after 0x)", atWord: i - 1)
            }
            key = k
        } else {
            key = KeyMaterial(Array(keyWord.bytes))
        }
        let keyIndex = i - 1
        let algorithm: XfrmAlgorithm, role: AlgorithmKeyRules.Role
        switch kind {
        case "enc": (algorithm, role) = (XfrmAlgorithm(name: name, key: key), .encryption)
        case "auth": (algorithm, role) = (XfrmAlgorithm(name: name, key: key), .authentication)
        case "auth-trunc": (algorithm, role) = (XfrmAlgorithm(name: name, key: key, truncationBits: try number("a truncation length in bits")), .authentication)
        default: (algorithm, role) = (XfrmAlgorithm(name: name, key: key, truncationBits: try number("an ICV length in bits")), .aead)
        }
        // Keys must fit their algorithms (Specs/manager/keys.md); the error points at the key word
        // and never holds the key.
        do throws(AlgorithmKeyRules.Violation) { try AlgorithmKeyRules.check(algorithm, role: role) } catch {
            throw self.error("\(error)", atWord: keyIndex)
        }
        switch role {
        case .encryption: algs.encryption = algorithm
        case .authentication: algs.authentication = algorithm
        case .aead: algs.aead = algorithm
        }
    }

    mutating func encapsulation() throws(IPXfrmSyntaxError) -> UDPEncapsulation {
        let type = try next("an encapsulation type")
        let t: UInt16
        switch type {
        case "espinudp-nonike": t = 1
        case "espinudp": t = 2
        case "espintcp": t = 7
        default: throw error("unknown encapsulation '\(type)' (espinudp, espinudp-nonike or espintcp)", atWord: i - 1)
        }
        let sport: UInt16 = try number("a source port")
        let dport: UInt16 = try number("a destination port")
        let oa = try address("an original address")
        return UDPEncapsulation(type: t, sourcePort: sport, destinationPort: dport, originalAddress: oa)
    }

    mutating func limit(_ lft: inout LifetimeConfig) throws(IPXfrmSyntaxError) {
        let kind = try next("a limit kind")
        let v: UInt64 = try number("a limit value")
        switch kind {
        case "time-soft": lft.softAddExpiresSeconds = v
        case "time-hard": lft.hardAddExpiresSeconds = v
        case "time-use-soft": lft.softUseExpiresSeconds = v
        case "time-use-hard": lft.hardUseExpiresSeconds = v
        case "byte-soft": lft.softByteLimit = v
        case "byte-hard": lft.hardByteLimit = v
        case "packet-soft": lft.softPacketLimit = v
        case "packet-hard": lft.hardPacketLimit = v
        default: throw error("unknown limit '\(kind)'", atWord: i - 2)
        }
    }

    // MARK: Selectors and policies

    /// `src PREFIX dst PREFIX dev DEV proto P sport N dport N type N code N key K`. Stops at the first
    /// word that is not a selector word when `stopAtUnknown` (selectors are followed by other words).
    mutating func selectorWords(stopAtUnknown: Bool) throws(IPXfrmSyntaxError) -> TrafficSelector {
        var src: IPPrefix?, dst: IPPrefix?
        var proto: UInt8 = 0, sport: UInt16 = 0, dport: UInt16 = 0, smask: UInt16 = 0, dmask: UInt16 = 0
        var ifindex: Int32 = 0
        loop: while let w = peek {
            switch w {
            case "src": i += 1; src = try prefix("a source prefix")
            case "dst": i += 1; dst = try prefix("a destination prefix")
            case "dev":
                i += 1
                let name = try next("an interface name").string
                let idx = if_nametoindex(name)
                guard idx != 0 else { throw error("no interface named '\(name)'", atWord: i - 1) }
                ifindex = Int32(idx)
            case "proto":
                i += 1
                let text = try next("an upper-layer protocol")
                guard let v = WordParser.upperProtocolNames.first(where: { text == $0.name })?.value ?? text.number(as: UInt8.self) else {
                    throw error("unknown protocol '\(text)'", atWord: i - 1)
                }
                proto = v
            case "sport": i += 1; sport = try number("a source port"); smask = 0xFFFF
            case "dport": i += 1; dport = try number("a destination port"); dmask = 0xFFFF
            // ICMP type and code travel in the port fields (iproute2 ipxfrm.c).
            case "type": i += 1; sport = try number("an ICMP type"); smask = 0xFFFF
            case "code": i += 1; dport = try number("an ICMP code"); dmask = 0xFFFF
            default:
                if stopAtUnknown { break loop }
                throw error("unknown selector word '\(w)'")
            }
        }
        let family = (src ?? dst)?.address.family ?? .inet
        let s = src ?? IPPrefix(address: .any(family), length: 0)!
        let d = dst ?? IPPrefix(address: .any(family), length: 0)!
        guard s.address.family == d.address.family else { throw error("selector src \(s) and dst \(d) are of different families") }
        if (sport != 0 || dport != 0) && !WordParser.protocolsWithPorts.contains(proto) {
            throw error("ports (or ICMP type/code) need 'proto' tcp, udp, sctp, dccp, icmp, ipv6-icmp or mobility-header before them")
        }
        return TrafficSelector(
            source: s, destination: d, upperProtocol: proto, sourcePort: sport, sourcePortMask: smask,
            destinationPort: dport, destinationPortMask: dmask, interfaceIndex: ifindex)
    }

    mutating func direction() throws(IPXfrmSyntaxError) -> PolicyDirection {
        let text = try next("a direction")
        guard let d = PolicyDirection(name: text.string) else { throw error("unknown direction '\(text)' (in, out or fwd)", atWord: i - 1) }
        return d
    }

    mutating func policyType() throws(IPXfrmSyntaxError) -> UInt8 {
        let text = try next("a policy type")
        switch text {
        case "main": return 0
        case "sub": return 1
        default: throw error("unknown policy type '\(text)' (main or sub)", atWord: i - 1)
        }
    }

    /// `tmpl ID [mode MODE] [reqid N] [level required|use]`, until a word that is not a template word.
    mutating func template(family: IPAddress.Family) throws(IPXfrmSyntaxError) -> PolicyTemplate {
        var id = ID()
        var mode = XfrmMode.transport, reqid: UInt32 = 0, optional = false
        loop: while let w = peek {
            switch w {
            case "src", "dst", "proto", "spi":
                i += 1
                _ = try idWord(w, &id)
            case "mode": i += 1; mode = try xfrmMode()
            case "reqid": i += 1; reqid = try number("a reqid")
            case "level":
                i += 1
                let l = try next("a level")
                guard l == "required" || l == "use" else { throw error("unknown level '\(l)' (required or use)", atWord: i - 1) }
                optional = l == "use"
            default: break loop
            }
        }
        let fam = id.dst?.family ?? id.src?.family ?? family
        return PolicyTemplate(
            source: id.src ?? .any(fam), destination: id.dst ?? .any(fam), spi: id.spi ?? 0, proto: id.proto ?? .esp,
            mode: mode, reqid: reqid, optional: optional)
    }

    mutating func policyBody() throws(IPXfrmSyntaxError) -> PolicyEntry {
        let selector = try selectorWords(stopAtUnknown: true)
        var dir: PolicyDirection?
        var p = PolicyEntry(selector: selector, direction: .out)
        while let w = peek {
            i += 1
            if let m = try markWord(w) { p.mark = m; continue }
            switch w {
            case "dir": dir = try direction()
            case "ctx": p.securityContext = try context()
            case "index": p.index = try number("an index")
            case "ptype": p.policyType = try policyType()
            case "action":
                let a = try next("an action")
                guard a == "allow" || a == "block" else { throw error("unknown action '\(a)' (allow or block)", atWord: i - 1) }
                p.action = a == "allow" ? .allow : .block
            case "priority": p.priority = try number("a priority")
            case "flag":
                var any = false
                while let f = peek, f == "localok" || f == "icmp" { p.flags |= f == "localok" ? 1 : 2; i += 1; any = true }
                if !any { throw error("expected a policy flag (localok or icmp)") }
            case "if_id": p.interfaceID = try number("an interface id")
            case "limit": try limit(&p.lifetime)
            case "tmpl": p.templates.append(try template(family: selector.family))
            case "src", "dst", "proto", "sport", "dport", "dev", "type", "code":
                throw error("selector word '\(w)' must come before the other policy words", atWord: i - 1)
            case "offload": throw error("'offload' is an iproute2 word salabel does not support yet", atWord: i - 1)
            default: throw error("unknown word '\(w)' in a policy command", atWord: i - 1)
            }
        }
        guard let dir else { throw error("a policy needs 'dir in|out|fwd'") }
        p.direction = dir
        return p
    }

    mutating func policyKeyCommand(delete: Bool) throws(IPXfrmSyntaxError) -> XfrmOperation {
        let selector = try selectorWords(stopAtUnknown: true)
        var dir: PolicyDirection?, index: UInt32?, ctx: SecurityContext?, mark: XfrmMark?, ptype: UInt8 = 0, ifID: UInt32?
        while let w = peek {
            i += 1
            if let m = try markWord(w) { mark = m; continue }
            switch w {
            case "dir": dir = try direction()
            case "index": index = try number("an index")
            case "ctx": ctx = try context()
            case "ptype": ptype = try policyType()
            case "if_id": ifID = try number("an interface id")
            default: throw error("unknown word '\(w)' in a policy \(delete ? "delete" : "get") command", atWord: i - 1)
            }
        }
        guard let dir else { throw error("policy \(delete ? "delete" : "get") needs 'dir in|out|fwd'") }
        let key: PolicyKey = index.map { .index($0, dir) } ?? .selector(selector, dir, securityContext: ctx)
        return delete ? .deletePolicy(key, mark: mark, policyType: ptype, interfaceID: ifID) : .getPolicy(key, mark: mark, policyType: ptype, interfaceID: ifID)
    }

    /// Filters of `list`/`deleteall`: ID words, mode, reqid for states; selector, dir, index,
    /// priority, action for policies. `nokeys`/`nosock` are accepted and ignored.
    mutating func filter(policy: Bool) throws(IPXfrmSyntaxError) -> XfrmFilter {
        var f = XfrmFilter()
        while let w = peek {
            i += 1
            switch w {
            case "src": f.source = try (policy ? prefix("a source prefix").address : address("a source address"))
            case "dst": f.destination = try (policy ? prefix("a destination prefix").address : address("a destination address"))
            case "proto" where !policy: f.proto = try ipsecProtocol()
            case "spi" where !policy: f.spi = try number("an SPI")
            case "mode" where !policy: f.mode = try xfrmMode()
            case "reqid" where !policy: f.reqid = try number("a reqid")
            case "dir" where policy: f.direction = try direction()
            case "index" where policy: f.index = try number("an index")
            case "priority" where policy: f.priority = try number("a priority")
            case "action" where policy:
                let a = try next("an action")
                guard a == "allow" || a == "block" else { throw error("unknown action '\(a)'", atWord: i - 1) }
                f.action = a == "allow" ? .allow : .block
            case "nokeys", "nosock": continue
            default: throw error("unknown filter word '\(w)'", atWord: i - 1)
            }
        }
        return f
    }
}
