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
    package static func selectorText(_ s: TrafficSelector) -> String {
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
            let names: [(UInt8, String)] = [
                (1, "noecn"), (2, "decap-dscp"), (4, "nopmtudisc"), (8, "wildrecv"), (16, "icmp"), (32, "af-unspec"), (64, "align4"), (128, "esn"),
            ]
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
        [
            "src": s.source.description, "dst": s.destination.description, "proto": Int(s.upperProtocol),
            "sport": Int(s.sourcePort), "dport": Int(s.destinationPort), "ifindex": Int(s.interfaceIndex),
        ]
    }

    /// An SPD entry as a JSON-ready dictionary.
    public static func json(_ p: PolicyEntry) -> [String: Any] {
        var o: [String: Any] = [
            "selector": json(p.selector), "dir": p.direction.description, "socket": p.isSocketPolicy, "priority": Int(p.priority),
            "index": Int(p.index), "action": p.action.description, "ptype": p.policyType == 0 ? "main" : "sub",
            "templates": p.templates.map { t -> [String: Any] in
                [
                    "src": t.source.description, "dst": t.destination.description, "proto": t.proto.description, "spi": Int(t.spi),
                    "reqid": Int(t.reqid), "mode": t.mode.description, "level": t.optional ? "use" : "required",
                ]
            },
        ]
        if let ctx = p.securityContext { o["context"] = ctx.description }
        if let m = p.mark { o["mark"] = ["value": Int(m.value), "mask": Int(m.mask)] }
        if let i = p.interfaceID { o["if_id"] = Int(i) }
        return o
    }
}

/// Text in `ip xfrm policy` layout (iproute2 `ip/ipxfrm.c`: `xfrm_policy_info_print`, `xfrm_selector_print`),
/// written as UTF-8 into one growing buffer: each entry straight into room made for it beforehand
/// (numbers, hex and IPv4 addresses digit by digit, no string per field), the text of a label
/// shared by consecutive entries made once. What ``XfrmFormatter``'s policy text is made of, and
/// what a long listing is written with.
///
/// ```swift
/// var text = XfrmPolicyText()
/// for entry in entries { text.append(entry); text.appendNewline() }
/// text.bytes.withUnsafeBytes { … write(1, $0.baseAddress, $0.count) … }
/// ```
public struct XfrmPolicyText {
    /// The buffer: the text in its first ``count`` bytes, zeros after them.
    private var storage: [UInt8] = []
    /// How many bytes of text there are.
    public private(set) var count = 0
    /// The last label written and its text.
    private var lastLabel: (context: SecurityContext, text: String)?

    /// An empty text with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        storage = [UInt8](repeating: 0, count: capacity)
    }

    /// The text so far (a copy).
    public var bytes: [UInt8] { Array(storage[..<count]) }

    /// The text as a string.
    public var string: String { String(decoding: storage[..<count], as: UTF8.self) }

    /// Empties the text (keeping its room).
    public mutating func removeAll() { count = 0 }

    /// The text so far, handed over; the text starts again empty, in the same room. For long
    /// listings kept in parts.
    public mutating func takeBytes() -> [UInt8] {
        defer { count = 0 }
        return bytes
    }

    /// Appends a newline.
    public mutating func appendNewline() {
        write(atMost: 1) { $0.put(UInt8(ascii: "\n")) }
    }

    /// Appends one SPD entry, without a newline after it.
    public mutating func append(_ p: PolicyEntry) {
        let label = p.securityContext.map { labelText($0) }
        write(atMost: PolicyTextCursor.entryBound(templates: p.templates.count, label: label)) { $0.entry(p, label: label) }
    }

    /// Appends a selector as iproute2 prints it, without the blank iproute2 leaves after it.
    public mutating func append(_ s: TrafficSelector) {
        write(atMost: PolicyTextCursor.selectorBound) { $0.selector(s) }
    }

    /// The text of a label: the last one's again when it is the same.
    private mutating func labelText(_ context: SecurityContext) -> String {
        if let last = lastLabel, last.context == context { return last.text }
        let text = context.description
        lastLabel = (context, text)
        return text
    }

    /// Runs `body` with a cursor over `bound` bytes of room after the text, and keeps what it wrote.
    private mutating func write(atMost bound: Int, _ body: (inout PolicyTextCursor) -> Void) {
        if storage.count - count < bound {
            storage.append(contentsOf: repeatElement(0, count: max(storage.count, bound, 4096)))
        }
        let start = count
        count += storage.withUnsafeMutableBufferPointer { buffer in
            var cursor = PolicyTextCursor(buffer.baseAddress! + start, room: bound)
            body(&cursor)
            return cursor.written
        }
    }
}

