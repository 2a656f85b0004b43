public import IPsecModel
import SecurityContexts

/// Human output close to `ip xfrm state` and `ip xfrm policy` (iproute2 `ip/ipxfrm.c`:
/// `xfrm_state_info_print`, `xfrm_policy_info_print`), `security context …` included. Keys are
/// shown only when asked for (iproute2 shows them; salabel does not by default).
public enum XfrmFormatter {
    static func hex(_ v: UInt32, width: Int = 8) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// A selector as iproute2 prints it (without the blank iproute2 leaves after it).
    static func selectorText(_ s: TrafficSelector) -> String {
        var text = XfrmPolicyText()
        text.append(s)
        return text.string
    }

    static func algorithmLines(_ a: SAAlgorithms, showKeys: Bool) -> [String] {
        func key(_ alg: XfrmAlgorithm) -> String { showKeys ? alg.key.exposedHex : "<key redacted>" }
        var out: [String] = []
        if let x = a.authentication {
            out.append(x.truncationBits.map { "auth-trunc \(x.name) \(key(x)) \($0)" } ?? "auth \(x.name) \(key(x))")
        }
        if let x = a.encryption { out.append("enc \(x.name) \(key(x))") }
        if let x = a.aead { out.append("aead \(x.name) \(key(x)) \(x.truncationBits ?? 0)") }
        if let x = a.compression { out.append("comp \(x.name)") }
        return out
    }

    /// One SA, in `ip xfrm state` layout.
    public static func text(_ sa: SecurityAssociation, showKeys: Bool = false) -> String {
        var lines = ["src \(sa.source) dst \(sa.destination)"]
        lines.append("\tproto \(sa.proto) spi \(hex(sa.spi)) reqid \(sa.reqid) mode \(sa.mode)")
        var replay = "\treplay-window \(sa.replayWindow) "
        if sa.flags != 0 {
            let names: [(UInt8, String)] = [(1, "noecn"), (2, "decap-dscp"), (4, "nopmtudisc"), (8, "wildrecv"), (16, "icmp"), (32, "af-unspec"), (64, "align4"), (128, "esn")]
            replay += "flag " + names.filter { sa.flags & $0.0 != 0 }.map(\.1).joined(separator: " ")
        }
        lines.append(replay)
        if let m = sa.mark { lines.append("\tmark \(hex(m.value, width: 0))/\(hex(m.mask, width: 0))") }
        lines += algorithmLines(sa.algorithms, showKeys: showKeys).map { "\t" + $0 }
        if let e = sa.encapsulation {
            let type = e.type == 1 ? "espinudp-nonike" : e.type == 2 ? "espinudp" : e.type == 7 ? "espintcp" : String(e.type)
            lines.append("\tencap type \(type) sport \(e.sourcePort) dport \(e.destinationPort) addr \(e.originalAddress?.description ?? "0.0.0.0")")
        }
        if let w = sa.replayWindowESN, sa.usesESN || w > 255 { lines.append("\tanti-replay esn context: window \(w)") }
        if let i = sa.interfaceID { lines.append("\tif_id \(hex(i, width: 0))") }
        let zero = TrafficSelector.any(sa.family)
        if sa.selector != zero { lines.append("\tsel " + selectorText(sa.selector)) }
        if let ctx = sa.securityContext { lines.append("\tsecurity context \(ctx)") }
        return lines.joined(separator: "\n")
    }

    /// One SPD entry, in `ip xfrm policy` layout.
    public static func text(_ p: PolicyEntry) -> String {
        var text = XfrmPolicyText()
        text.append(p)
        return text.string
    }

    /// Entries in `ip xfrm policy` layout, one after the other, a newline between two.
    public static func text(_ entries: [PolicyEntry]) -> String {
        var text = XfrmPolicyText(capacity: entries.count * 160)
        for (i, p) in entries.enumerated() {
            if i > 0 { text.appendNewline() }
            text.append(p)
        }
        return text.string
    }

