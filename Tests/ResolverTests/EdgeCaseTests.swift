import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// The resolver against the numbered edge cases of Specs/kernel/labeled-ipsec.md §g, on the embedded
/// policy. The allow/deny facts used (client may polmatch ipsec_spd_t, not ipsec_restricted_spd_t;
/// echo domains may sendto only themselves) are in Specs/engine/default-policy-decisions.tsv, which
/// libsepol computed.
struct EdgeCaseTests {
    static let client = try! SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
    static let other = try! SecurityContext(parsing: "system_u:system_r:echo_other_t:s0")
    static let spd = try! SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
    static let restricted = try! SecurityContext(parsing: "system_u:object_r:ipsec_restricted_spd_t:s0")
    static let a = IPAddress("10.0.0.1")!, b = IPAddress("10.0.0.2")!

    static func resolver(_ mirror: XfrmMirror, enforcing: Bool = true) throws -> Resolver {
        Resolver(mirror: mirror, authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded(enforcing: enforcing))))
    }

    static func policy(_ ctx: SecurityContext?, priority: UInt32 = 0, index: UInt32 = 1) -> PolicyEntry {
        PolicyEntry(
            selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b)), direction: .out,
            priority: priority, index: index, templates: [PolicyTemplate(source: a, destination: b)], securityContext: ctx)
    }

    static func sa(_ spi: UInt32, _ ctx: SecurityContext?) -> SecurityAssociation {
        SecurityAssociation(source: a, destination: b, spi: spi, securityContext: ctx)
    }

    static let flow = Flow(context: client, source: a, destination: b, upperProtocol: 6, destinationPort: 7)

    @Test func labeledFlowUsesTheSAWithItsOwnLabel() throws {
        let r = try Self.resolver(XfrmMirror(sas: [Self.sa(0x100, Self.client), Self.sa(0x101, Self.other)], policies: [Self.policy(Self.spd)]))
        guard case .protected(_, let sa) = r.outbound(Self.flow).outcome else { Issue.record("not protected"); return }
        #expect(sa.spi == 0x100)
    }

    /// Edge 13: an unlabeled SPD entry matches every flow without a check, and never selects a labeled SA.
    @Test func edge13UnlabeledEntryMatchesEveryFlowButNoLabeledSA() throws {
        let r = try Self.resolver(XfrmMirror(sas: [Self.sa(0x100, Self.client)], policies: [Self.policy(nil)]))
        let res = r.outbound(Self.flow)
        guard case .acquire(_, let label) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(label == nil)
        #expect(res.checks.contains { $0.reason.contains("edge 13") })
    }

    /// Edge 14: a labeled entry never uses an unlabeled SA, nor an SA labeled otherwise than the flow.
    @Test func edge14LabeledEntryNeedsTheFlowsExactLabel() throws {
        let r = try Self.resolver(XfrmMirror(sas: [Self.sa(0x100, nil), Self.sa(0x101, Self.other)], policies: [Self.policy(Self.spd)]))
        guard case .acquire(_, let label) = r.outbound(Self.flow).outcome else { Issue.record("not acquire"); return }
        #expect(label == Self.client)
    }

    /// Edge 15: a polmatch denial only hides the entry; a lower-priority (unlabeled) entry applies.
    @Test func edge15PolmatchDenialHidesTheEntry() throws {
        let r = try Self.resolver(
            XfrmMirror(
                sas: [Self.sa(0x100, nil)],
                policies: [Self.policy(Self.restricted, priority: 1, index: 1), Self.policy(nil, priority: 2, index: 2)]))
        let res = r.outbound(Self.flow)
        guard case .protected(let p, let sa) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(p.index == 2 && sa.spi == 0x100)
        #expect(res.checks.first?.passed == false && res.checks.first?.what.contains("ipsec_restricted_spd_t") == true)
    }

    /// Edge 17: the ACQUIRE carries the flow's label, not the SPD's; a flow without a label and a
    /// labeled entry give EINVAL and no ACQUIRE.
    @Test func edge17AcquireCarriesTheFlowLabel() throws {
        let r = try Self.resolver(XfrmMirror(policies: [Self.policy(Self.spd)]))
        guard case .acquire(_, let label) = r.outbound(Self.flow).outcome else { Issue.record("not acquire"); return }
        #expect(label == Self.client && label != Self.spd)
        var unlabeledFlow = Self.flow
        unlabeledFlow.context = nil
        // A flow without a label is evaluated as unlabeled_t, which this policy does not let
        // polmatch ipsec_spd_t: the labeled entry does not apply and the flow bypasses it.
        guard case .bypass = r.outbound(unlabeledFlow).outcome else { Issue.record("expected bypass"); return }
        // In permissive mode the polmatch passes (audited), and then the kernel fails with EINVAL.
        let permissive = try Self.resolver(XfrmMirror(policies: [Self.policy(Self.spd)]), enforcing: false)
        guard case .invalid = permissive.outbound(unlabeledFlow).outcome else { Issue.record("expected EINVAL"); return }
    }

    /// A per-socket policy (an IKE daemon's bypass on its own socket: any to any, no template, first by
    /// priority) applies to that socket only: the flow of another socket still finds the labeled SPD
    /// entry and raises its ACQUIRE, where a system-wide entry like it would have let it bypass IPsec.
    @Test func socketPoliciesAreNotLookedUpForOtherFlows() throws {
        var bypass = PolicyEntry(
            selector: TrafficSelector(source: IPPrefix("0.0.0.0/0")!, destination: IPPrefix("0.0.0.0/0")!),
            direction: .out, priority: 0, index: 4, isSocketPolicy: true)
        let labeled = Self.policy(Self.spd, priority: 100, index: 9)
        let r = try Self.resolver(XfrmMirror(policies: [bypass, labeled]))
        guard case .acquire(let entry, let label) = r.outbound(Self.flow).outcome else { Issue.record("not acquire"); return }
        #expect(entry.index == 9 && label == Self.client)
        bypass.isSocketPolicy = false
        let systemWide = try Self.resolver(XfrmMirror(policies: [bypass, labeled]))
        guard case .bypass = systemWide.outbound(Self.flow).outcome else { Issue.record("a system-wide entry like it: bypass"); return }
    }

    /// Edge 20: nested SAs with different labels drop the packet; unlabeled SAs in between do not
    /// count; the innermost labeled SA gives the peer label.
    @Test func edge20NestedSAs() throws {
        let r = try Self.resolver(XfrmMirror())
        #expect(r.inbound(secPath: [Self.sa(1, Self.client), Self.sa(2, Self.other)]).dropped)
        let ok = r.inbound(secPath: [Self.sa(1, Self.client), Self.sa(2, nil), Self.sa(3, Self.client)])
        #expect(!ok.dropped && ok.peer == Self.client && ok.labeledBySA)
        let plain = r.inbound(secPath: [])
        #expect(!plain.dropped && !plain.labeledBySA && plain.peer?.type == "unlabeled_t")
    }

    /// Inbound by (destination, SPI, protocol): the SA's label; an unknown SA drops.
    @Test func inboundBySPI() throws {
        let r = try Self.resolver(XfrmMirror(sas: [Self.sa(0x100, Self.client)]))
        #expect(r.inbound(destination: Self.b, spi: 0x100, proto: .esp).peer == Self.client)
        #expect(r.inbound(destination: Self.b, spi: 0x999, proto: .esp).dropped)
    }

    /// Edge 27: in permissive mode every labeled SPD entry matches every flow (the denial is audited).
    @Test func edge27PermissiveMatchesEverything() throws {
        let r = try Self.resolver(XfrmMirror(policies: [Self.policy(Self.restricted)]), enforcing: false)
        var otherFlow = Self.flow
        otherFlow.context = Self.other
        let res = r.outbound(otherFlow)
        guard case .acquire(let p, let label) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(p.securityContext == Self.restricted && label == Self.other)
        #expect(res.checks.first?.record?.description.contains("permissive=1") == true)
        // The client's polmatch on the restricted entry is dontaudit: granted in permissive mode, no record.
        let quiet = r.outbound(Self.flow)
        #expect(quiet.checks.first?.passed == true && quiet.checks.first?.record == nil)
    }
}

