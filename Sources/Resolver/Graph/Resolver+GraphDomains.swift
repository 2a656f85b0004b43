public import IPsecModel
public import SecurityContexts

extension Resolver {
    /// The domains of a host when nothing names them (an apply file, a live namespace, a scenario
    /// without traffic steps; Specs/resolver/graph.md, "Domains"), bounded:
    /// - the labels of the SAs leaving the host (`addresses` are its own): a flow uses only an SA
    ///   with exactly its label (Specs/kernel/labeled-ipsec.md, edge 14), so these are the senders
    ///   the SAs were made for;
    /// - and the other types of those labels' roles, each with the label's user, role and range,
    ///   that form a valid context and that the policy allows `association { polmatch }` on the
    ///   label of one of the host's outbound SPD entries: at most `limit` of them, by their text;
    ///   `omitted` counts the rest.
    public func polmatchDomains(addresses: [IPAddress], limit: Int = 8) -> (domains: [SecurityContext], omitted: Int) {
        let server = authorizer.cache.server
        let policy = server.policy
        var base: [SecurityContext] = []
        for sa in mirror.sas where addresses.contains(sa.source) {
            if let c = sa.securityContext, !base.contains(c) { base.append(c) }
        }
        let spdLabels = mirror.policies.filter { !$0.isSocketPolicy && $0.direction == .out }.compactMap(\.securityContext)
        var found: [SecurityContext] = []
        var seen = Set(base)
        for b in base {
            guard let r = policy.roleIndex[b.role] else { continue }
            for (t, type) in policy.types.enumerated() where !type.isAttribute && policy.roles[r].types.contains(t) {
                var c = b
                c.type = type.name
                guard seen.insert(c).inserted, (try? server.sid(for: c)) != nil else { continue }
                // Allowed by the policy, whatever the mode: a permissive grant is not a rule.
                if spdLabels.contains(where: { authorizer.polmatch(flow: c, policyLabel: $0).check?.denied == 0 }) { found.append(c) }
            }
        }
        found.sort { $0.description < $1.description }
        let kept = Array(found.prefix(limit))
        return ((base + kept).sorted { $0.description < $1.description }, found.count - kept.count)
    }
}

extension XfrmMirror {
    /// The host's own addresses as its SPD shows them, for a live namespace whose addresses no file
    /// names: the sources of its outbound entries' templates and the destinations of its inbound
    /// entries' templates (the kernel sends from and receives at them), without the any address.
    public var templateAddresses: [IPAddress] {
        var out: [IPAddress] = []
        for p in policies where !p.isSocketPolicy && p.direction != .fwd {
            for t in p.templates {
                let a = p.direction == .out ? t.source : t.destination
                if a != .any(a.family), !out.contains(a) { out.append(a) }
            }
        }
        return out.sorted()
    }
}