    /// An SA as a JSON-ready dictionary (keys only with `showKeys`).
    public static func json(_ sa: SecurityAssociation, showKeys: Bool = false) -> [String: Any] {
        var o: [String: Any] = [
            "src": sa.source.description, "dst": sa.destination.description, "proto": sa.proto.description,
            "spi": Int(sa.spi), "reqid": Int(sa.reqid), "mode": sa.mode.description, "replay_window": Int(sa.replayWindow),
            "flags": Int(sa.flags), "selector": json(sa.selector),
        ]
        var algs: [[String: Any]] = []
        func add(_ kind: String, _ a: XfrmAlgorithm?) {
            guard let a else { return }
            var d: [String: Any] = ["kind": kind, "name": a.name, "key_bits": Int(a.keyBits)]
            if let t = a.truncationBits { d[kind == "aead" ? "icv_bits" : "trunc_bits"] = Int(t) }
            if showKeys { d["key"] = a.key.exposedHex }
            algs.append(d)
        }
        add("aead", sa.algorithms.aead)
        add("enc", sa.algorithms.encryption)
        add("auth", sa.algorithms.authentication)
        add("comp", sa.algorithms.compression)
        o["algorithms"] = algs
        if let ctx = sa.securityContext { o["context"] = ctx.description }
        if let m = sa.mark { o["mark"] = ["value": Int(m.value), "mask": Int(m.mask)] }
        if let i = sa.interfaceID { o["if_id"] = Int(i) }
        if let e = sa.encapsulation { o["encap"] = ["type": Int(e.type), "sport": Int(e.sourcePort), "dport": Int(e.destinationPort)] }
        return o
    }

    public static func json(_ s: TrafficSelector) -> [String: Any] {
        ["src": s.source.description, "dst": s.destination.description, "proto": Int(s.upperProtocol),
         "sport": Int(s.sourcePort), "dport": Int(s.destinationPort), "ifindex": Int(s.interfaceIndex)]
    }

    /// An SPD entry as a JSON-ready dictionary.
    public static func json(_ p: PolicyEntry) -> [String: Any] {
        var o: [String: Any] = [
            "selector": json(p.selector), "dir": p.direction.description, "priority": Int(p.priority), "index": Int(p.index),
            "action": p.action.description, "ptype": p.policyType == 0 ? "main" : "sub",
            "templates": p.templates.map { t -> [String: Any] in
                ["src": t.source.description, "dst": t.destination.description, "proto": t.proto.description, "spi": Int(t.spi),
                 "reqid": Int(t.reqid), "mode": t.mode.description, "level": t.optional ? "use" : "required"]
            },
        ]
        if let ctx = p.securityContext { o["context"] = ctx.description }
        if let m = p.mark { o["mark"] = ["value": Int(m.value), "mask": Int(m.mask)] }
        if let i = p.interfaceID { o["if_id"] = Int(i) }
        return o
    }
}

/// Text in `ip xfrm policy` layout (iproute2 `ip/ipxfrm.c`: `xfrm_policy_info_print`, `xfrm_selector_print`),
/// written as UTF-8 into one growing buffer: numbers and IPv4 addresses digit by digit, no string
/// per field, the text of a label shared by consecutive entries made once. What ``XfrmFormatter``'s
/// policy text is made of, and what a long listing is written with.
///
/// ```swift
/// var text = XfrmPolicyText()
/// for entry in entries { text.append(entry); text.appendNewline() }
/// text.bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
/// ```
public struct XfrmPolicyText {
    /// The text so far.
    public private(set) var bytes: [UInt8] = []
    /// The last label written and its text.
    private var lastLabel: (context: SecurityContext, text: String)?

    /// An empty text with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// The text as a string.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Empties the text (keeping its room).
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// The text so far, handed over: the text starts again empty, with room for `capacity` bytes.
    /// For long listings kept in parts, none of which is ever copied into a larger one.
    public mutating func takeBytes(reservingCapacity capacity: Int) -> [UInt8] {
        var taken: [UInt8] = []
        taken.reserveCapacity(capacity)
        swap(&taken, &bytes)
        return taken
    }

    /// Appends a newline.
    public mutating func appendNewline() { bytes.append(UInt8(ascii: "\n")) }

    /// Appends one SPD entry, without a newline after it.
    public mutating func append(_ p: PolicyEntry) {
        append(p.selector)
        if let context = p.securityContext {
            write("\n\tsecurity context ")
            write(label: context)
        }
        write("\n\tdir ")
        write(p.direction.description)
        write(" ")
        if p.action == .block { write("action block ") }
        write("priority ")
        write(decimal: p.priority)
        write(p.policyType == 0 ? " ptype main" : " ptype sub")
        if p.flags != 0 {
            write(" flag")
            if p.flags & 1 != 0 { write(" localok") }
            if p.flags & 2 != 0 { write(" icmp") }
        }
        if let m = p.mark {
            write("\n\tmark ")
            write(hex: m.value)
            write("/")
            write(hex: m.mask)
        }
        if let i = p.interfaceID {
            write("\n\tif_id ")
            write(hex: i)
        }
        for t in p.templates {
            write("\n\ttmpl src ")
            write(t.source)
            write(" dst ")
            write(t.destination)
            write("\n\t\tproto ")
            write(t.proto.description)
            write(" ")
            if t.spi != 0 {
                write("spi ")
                write(hex: t.spi, width: 8)
                write(" ")
            }
            write("reqid ")
            write(decimal: t.reqid)
            write(" mode ")
            write(t.mode.description)
            if t.optional { write("\n\t\tlevel use ") }
        }
    }

