public import DecisionEngine
public import Resolver

// The resolvers of a scenario's hosts: what ScenarioModel plays its traffic with, and what
// `salabel trace` and `salabel resolve` explain a scenario's flows with, made in one place so that
// both see the same kernel (Specs/scenarios/README.md, "NetLabel"; Specs/kernel/labeled-ipsec.md,
// edges 22 and 26).

extension Scenario {
    /// The other hosts of `host`'s kernel (all of them with `kernels: shared`, none with
    /// `per_host`): the hosts whose labeled xfrm objects count in its `selinux_xfrm_refcount`.
    public func kernelNeighbours(of host: String) -> [String] {
        (kernelGroups.first { $0.contains(host) } ?? [host]).filter { $0 != host }
    }

    /// A resolver for `host` holding `mirror`, as its kernel sees it: the scenario's NetLabel tables
    /// (``netLabelState``: the CIPSO or CALIPSO option its packets carry, the label an arriving
    /// packet gets, the peer checks they turn on; edge 22 of Specs/kernel/labeled-ipsec.md), and
    /// whether labeled xfrm objects stand on another host of the same kernel
    /// (`labeledXfrmElsewhere`, edge 26).
    public func resolver(host: String, mirror: XfrmMirror, authorizer: AssociationAuthorizer, labeledXfrmElsewhere: Bool) -> Resolver {
        var r = Resolver(mirror: mirror, authorizer: authorizer)
        r.netLabel = netLabelState
        r.labeledXfrmElsewhere = labeledXfrmElsewhere
        return r
    }

    /// A resolver for `host` as the scenario leaves it before its steps: its SAs and SPD entries
    /// (``mirror(host:)``), decided by `authorizer`, with ``resolver(host:mirror:authorizer:labeledXfrmElsewhere:)``'s
    /// NetLabel tables and count of labeled xfrm objects on the kernel's other hosts.
    public func resolver(host: String, authorizer: AssociationAuthorizer) throws(Scenario.Error) -> Resolver {
        var elsewhere = false
        for other in kernelNeighbours(of: host) where try mirror(host: other).hasLabels { elsewhere = true }
        return resolver(host: host, mirror: try mirror(host: host), authorizer: authorizer, labeledXfrmElsewhere: elsewhere)
    }
}
