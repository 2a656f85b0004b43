import DecisionEngine
public import IPsecModel
public import SecurityContexts

/// Whether a receiving socket gets a packet with a given peer label, and the checks that decided.
public struct DeliveryResolution: Sendable, Hashable {
    public var delivered: Bool
    /// The peer label the receiver sees (getpeercon / SCM_SECURITY), when delivered.
    public var peer: SecurityContext?
    public var checks: [ResolutionCheck]
}

extension Resolver {
    /// One permission check of any class through the shared AVC, as a `ResolutionCheck`.
    public func check(_ source: SecurityContext, _ target: SecurityContext, _ cls: String, _ perm: String, what: String) -> ResolutionCheck {
        let server = authorizer.cache.server
        func query(_ check: AccessCheck?, undecided: String? = nil) -> AccessQuery {
            AccessQuery(objectClass: cls, permissions: [perm], source: source, target: target, check: check, undecided: undecided)
        }
        guard let (c, bit) = server.permission(cls, perm) else {
            let allowed = server.policy.handleUnknown == .allow
            let reason = "\(cls) { \(perm) } is not in the policy: " + (allowed ? "allowed (handle_unknown allow)" : "denied")
            return ResolutionCheck(what: what, passed: allowed, reason: reason, record: nil, access: query(nil, undecided: reason))
        }
        do {
            let s = try server.sid(for: source), t = try server.sid(for: target)
            let r = authorizer.cache.check(s, t, classValue: c, requested: bit)
            let reason =
                r.denied == 0
                ? "allowed"
                : r.granted
                    ? "allowed (not enforced: denial \(r.denialStages.joined(separator: ", ")) audited)"
                    : "denied (\(r.denialStages.joined(separator: ", "))\(r.record == nil ? ", dontaudit" : ""))"
            return ResolutionCheck(what: what, passed: r.granted, reason: reason, record: r.record, access: query(r))
        } catch {
            return ResolutionCheck(what: what, passed: false, reason: "no decision: \(error)", record: nil, access: query(nil, undecided: "\(error)"))
        }
    }

    /// The interface's label (`netifcon`, else the `netif` initial SID's context).
    public func netifLabel(_ interface: String?) -> SecurityContext? {
        let p = authorizer.cache.server.policy
        if let interface, let n = p.netifcons.first(where: { $0.interface == interface }) { return n.interfaceContext }
        return p.initialSIDs.first { $0.name == "netif" }?.context
    }

    /// The node's label (the most specific matching `nodecon`, else the `node` initial SID's context).
    public func nodeLabel(_ address: IPAddress) -> SecurityContext? {
        let p = authorizer.cache.server.policy
        let matching = p.nodecons.filter { n in
            n.address.bytes.count == address.bytes.count
                && zip(zip(n.address.bytes, n.mask.bytes), address.bytes).allSatisfy { ($0.0 & $0.1) == ($1 & $0.1) }
        }
        if let best = matching.max(by: { $0.mask.bytes.reduce(0) { $0 + $1.nonzeroBitCount } < $1.mask.bytes.reduce(0) { $0 + $1.nonzeroBitCount } }) {
            return best.context
        }
        return p.initialSIDs.first { $0.name == "node" }?.context
    }

    /// The port's label (`portcon` for the protocol, else the `port` initial SID's context).
    public func portLabel(_ port: UInt16, protocol proto: String) -> SecurityContext? {
        let p = authorizer.cache.server.policy
        if let c = p.portcons.first(where: { $0.protocol == proto && $0.low <= Int(port) && Int(port) <= $0.high }) { return c.context }
        return p.initialSIDs.first { $0.name == "port" }?.context
    }

    /// Delivery of a packet with `inbound`'s peer label to a socket labeled `socket`, received on
    /// `interface` from `source` (Specs/kernel/labeled-ipsec.md §a.2):
    /// - with the policy capability `network_peer_controls` (`selinux_socket_sock_rcv_skb`), when
    ///   the peer checks are on (``peerLabelingEnabled``, edge 26): the peer (as subject) needs `netif { ingress }` on the interface's label and `node { recvfrom }`
    ///   on the source node's label, then the socket needs `peer { recv }` on the peer;
    /// - without it (the compat check D3): the socket needs `association { recvfrom }` on the peer
    ///   label, or on `unlabeled` for unlabeled traffic;
    /// - with the secmark checks on (``secmarkEnabled``): `packet { recv }`, after the peer checks
    ///   (`selinux_socket_sock_rcv_skb`) or before D3 (`selinux_sock_rcv_skb_compat`).
    public func deliver(_ inbound: InboundResolution, to socket: SecurityContext, interface: String? = nil, source: IPAddress? = nil) -> DeliveryResolution {
        var checks = inbound.checks
        guard !inbound.dropped, let peer = inbound.peer else {
            return DeliveryResolution(delivered: false, peer: nil, checks: checks)
        }
        let policy = authorizer.cache.server.policy
        var own: [ResolutionCheck] = []
        if policy.hasCapability("network_peer_controls") {
            if peerLabelingEnabled {
                if let netif = netifLabel(interface) {
                    own.append(check(peer, netif, "netif", "ingress", what: "netif { ingress } \(peer) → \(netif)"))
                }
                if let source, let node = nodeLabel(source) {
                    own.append(check(peer, node, "node", "recvfrom", what: "node { recvfrom } \(peer) → \(node)"))
                }
                own.append(check(socket, peer, "peer", "recv", what: "peer { recv } \(socket) → \(peer)"))
            } else if !secmarkEnabled {
                own.append(
                    ResolutionCheck(
                        what: "peer checks", passed: true,
                        reason: "off: no labeled SA or SPD entry, no NetLabel, no always_check_network (edge 26)", record: nil))
                return DeliveryResolution(delivered: true, peer: peer, checks: checks + own)
            }
            if own.allSatisfy(\.passed) { own += secmarkChecks(socket, .recv) }
        } else {
            own += secmarkChecks(socket, .recv)
            if own.allSatisfy(\.passed) {
                own.append(Self.check(authorizer.recvfrom(socket: socket, peer: peer), "association { recvfrom } \(socket) → \(peer)"))
            }
        }
        checks += own
        let delivered = checks.allSatisfy(\.passed)
        return DeliveryResolution(delivered: delivered, peer: delivered ? peer : nil, checks: checks)
    }
}
