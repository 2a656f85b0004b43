public import IPsecModel
public import SecurityContexts

extension Resolver {
    /// The checks `selinux_ip_forward` makes on a packet this host forwards
    /// (Specs/kernel/labeled-ipsec.md §b.5), with the policy capability `network_peer_controls`
    /// and the peer checks on (edge 26): `peer` (the inbound SA's label, or `unlabeled`) needs
    /// `netif { ingress }` on the incoming interface's label, then `node { recvfrom }` on the source
    /// node's label (`selinux_inet_sys_rcv_skb`); the first denial drops the packet. Empty when the
    /// checks are off: without the capability forwarding is not checked at all. With the secmark
    /// checks on (``secmarkEnabled``, `always_check_network`), `packet { forward_in }` follows.
    public func forwardChecks(_ peer: SecurityContext, source: IPAddress, interface: String? = nil) -> [ResolutionCheck] {
        guard authorizer.cache.server.policy.hasCapability("network_peer_controls") else { return [] }
        var checks: [ResolutionCheck] = []
        if peerLabelingEnabled {
            if let netif = netifLabel(interface) {
                checks.append(check(peer, netif, "netif", "ingress", what: "netif { ingress } \(peer) → \(netif) (forwarded)"))
                if !checks[0].passed { return checks }
            }
            if let node = nodeLabel(source) {
                checks.append(check(peer, node, "node", "recvfrom", what: "node { recvfrom } \(peer) → \(node) (forwarded)"))
                if !checks.allSatisfy(\.passed) { return checks }
            }
        }
        return checks + secmarkChecks(peer, .forwardIn)
    }
}
