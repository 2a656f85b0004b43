import Glibc  // if_nametoindex: a selector's `dev NAME`
import IPsecModel
import SecurityContexts

// The policy commands' words (`ip xfrm policy add|update|delete|get …`) and what both kinds of
// command share: selectors, directions, templates, the filters of list and deleteall (iproute2
// `ip/xfrm_policy.c`, `ip/ipxfrm.c`).

extension WordParser {
    /// The upper-layer protocol names a selector takes (or a number).
    static let upperProtocolNames: [(name: StaticString, value: UInt8)] = [
        ("tcp", 6), ("udp", 17), ("icmp", 1), ("ipv6-icmp", 58), ("sctp", 132), ("dccp", 33), ("gre", 47), ("mobility-header", 135), ("any", 0),
    ]

    /// The upper-layer protocols whose selectors have ports (or ICMP type and code).
    static let protocolsWithPorts: Set<UInt8> = [6, 17, 132, 33, 1, 58, 135]

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
