public import DecisionEngine
public import Resolver
import SecurityContexts

extension Scenario {
    /// The hosts of the scenario's `LabelGraph` (Specs/resolver/graph.md, "Domains"), in the
    /// order of their names, deciding with `authorizer`. The domains are the traffic steps':
    /// the client's context sends from its host and the server's receives on its host; with a
    /// reply, the server's reply context (its connection context for TCP, edge 23 of
    /// Specs/kernel/labeled-ipsec.md; its socket's for UDP) sends back and the client receives it.
    /// A scenario without traffic steps (an apply file) takes each host's
    /// `Resolver.polmatchDomains(addresses:limit:)`; `omitted` counts, by host, the domains left
    /// out beyond `limit`.
    public func graphHosts(authorizer: AssociationAuthorizer, limit: Int = 8) throws(Scenario.Error) -> (hosts: [GraphHost], omitted: [String: Int]) {
        var resolvers: [String: Resolver] = [:]
        for h in hosts { resolvers[h] = Resolver(mirror: try mirror(host: h), authorizer: authorizer) }
        var senders: [String: [SecurityContext]] = [:], receivers: [String: [SecurityContext]] = [:]
        var traffic = false
        for step in steps {
            guard case .traffic(let t) = step.action else { continue }
            traffic = true
            senders[t.from, default: []].append(t.actorContext)
            receivers[t.to, default: []].append(t.serverContext)
            if t.reply {
                let back = t.proto == .tcp ? resolvers[t.to]!.connectionContext(socket: t.serverContext, peer: t.actorContext) : t.serverContext
                senders[t.to, default: []].append(back)
                receivers[t.from, default: []].append(t.actorContext)
            }
        }
        var out: [GraphHost] = [], omitted: [String: Int] = [:]
        for h in hosts {
            let resolver = resolvers[h]!
            let addresses = [layout.hosts[h]!.address]
            if traffic {
                out.append(GraphHost(name: h, addresses: addresses, resolver: resolver, senders: senders[h] ?? [], receivers: receivers[h] ?? []))
            } else {
                let (domains, left) = resolver.polmatchDomains(addresses: addresses, limit: limit)
                if left > 0 { omitted[h] = left }
                out.append(GraphHost(name: h, addresses: addresses, resolver: resolver, senders: domains, receivers: domains))
            }
        }
        return (out, omitted)
    }
}
