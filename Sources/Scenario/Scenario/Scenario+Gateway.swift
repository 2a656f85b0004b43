import XfrmManager

// Forwarding through a gateway (Specs/scenarios/README.md, "Gateways"; the kernel's side in
// Specs/kernel/labeled-ipsec.md §b.5): a host that forwards (`hosts.NAME.forwarding: true`) and hosts
// that reach another host through it (`hosts.NAME.routes: { OTHER: GATEWAY }`). The hosts stay on
// the one link of the kernel run; a route sends the packets for OTHER to GATEWAY's address instead.

extension Scenario {
    /// A host's route to another host through a forwarding host (`hosts.NAME.routes`).
    public struct GatewayRoute: Sendable, Hashable {
        /// The host whose address the route is for.
        public var destination: String
        /// The forwarding host the packets go to (`ip route add DESTINATION via GATEWAY`).
        public var gateway: String

        /// A route to `destination` through `gateway`.
        public init(destination: String, gateway: String) {
            self.destination = destination
            self.gateway = gateway
        }
    }

    /// What the scenario says about forwarding: the hosts that forward, and each host's routes
    /// through them.
    public struct Forwarding: Sendable, Hashable {
        /// Hosts with `forwarding: true`: IPv4 forwarding on and ICMP redirects off, or IPv6 forwarding on.
        public var gateways: Set<String>
        /// Each host's routes through a gateway, sorted by destination.
        public var routes: [String: [GatewayRoute]]

        /// No forwarding host and no route: every host reaches every other directly.
        public static let none = Forwarding(gateways: [], routes: [:])

        /// The gateway `host` sends `destination`'s packets to, if it has a route for it.
        public func gateway(from host: String, to destination: String) -> String? {
            routes[host]?.first { $0.destination == destination }?.gateway
        }

        /// The hosts `host` reaches through `gateway` (its routes that name it), sorted.
        public func destinations(from host: String, through gateway: String) -> [String] {
            (routes[host] ?? []).filter { $0.gateway == gateway }.map(\.destination)
        }
    }

    /// Reads the hosts' `forwarding` and `routes`: a route names two other hosts of the scenario,
    /// the gateway one with `forwarding: true`, all three of one address family (IPv4 or IPv6), and
    /// the way back goes through it too. (Three hosts share one kernel: `kernels: per_host` has two.)
    static func forwarding(
        _ top: [String: Any], layout: ApplyFile, fail: (String, String) -> Scenario.Error
    ) throws(Scenario.Error) -> Forwarding {
        let hosts = top["hosts"] as? [String: Any] ?? [:]
        var result = Forwarding.none
        for name in hosts.keys.sorted() {
            guard let fields = hosts[name] as? [String: Any] else { continue }
            switch fields["forwarding"] {
            case nil, false as Bool: break
            case true as Bool: result.gateways.insert(name)
            default: throw fail("hosts.\(name).forwarding", "expected true or false")
            }
        }
        for name in hosts.keys.sorted() {
            guard let value = (hosts[name] as? [String: Any])?["routes"] else { continue }
            let path = "hosts.\(name).routes"
            guard let map = value as? [String: Any] else { throw fail(path, "expected a mapping of destination hosts to gateway hosts") }
            var routes: [GatewayRoute] = []
            for destination in map.keys.sorted() {
                let at = "\(path).\(destination)"
                guard let gateway = map[destination] as? String else { throw fail(at, "expected the name of a host with forwarding: true") }
                guard layout.hosts[destination] != nil else { throw fail(at, "no such host: \(destination)") }
                guard destination != name else { throw fail(at, "a host needs no route to itself") }
                guard layout.hosts[gateway] != nil else { throw fail(at, "no such gateway host: \(gateway)") }
                guard gateway != name, gateway != destination else {
                    throw fail(at, "the gateway must be a third host, neither \(name) nor \(destination)")
                }
                guard result.gateways.contains(gateway) else { throw fail(at, "\(gateway) does not forward: give it forwarding: true") }
                for other in [destination, gateway] {
                    let mine = layout.hosts[name]!.address, theirs = layout.hosts[other]!.address
                    guard mine.family == theirs.family else {
                        throw fail(at, "\(name) (\(mine)) and \(other) (\(theirs)) are not of one address family: a route stays in IPv4 or IPv6")
                    }
                }
                routes.append(GatewayRoute(destination: destination, gateway: gateway))
            }
            if !routes.isEmpty { result.routes[name] = routes }
        }
        for (host, routes) in result.routes.sorted(by: { $0.key < $1.key }) {
            for r in routes where result.gateway(from: r.destination, to: host) != r.gateway {
                throw fail(
                    "hosts.\(r.destination).routes.\(host)",
                    "the way back must go through the same gateway: give \(r.destination) the route \(host): \(r.gateway)")
            }
        }
        return result
    }
}
