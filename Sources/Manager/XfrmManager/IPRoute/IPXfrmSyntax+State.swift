import IPsecModel
import SecurityContexts

// The state commands' words (`ip xfrm state add|update|allocspi|delete|get …`): the SA's ID and
// mark, its mode, flags, algorithms, encapsulation and limits (iproute2 `ip/xfrm_state.c`). The
// commands themselves are parsed by `WordParser.command()` (IPXfrmSyntax.swift).

extension WordParser {
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
}
