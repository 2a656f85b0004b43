import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// Nested SAs (Specs/kernel/labeled-ipsec.md, edge 20; §b.1, §b.2, §c.2): an SPD entry with two
/// templates, ESP in transport mode then ESP in tunnel mode, on the embedded policy. What the kernel
/// does, read in `net/xfrm/xfrm_policy.c` (Kingxukai/linux @ 0291023e, §0):
/// - `xfrm_tmpl_resolve_one` resolves the templates in order, each with `xfrm_state_find(…, fl, tmpl,
///   …)` on the same flow (so the flow's SID: edge 14 for every template, and `sendto` in
///   `xfrm_state_look_at` for every SA), and stops at the first template without a valid SA
///   (`goto fail`): that template's ACQUIRE, the SAs found before it put back;
/// - after a tunnel template, the templates after it use its endpoints (`daddr = remote; saddr = local`);
/// - `xfrm_bundle_create` chains `xfrm[0]` first, so the first template is the first transform
///   applied: the innermost;
/// - `__xfrm_policy_check` matches the templates from the last (`i = xfrm_nr-1`) against the
///   `sec_path` from its first entry (`k = 0`), the outermost SA, since `sec_path` is filled in the
///   order of decapsulation.
struct NestedSATests {
    static let client = EdgeCaseTests.client, other = EdgeCaseTests.other, spd = EdgeCaseTests.spd
    static let a = EdgeCaseTests.a, b = EdgeCaseTests.b
    static let server = try! SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
    static let transport = PolicyTemplate(source: a, destination: b, mode: .transport)
    static let tunnel = PolicyTemplate(source: a, destination: b, mode: .tunnel)

