public import IPsecModel
public import SecurityContexts

/// One host of a ``LabelGraph``: its SAD/SPD with the policy (a ``Resolver``), its addresses, and
/// the domains that send from it and receive on it.
public struct GraphHost: Sendable {
    public var name: String
    /// The host's addresses: an SA whose destination is one of them reaches this host.
    public var addresses: [IPAddress]
    public var resolver: Resolver
    /// The contexts of the flows the host sends.
    public var senders: [SecurityContext]
    /// The contexts of the sockets that receive on the host.
    public var receivers: [SecurityContext]

    public init(name: String, addresses: [IPAddress], resolver: Resolver, senders: [SecurityContext], receivers: [SecurityContext]) {
        self.name = name
        self.addresses = addresses
        self.resolver = resolver
        self.senders = senders
        self.receivers = receivers
    }

    /// The host's outbound SAs: those whose source is one of its addresses, in the mirror's order.
    var outboundSAs: [SecurityAssociation] { resolver.mirror.sas.filter { addresses.contains($0.source) && $0.spi != 0 } }

    /// The host's SPD entries of `direction` (no per-socket entries), in the mirror's order.
    func entries(_ direction: PolicyDirection) -> [(ordinal: Int, entry: PolicyEntry)] {
        resolver.mirror.policies.filter { !$0.isSocketPolicy && $0.direction == direction }.enumerated().map { ($0.offset + 1, $0.element) }
    }
}

extension LabelGraph {
    /// The graph of `hosts` (in the order given; each host's domains sorted by their text): every
    /// check is made by the host's ``Resolver`` and its authorizer, as `trace` makes it.
    ///
    /// - A sender → each `dir out` SPD entry of its host: `polmatch` (an unlabeled entry: no check).
    /// - A sender → each SA leaving its host with exactly its label: `sendto` (edge 14 of
    ///   Specs/kernel/labeled-ipsec.md: the kernel asks for no other SA).
    /// - An SA → the host of its destination: the receiver holds the SA, or drops the packet.
    /// - An SA → each `dir in` SPD entry of the receiver whose template the SA fits: `polmatch`
    ///   with the SA's label (edge 21).
    /// - An SA → each receiver on the receiving host: ``Resolver/deliver(_:to:interface:source:)``.
    public static func build(hosts: [GraphHost]) -> LabelGraph {
        var nodes: [Node] = [], edges: [Edge] = []
        var ids = Set<String>()
        func add(_ node: Node) {
            if ids.insert(node.id).inserted { nodes.append(node) }
        }
        for h in hosts {
            add(Node(id: hostID(h.name), kind: .host, host: h.name, lines: [h.name] + h.addresses.map(\.description)))
            for d in Set(h.senders + h.receivers).sorted(by: { $0.description < $1.description }) {
                add(Node(id: domainID(h.name, d), kind: .domain, host: h.name, lines: [d.description]))
            }
            for (n, e) in h.entries(.out) + h.entries(.in) {
                add(Node(id: spdID(h.name, e, ordinal: n), kind: .spd, host: h.name, lines: spdLines(e, ordinal: n)))
            }
            for sa in h.outboundSAs {
                add(Node(id: saID(h.name, sa), kind: .sa, host: h.name, lines: saLines(sa)))
            }
        }
        func receiver(_ sa: SecurityAssociation) -> String? { hosts.first { $0.addresses.contains(sa.destination) }?.name }
        for h in hosts {
            let r = h.resolver
            for d in Set(h.senders).sorted(by: { $0.description < $1.description }) {
                for (n, e) in h.entries(.out) {
                    let check: ResolutionCheck
                    if let label = e.securityContext {
                        check = Resolver.check(r.authorizer.polmatch(flow: d, policyLabel: label), "polmatch \(d) → SPD entry #\(n) \(label)")
                    } else {
                        check = ResolutionCheck(
                            what: "SPD entry #\(n) (unlabeled)", passed: true, reason: "an unlabeled entry matches every flow, no check (edge 13)",
                            record: nil)
                    }
                    let receiver = e.templates.first.flatMap { t in hosts.first { $0.name != h.name && $0.addresses.contains(t.destination) }?.name }
                    edges.append(
                        Edge(from: domainID(h.name, d), to: spdID(h.name, e, ordinal: n), kind: .polmatch, sender: h.name, receiver: receiver, check: check))
                }
                for sa in h.outboundSAs where sa.securityContext == d {
                    let check = Resolver.check(r.authorizer.sendto(flow: d, saLabel: d), "sendto on SA spi 0x\(String(sa.spi, radix: 16)) \(d)")
                    edges.append(Edge(from: domainID(h.name, d), to: saID(h.name, sa), kind: .sendto, sender: h.name, receiver: receiver(sa), check: check))
                }
            }
            for sa in h.outboundSAs {
                guard let peer = hosts.first(where: { $0.name != h.name && $0.addresses.contains(sa.destination) }) else { continue }
                let inbound = peer.resolver.inbound(destination: sa.destination, spi: sa.spi, proto: sa.proto)
                let held =
                    inbound.dropped
                    ? inbound.checks.first { !$0.passed }!
                    : ResolutionCheck(
                        what: "SA dst \(sa.destination) spi 0x\(String(sa.spi, radix: 16)) proto \(sa.proto)", passed: true,
                        reason: "\(peer.name) holds the SA", record: nil)
                edges.append(Edge(from: saID(h.name, sa), to: hostID(peer.name), kind: .reaches, sender: h.name, receiver: peer.name, check: held))
                guard !inbound.dropped else { continue }
                let subject = inbound.peer
                for (n, e) in peer.entries(.in) where fits(sa, e) {
                    guard let label = e.securityContext, let subject else { continue }
                    let check = Resolver.check(
                        peer.resolver.authorizer.polmatch(flow: subject, policyLabel: label),
                        "polmatch \(subject) → inbound SPD entry #\(n) \(label) (subject: the SA's label, edge 21)")
                    edges.append(
                        Edge(
                            from: saID(h.name, sa), to: spdID(peer.name, e, ordinal: n), kind: .inboundPolmatch, sender: h.name, receiver: peer.name,
                            check: check))
                }
                for d in Set(peer.receivers).sorted(by: { $0.description < $1.description }) {
                    let delivery = peer.resolver.deliver(inbound, to: d, source: sa.source)
                    let decisive = delivery.checks.first { !$0.passed } ?? delivery.checks.last { $0.access != nil } ?? delivery.checks.last!
                    edges.append(Edge(from: saID(h.name, sa), to: domainID(peer.name, d), kind: .receive, sender: h.name, receiver: peer.name, check: decisive))
                }
            }
        }
        return LabelGraph(nodes: nodes, edges: edges)
    }

