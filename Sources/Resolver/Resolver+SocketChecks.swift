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
    /// (`selinux_ip_postroute`, with `network_peer_controls` and the peer checks on;
    /// Specs/kernel/labeled-ipsec.md, edge 26): `netif { egress }` on the interface's label, then `node {
    /// sendto }` on the destination node's label. Stops at the first denial (the packet is dropped,
    /// `ECONNREFUSED`). Empty when the checks are off.
    public func egressChecks(_ context: SecurityContext, destination: IPAddress, interface: String? = nil) -> [ResolutionCheck] {
        guard peerLabelingEnabled, authorizer.cache.server.policy.hasCapability("network_peer_controls") else { return [] }
        var checks: [ResolutionCheck] = []
        if let netif = netifLabel(interface) {
            checks.append(check(context, netif, "netif", "egress", what: "netif { egress } \(context) → \(netif)"))
            if !checks[0].passed { return checks }
        }
        if let node = nodeLabel(destination) {
            checks.append(check(context, node, "node", "sendto", what: "node { sendto } \(context) → \(node)"))
        }
        return checks
    }
}