/// The mirror's SAD index: every SA of a large table is found by its key, and the index follows
/// changes to the table.
struct MirrorIndexTests {
    @Test func hundredThousandSAsAreFoundByKey() {
        let source = IPAddress("10.0.0.1")!
        var sas: [SecurityAssociation] = []
        for i in 0..<100_000 {
            let high = UInt8((i >> 8) & 0xFF), low = UInt8(i & 0xFF)
            let destination = IPAddress(bytes: [10, 1, high, low])!
            sas.append(SecurityAssociation(source: source, destination: destination, spi: UInt32(0x1000 + i)))
        }
        var m = XfrmMirror(sas: sas)
        for i in stride(from: 0, to: 100_000, by: 997) {
            #expect(m.sa(destination: sas[i].destination, spi: sas[i].spi, proto: IPsecProtocol.esp) == sas[i])
        }
        #expect(m.sa(destination: sas[5].destination, spi: sas[5].spi, proto: IPsecProtocol.ah) == nil)
        m.sas.removeFirst()
        #expect(m.sa(destination: sas[0].destination, spi: sas[0].spi, proto: IPsecProtocol.esp) == nil)
        #expect(m.sa(destination: sas[1].destination, spi: sas[1].spi, proto: IPsecProtocol.esp) == sas[1])
    }
}
