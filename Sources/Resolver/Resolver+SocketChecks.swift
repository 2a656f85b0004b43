import DecisionEngine
public import IPsecModel
public import SecurityContexts

// The socket checks around a datagram or connection that are not about IPsec, as the kernel makes
// them (Specs/kernel/labeled-ipsec.md §a; Specs/resolver/semantics.md, "Socket checks"): the binder's
// `name_bind` and `node_bind`, and, on the way out, `netif { egress }` and `node { sendto }`.
// The scenario model and the userspace data plane both use them.
extension Resolver {
    /// The kernel's default `ip_local_port_range`: binding a port inside it needs no `name_bind`
    /// (`selinux_socket_bind` skips ports in the ephemeral range).
    public static let localPorts: ClosedRange<UInt16> = 32768...60999

    /// Binding a socket labeled `context` to `port` on the wildcard address of `family` (0.0.0.0 or
    /// ::; `selinux_socket_bind`): `name_bind` on the port's label when the port is outside
    /// ``localPorts``, then `node_bind` on the wildcard node's label. Stops at the first denial,
    /// as `bind(2)` returns at once (`EACCES`).
    public func bindChecks(
        _ context: SecurityContext, port: UInt16, protocol proto: String, family: IPAddress.Family = .inet
    ) -> [ResolutionCheck] {
        let cls = proto + "_socket"
        var checks: [ResolutionCheck] = []
        if !Self.localPorts.contains(port), let label = portLabel(port, protocol: proto) {
            checks.append(check(context, label, cls, "name_bind", what: "\(cls) { name_bind } port \(port)"))
            if !checks[0].passed { return checks }
        }
        let wildcard = IPAddress.any(family)
        if let node = nodeLabel(wildcard) {
            checks.append(check(context, node, cls, "node_bind", what: "\(cls) { node_bind } \(wildcard)"))
        }
        return checks
    }

    /// The egress checks of one packet sent by `context` to `destination` through `interface`
    /// (`selinux_ip_postroute`, with `network_peer_controls`): with the secmark checks on
    /// (``secmarkEnabled``), `packet { send }` for a local socket's packet or `packet { forward_out }`
    /// for a forwarded one (`secmark`; its `context` is then the packet's peer); then, with the peer checks on
    /// (Specs/kernel/labeled-ipsec.md, edge 26), `netif { egress }` on the interface's label and
    /// `node { sendto }` on the destination node's label. Stops at the first denial (the packet is
    /// dropped, `NF_DROP_ERR(-ECONNREFUSED)`). Empty when both are off.
    public func egressChecks(
        _ context: SecurityContext, destination: IPAddress, interface: String? = nil, secmark: SecmarkPermission = .send
    ) -> [ResolutionCheck] {
        guard authorizer.cache.server.policy.hasCapability("network_peer_controls") else { return [] }
        var checks = secmarkChecks(context, secmark)
        guard checks.allSatisfy(\.passed), peerLabelingEnabled else { return checks }
        if let netif = netifLabel(interface) {
            checks.append(check(context, netif, "netif", "egress", what: "netif { egress } \(context) → \(netif)"))
            if !checks.allSatisfy(\.passed) { return checks }
        }
        if let node = nodeLabel(destination) {
            checks.append(check(context, node, "node", "sendto", what: "node { sendto } \(context) → \(node)"))
        }
        return checks
    }

    /// The check `selinux_ip_postroute` hands over to `selinux_ip_postroute_compat` when the policy
    /// lacks `network_peer_controls` (Specs/kernel/labeled-ipsec.md §a, D4): a packet a local
    /// socket labeled `socket` sends, not itself ESP, AH or IPComp (`upperProtocol`; those are the
    /// packet after its transform, checked once before it), passes `selinux_xfrm_postroute_last` at
    /// once when an SA of `bundle` (the SAs its route applies, outermost last; empty in the clear)
    /// carries a SELinux label; otherwise the socket needs `association { sendto }` on the
    /// unlabeled initial context, whether or not the peer checks are on (edge 26 does not apply).
    /// A denial drops the packet (`NF_DROP_ERR(-ECONNREFUSED)`). Empty under
    /// `network_peer_controls` (``egressChecks(_:destination:interface:secmark:)`` apply then).
    /// With the secmark checks on (``secmarkEnabled``), `packet { send }` comes first.
    public func postrouteCompatChecks(_ socket: SecurityContext, bundle: [SecurityAssociation], upperProtocol: UInt8) -> [ResolutionCheck] {
        let policy = authorizer.cache.server.policy
        guard !policy.hasCapability("network_peer_controls") else { return [] }
        let secmark = secmarkChecks(socket, .send)
        guard secmark.allSatisfy(\.passed) else { return secmark }
        return secmark + xfrmPostrouteLast(socket, bundle: bundle, upperProtocol: upperProtocol)
    }

    /// `IPPROTO_ESP`, `IPPROTO_AH`, `IPPROTO_COMP`: packets `selinux_xfrm_postroute_last` lets
    /// pass, having seen them before their transformation.
    static let transformProtocols: Set<UInt8> = [50, 51, 108]

    /// `selinux_xfrm_postroute_last` (D4), for ``postrouteCompatChecks(_:bundle:upperProtocol:)``.
    func xfrmPostrouteLast(_ socket: SecurityContext, bundle: [SecurityAssociation], upperProtocol: UInt8) -> [ResolutionCheck] {
        let what = "association { sendto } \(socket) → unlabeled (selinux_xfrm_postroute_last, without network_peer_controls)"
        if Self.transformProtocols.contains(upperProtocol) {
            return [ResolutionCheck(what: what, passed: true, reason: "not made: an ESP, AH or IPComp packet was checked before its transform", record: nil)]
        }
        if let labeled = bundle.first(where: { $0.securityContext != nil }), let label = labeled.securityContext {
            return [
                ResolutionCheck(
                    what: what, passed: true,
                    reason: "not made: SA spi 0x\(String(labeled.spi, radix: 16)) labeled \(label) carries the packet", record: nil)
            ]
        }
        guard let unlabeled else {
            return [ResolutionCheck(what: what, passed: false, reason: "no decision: the policy has no unlabeled initial SID", record: nil)]
        }
        return [Self.check(authorizer.authorize(.sendto, source: socket, target: unlabeled), what)]
    }
}

extension OutboundResolution {
    /// The SAs that carry the packet: the bundle of a `.protected` outcome (its one SA when the
    /// bundle was not recorded), none otherwise.
    public var carrying: [SecurityAssociation] {
        guard case .protected(_, let sa) = outcome else { return [] }
        return bundle.isEmpty ? [sa] : bundle
    }
}