    static func entry(_ direction: PolicyDirection, _ templates: [PolicyTemplate]) -> PolicyEntry {
        PolicyEntry(
            selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b)), direction: direction,
            index: direction == .out ? 1 : 8, templates: templates, securityContext: spd)
    }

    static func sa(_ spi: UInt32, _ mode: XfrmMode, _ ctx: SecurityContext?) -> SecurityAssociation {
        SecurityAssociation(source: a, destination: b, spi: spi, mode: mode, securityContext: ctx)
    }

    static let flow = EdgeCaseTests.flow

    /// Both templates are resolved with the flow's label: the bundle holds one SA per template, the
    /// first template's (transport, innermost) first, and `sendto` is checked on each SA.
    @Test func everyTemplateGetsAnSAWithTheFlowsLabel() throws {
        let r = try EdgeCaseTests.resolver(
            XfrmMirror(
                sas: [Self.sa(0x401, .tunnel, Self.client), Self.sa(0x400, .transport, Self.client)],
                policies: [Self.entry(.out, [Self.transport, Self.tunnel])]))
        let res = r.outbound(Self.flow)
        guard case .protected(_, let sa) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(sa.spi == 0x400)
        #expect(res.bundle.map(\.spi) == [0x400, 0x401])
        #expect(res.checks.filter { $0.what.hasPrefix("sendto on template") && $0.passed }.count == 2)
    }

    /// A template whose only SA carries another label (or none) has no usable SA: the kernel stops
    /// there and raises the ACQUIRE for that template, with the flow's label, even though the first
    /// template's SA is there.
    @Test func theSecondTemplatesMissingSARaisesItsAcquire() throws {
        for outer in [Self.other, nil] {
            let r = try EdgeCaseTests.resolver(
                XfrmMirror(
                    sas: [Self.sa(0x400, .transport, Self.client), Self.sa(0x401, .tunnel, outer)],
                    policies: [Self.entry(.out, [Self.transport, Self.tunnel])]))
            let res = r.outbound(Self.flow)
            guard case .acquire(_, let label) = res.outcome else { Issue.record("\(res.outcome)"); continue }
            #expect(label == Self.client && res.template == 1 && res.bundle.isEmpty)
        }
        // The first template's missing SA: the kernel never reaches the second.
        let r = try EdgeCaseTests.resolver(
            XfrmMirror(sas: [Self.sa(0x401, .tunnel, Self.client)], policies: [Self.entry(.out, [Self.transport, Self.tunnel])]))
        let res = r.outbound(Self.flow)
        guard case .acquire = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(res.template == 0 && !res.checks.contains { $0.what.hasPrefix("template 2") })
    }

    /// The inbound check walks the templates from the last against the path from the outermost SA:
    /// an entry listing transport then tunnel accepts the path [tunnel, transport]; the other order
    /// meets the tunnel SA with the transport template first and drops (XFRMINTMPLMISMATCH).
    @Test func inboundTemplatesMatchTheOutermostSAFromTheLast() throws {
        let path = [Self.sa(0x401, .tunnel, Self.client), Self.sa(0x400, .transport, Self.client)]
        let packet = PathTests.packet
        let right = try EdgeCaseTests.resolver(XfrmMirror(policies: [Self.entry(.in, [Self.transport, Self.tunnel])]))
        #expect(right.inboundPolicy(packet, secPath: path).accepted)
        let wrong = try EdgeCaseTests.resolver(XfrmMirror(policies: [Self.entry(.in, [Self.tunnel, Self.transport])]))
        let check = wrong.inboundPolicy(packet, secPath: path)
        #expect(!check.accepted && check.checks.last?.reason.contains("XFRMINTMPLMISMATCH") == true)
    }

    /// The path traced from the client to the server: the server looks up its own copies of the
    /// bundle's SAs, outermost first; their labels decide (edge 20), not the client's.
    @Test func theReceiversCopiesDecide() throws {
        let sender = try EdgeCaseTests.resolver(
            XfrmMirror(
                sas: [Self.sa(0x400, .transport, Self.client), Self.sa(0x401, .tunnel, Self.client)],
                policies: [Self.entry(.out, [Self.transport, Self.tunnel])]))
        func receiver(transport: SecurityContext?, tunnel: SecurityContext?) throws -> Resolver {
            var r = try EdgeCaseTests.resolver(
                XfrmMirror(
                    sas: [Self.sa(0x400, .transport, transport), Self.sa(0x401, .tunnel, tunnel)],
                    policies: [Self.entry(.in, [Self.transport, Self.tunnel])]))
            r.labeledXfrmElsewhere = true
            return r
        }
        let same = PathTrace.trace(
            Self.flow, sender: sender, receiver: try receiver(transport: Self.client, tunnel: Self.client), socket: Self.server, reply: false)
        #expect(same.delivered && same.peerSeen == Self.client)
        let differ = PathTrace.trace(
            Self.flow, sender: sender, receiver: try receiver(transport: Self.client, tunnel: Self.other), socket: Self.server, reply: false)
        #expect(!differ.delivered && differ.legs.last?.stage == .inboundPolicy)
        #expect(differ.legs.last?.checks.last?.reason.contains("XFRMINHDRERROR") == true)
        // One unlabeled copy: the other's label, inside or outside (the embedded policy refuses
        // echo_other_t as a peer, so the record names the label the server saw).
        for (inner, outer) in [(nil, Self.other), (Self.other, nil)] as [(SecurityContext?, SecurityContext?)] {
            let t = PathTrace.trace(Self.flow, sender: sender, receiver: try receiver(transport: inner, tunnel: outer), socket: Self.server, reply: false)
            #expect(!t.delivered && t.legs.last?.stage == .delivery)
            #expect(t.legs.last?.checks.last?.what == "peer { recv } \(Self.server) → \(Self.other)")
        }
        // A copy the server lacks: dropped (XFRMINNOSTATES).
        let missing = PathTrace.trace(
            Self.flow, sender: sender,
            receiver: try EdgeCaseTests.resolver(XfrmMirror(sas: [Self.sa(0x400, .transport, Self.client)])), socket: Self.server, reply: false)
        #expect(!missing.delivered && missing.legs.last?.checks.first?.reason.contains("XFRMINNOSTATES") == true)
    }
}