    /// Whether `sa` fits the first template of the inbound entry `entry` (protocol, mode, and the
    /// template's addresses unless they are any): the entries whose check the SA's traffic meets.
    static func fits(_ sa: SecurityAssociation, _ entry: PolicyEntry) -> Bool {
        guard let t = entry.templates.first else { return false }
        return t.proto == sa.proto && t.mode == sa.mode && (t.source == .any(t.family) || t.source == sa.source)
            && (t.destination == .any(t.family) || t.destination == sa.destination)
    }

    static func hostID(_ host: String) -> String { "host \(host)" }
    static func domainID(_ host: String, _ d: SecurityContext) -> String { "domain \(host) \(d)" }
    /// An SPD entry by its place among the host's entries of its direction (1 first): the
    /// kernel's index is 0 in a file's entries, which the kernel has not numbered.
    static func spdID(_ host: String, _ e: PolicyEntry, ordinal: Int) -> String { "spd \(host) \(e.direction) #\(ordinal)" }
    static func saID(_ host: String, _ sa: SecurityAssociation) -> String {
        "sa \(host) \(sa.proto) \(sa.destination) 0x\(String(sa.spi, radix: 16))"
    }

    static func spdLines(_ e: PolicyEntry, ordinal: Int) -> [String] {
        let s = e.selector
        var selector = "\(s.source) → \(s.destination)"
        if s.upperProtocol != 0 { selector += " " + (protocolNames[s.upperProtocol] ?? "proto \(s.upperProtocol)") }
        if s.destinationPort != 0 { selector += " dport \(s.destinationPort)" }
        if s.sourcePort != 0 { selector += " sport \(s.sourcePort)" }
        let name = "SPD \(e.direction) #\(ordinal)" + (e.index == 0 ? "" : " index \(e.index)") + (e.action == .block ? " block" : "")
        return [name, selector, e.securityContext?.description ?? "unlabeled"]
    }

    static func saLines(_ sa: SecurityAssociation) -> [String] {
        ["SA \(sa.proto) spi 0x\(String(sa.spi, radix: 16))", "\(sa.source) → \(sa.destination)", sa.securityContext?.description ?? "unlabeled"]
    }

    static let protocolNames: [UInt8: String] = [1: "icmp", 6: "tcp", 17: "udp"]
}