    /// Appends a selector as iproute2 prints it, without the blank iproute2 leaves after it.
    public mutating func append(_ s: TrafficSelector) {
        write("src ")
        write(s.source)
        write(" dst ")
        write(s.destination)
        if s.upperProtocol != 0 {
            write(" proto ")
            if let name = Self.protocolName(s.upperProtocol) { write(name) } else { write(decimal: s.upperProtocol) }
        }
        let icmp = s.upperProtocol == 1 || s.upperProtocol == 58
        if s.sourcePortMask != 0 {
            write(icmp ? " type " : " sport ")
            write(decimal: s.sourcePort)
        }
        if s.destinationPortMask != 0 {
            write(icmp ? " code " : " dport ")
            write(decimal: s.destinationPort)
        }
        if s.interfaceIndex != 0 {
            write(" dev ")
            write(decimal: s.interfaceIndex)
        }
    }

    /// Upper-layer protocol names as iproute2 prints them.
    static func protocolName(_ proto: UInt8) -> StaticString? {
        switch proto {
        case 1: "icmp"
        case 6: "tcp"
        case 17: "udp"
        case 33: "dccp"
        case 47: "gre"
        case 58: "ipv6-icmp"
        case 132: "sctp"
        case 135: "mh"
        default: nil
        }
    }

    // MARK: Writing
    // Every piece goes in with one contiguous copy (a field's bytes are built on the stack first):
    // a listing of 100,000 entries is a few million of them.

    private mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    private mutating func write(label context: SecurityContext) {
        if let last = lastLabel, last.context == context {
            write(last.text)
            return
        }
        let text = context.description
        lastLabel = (context, text)
        write(text)
    }

    private mutating func write(_ prefix: IPPrefix) {
        write(prefix.address)
        bytes.append(UInt8(ascii: "/"))
        write(decimal: prefix.length)
    }

    /// An address: IPv4 as a dotted quad, digit by digit; IPv6 in its RFC 5952 text.
    private mutating func write(_ address: IPAddress) {
        guard address.family == .inet else { return write(address.description) }
        let quad = address.bytes
        withScratch { out in
            var count = 0
            for i in 0..<4 {
                if i > 0 {
                    out[count] = UInt8(ascii: ".")
                    count += 1
                }
                let b = quad[i]
                if b >= 100 {
                    out[count] = UInt8(ascii: "0") + b / 100
                    count += 1
                }
                if b >= 10 {
                    out[count] = UInt8(ascii: "0") + b / 10 % 10
                    count += 1
                }
                out[count] = UInt8(ascii: "0") + b % 10
                count += 1
            }
            return 0..<count
        }
    }

    /// A number in decimal, with a minus sign when negative.
    private mutating func write<T: BinaryInteger>(decimal value: T) {
        let negative = value < 0
        var rest = UInt64(value.magnitude)
        withScratch { out in
            var start = Self.scratchSize
            repeat {
                start -= 1
                out[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            if negative {
                start -= 1
                out[start] = UInt8(ascii: "-")
            }
            return start..<Self.scratchSize
        }
    }

    private static let scratchSize = 32

    /// Appends the bytes `fill` writes in a 32-byte buffer on the stack (the range it returns).
    private mutating func withScratch(_ fill: (UnsafeMutablePointer<UInt8>) -> Range<Int>) {
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { raw in
            let out = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let range = fill(out)
            bytes.append(contentsOf: UnsafeBufferPointer(start: out + range.lowerBound, count: range.count))
        }
    }

    /// `0x` and lower-case hex digits, zero-padded to `width` (at most 8).
    private mutating func write(hex value: UInt32, width: Int = 0) {
        withScratch { out in
            let digits = max(value == 0 ? 1 : (32 - value.leadingZeroBitCount + 3) / 4, min(width, 8))
            out[0] = UInt8(ascii: "0")
            out[1] = UInt8(ascii: "x")
            for i in 0..<digits {
                let nibble = UInt8((value >> UInt32(4 * (digits - 1 - i))) & 0xF)
                out[2 + i] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            }
            return 0..<(2 + digits)
        }
    }
}
