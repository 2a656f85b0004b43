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

    /// Upper-layer protocol names as iproute2 prints them.
    static let protocolNames: [UInt8: String] = [6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 132: "sctp", 33: "dccp", 47: "gre", 135: "mh"]

    /// A selector as iproute2 prints it (without the blank iproute2 leaves after it).
    static func selectorText(_ s: TrafficSelector) -> String {
        var out = ""
        appendSelector(s, to: &out)
        return out
    }

    /// A selector as iproute2 prints it, without the trailing blank.
    static func appendSelector(_ s: TrafficSelector, to out: inout String) {
        out += "src "
        appendPrefix(s.source, to: &out)
        out += " dst "
        appendPrefix(s.destination, to: &out)
        if s.upperProtocol != 0 { out += " proto " + (protocolNames[s.upperProtocol] ?? String(s.upperProtocol)) }
        let icmp = s.upperProtocol == 1 || s.upperProtocol == 58
        if s.sourcePortMask != 0 { out += (icmp ? " type " : " sport ") + String(s.sourcePort) }
        if s.destinationPortMask != 0 { out += (icmp ? " code " : " dport ") + String(s.destinationPort) }
        if s.interfaceIndex != 0 { out += " dev " + String(s.interfaceIndex) }
    }

    static func appendPrefix(_ p: IPPrefix, to out: inout String) {
        out += p.address.description
        out += "/"
        out += String(p.length)
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
        var out = ""
        out.reserveCapacity(200)
        append(p, to: &out)
        return out
    }

    /// Entries in `ip xfrm policy` layout, one after the other (a dump can hold 100,000).
    public static func text(_ entries: [PolicyEntry]) -> String {
        textParts(entries).joined(separator: "\n")
    }

    /// The same text in consecutive parts of a few hundred entries each, to be written one after
    /// the other with a newline between them: written on every processor at once, and never
    /// copied into one string.
    public static func textParts(_ entries: [PolicyEntry]) -> [String] {
        let per = 512
        let parts = stride(from: 0, to: entries.count, by: per).map { entries[$0..<min(entries.count, $0 + per)] }
        return parallelMap(parts[...], minimum: 4) { part in
            var out = ""
            out.reserveCapacity(part.count * 160)
            for p in part {
                if !out.isEmpty { out += "\n" }
                append(p, to: &out)
            }
            return out
        }
    }

    static func append(_ p: PolicyEntry, to out: inout String) {
        appendSelector(p.selector, to: &out)
        if let ctx = p.securityContext { out += "\n\tsecurity context " + ctx.description }
        out += "\n\tdir " + p.direction.description + " "
        if p.action == .block { out += "action block " }
        out += "priority " + String(p.priority) + (p.policyType == 0 ? " ptype main" : " ptype sub")
        if p.flags != 0 { out += " flag" + (p.flags & 1 != 0 ? " localok" : "") + (p.flags & 2 != 0 ? " icmp" : "") }
        if let m = p.mark { out += "\n\tmark " + hex(m.value, width: 0) + "/" + hex(m.mask, width: 0) }
        if let i = p.interfaceID { out += "\n\tif_id " + hex(i, width: 0) }
        for t in p.templates {
            out += "\n\ttmpl src " + t.source.description + " dst " + t.destination.description
            out += "\n\t\tproto " + t.proto.description + " "
            if t.spi != 0 { out += "spi " + hex(t.spi) + " " }
            out += "reqid " + String(t.reqid) + " mode " + t.mode.description
            if t.optional { out += "\n\t\tlevel use " }
        }
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