/// Writes policy text at a place with room for it; every piece is checked against the room (a
/// wrong bound stops the program rather than write past it).
struct PolicyTextCursor {
    private let start: UnsafeMutablePointer<UInt8>
    private var position: UnsafeMutablePointer<UInt8>
    private let end: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>, room: Int) {
        self.start = start
        position = start
        end = start + room
    }

    /// How many bytes were written.
    var written: Int { position - start }

    // The longest texts: an address 39 bytes (IPv6), a number 20 and a sign, a protocol or mode
    // word 10 (`ipsec-any`, `in_trigger`).
    /// The most a selector takes: `src ` address `/128 dst ` address `/128 proto ipv6-icmp sport 65535
    /// dport 65535 dev -2147483648`.
    static let selectorBound = 160
    /// The most an entry takes: its selector, `security context` and the label, the `dir` line, mark,
    /// if_id, and each template's two or three lines.
    static func entryBound(templates: Int, label: String?) -> Int {
        selectorBound + 20 + (label?.utf8.count ?? 0) + 80 + 30 + 20 + templates * 200
    }

    mutating func put(_ byte: UInt8) {
        precondition(position < end, "policy text longer than its bound")
        position.pointee = byte
        position += 1
    }

    mutating func put(_ text: UnsafeBufferPointer<UInt8>) {
        precondition(end - position >= text.count, "policy text longer than its bound")
        guard let base = text.baseAddress else { return }
        position.update(from: base, count: text.count)
        position += text.count
    }

    mutating func put(_ text: StaticString) {
        put(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func put(_ text: String) {
        var text = text
        text.withUTF8 { put($0) }
    }

    mutating func entry(_ p: PolicyEntry, label: String?) {
        selector(p.selector)
        if let label {
            put("\n\tsecurity context ")
            put(label)
        }
        // iproute2 prints a per-socket policy's direction as `socket in|out`.
        put(p.isSocketPolicy ? "\n\tsocket " : "\n\tdir ")
        switch p.direction {
        case .in: put("in ")
        case .out: put("out ")
        case .fwd: put("fwd ")
        }
        if p.action == .block { put("action block ") }
        put("priority ")
        decimal(p.priority)
        put(p.policyType == 0 ? " ptype main" : " ptype sub")
        if p.flags != 0 {
            put(" flag")
            if p.flags & 1 != 0 { put(" localok") }
            if p.flags & 2 != 0 { put(" icmp") }
        }
        if let m = p.mark {
            put("\n\tmark ")
            hex(m.value)
            put(UInt8(ascii: "/"))
            hex(m.mask)
        }
        if let i = p.interfaceID {
            put("\n\tif_id ")
            hex(i)
        }
        for t in p.templates {
            put("\n\ttmpl src ")
            address(t.source)
            put(" dst ")
            address(t.destination)
            put("\n\t\tproto ")
            put(t.proto.description)
            put(UInt8(ascii: " "))
            if t.spi != 0 {
                put("spi ")
                hex(t.spi, width: 8)
                put(UInt8(ascii: " "))
            }
            put("reqid ")
            decimal(t.reqid)
            put(" mode ")
            put(t.mode.description)
            if t.optional { put("\n\t\tlevel use ") }
        }
    }

    mutating func selector(_ s: TrafficSelector) {
        put("src ")
        prefix(s.source)
        put(" dst ")
        prefix(s.destination)
        if s.upperProtocol != 0 {
            put(" proto ")
            if let name = Self.protocolName(s.upperProtocol) { put(name) } else { decimal(s.upperProtocol) }
        }
        let icmp = s.upperProtocol == 1 || s.upperProtocol == 58
        if s.sourcePortMask != 0 {
            put(icmp ? " type " : " sport ")
            decimal(s.sourcePort)
        }
        if s.destinationPortMask != 0 {
            put(icmp ? " code " : " dport ")
            decimal(s.destinationPort)
        }
        if s.interfaceIndex != 0 {
            put(" dev ")
            decimal(s.interfaceIndex)
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

    mutating func prefix(_ prefix: IPPrefix) {
        address(prefix.address)
        put(UInt8(ascii: "/"))
        decimal(prefix.length)
    }

    /// An address: IPv4 as a dotted quad, digit by digit; IPv6 in its RFC 5952 text.
    mutating func address(_ address: IPAddress) {
        guard let v4 = address.ipv4 else { return put(address.description) }
        for shift in stride(from: 24, through: 0, by: -8) {
            if shift < 24 { put(UInt8(ascii: ".")) }
            decimal(UInt8(truncatingIfNeeded: v4 >> UInt32(shift)))
        }
    }

    /// A number in decimal, with a minus sign when negative.
    mutating func decimal<T: BinaryInteger>(_ value: T) {
        if value < 0 { put(UInt8(ascii: "-")) }
        var rest = UInt64(value.magnitude)
        var digits = 1
        var power: UInt64 = 10
        while digits < 20 && rest >= power {
            digits += 1
            power = power &* 10
        }
        precondition(end - position >= digits, "policy text longer than its bound")
        var at = position + digits
        repeat {
            at -= 1
            at.pointee = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        position += digits
    }

    /// `0x` and lower-case hex digits, zero-padded to `width` (at most 8).
    mutating func hex(_ value: UInt32, width: Int = 0) {
        put("0x")
        let digits = max(value == 0 ? 1 : (32 - value.leadingZeroBitCount + 3) / 4, min(width, 8))
        for i in 0..<digits {
            let nibble = UInt8((value >> UInt32(4 * (digits - 1 - i))) & 0xF)
            put(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
    }
}
