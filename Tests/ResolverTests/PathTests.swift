import DecisionEngine
import Foundation
import IPsecModel
import Resolver
import Scenario
import SecurityContexts
import Testing
import TestSupport

/// Outbound and inbound paths: ACQUIRE suppression (edge 18), the inbound policy check (edge 21),
/// connection contexts on replies (edge 23), on the embedded policy and echo scenario. Edge numbers are
/// those of Specs/kernel/labeled-ipsec.md §g.
struct PathTests {
    static let client = EdgeCaseTests.client, other = EdgeCaseTests.other
    static let server = try! SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
    static let a = EdgeCaseTests.a, b = EdgeCaseTests.b

    /// Edge 18: a larval SA for the template's endpoints blocks a new ACQUIRE whatever the flow's
    /// label; installing an SA for them, a flush or its expiry ends it.
    @Test func edge18AcquireInProgressIgnoresLabels() throws {
        var r = try EdgeCaseTests.resolver(XfrmMirror(policies: [EdgeCaseTests.policy(EdgeCaseTests.spd)]))
        guard case .acquire(_, let label) = r.outbound(EdgeCaseTests.flow).outcome else { Issue.record("no ACQUIRE"); return }
        #expect(label == Self.client)
        _ = r.mirror.apply(
            .acquire(
                source: Self.a, destination: Self.b, proto: .esp, sequence: 7, selector: nil,
                policy: EdgeCaseTests.policy(EdgeCaseTests.spd), label: .selinux(Self.client)), now: 100)
        var otherFlow = EdgeCaseTests.flow
        otherFlow.context = Self.other
        guard case .acquireInProgress(_, let pending) = r.outbound(otherFlow).outcome else { Issue.record("a second ACQUIRE"); return }
        #expect(pending.sequence == 7 && pending.label == Self.client)
        // Expiry (30 s by default) ends it.
        r.mirror.expireAcquires(now: 129)
        #expect(r.mirror.acquires.count == 1)
        r.mirror.expireAcquires(now: 130)
        guard case .acquire(_, let l2) = r.outbound(otherFlow).outcome else { Issue.record("no ACQUIRE after expiry"); return }
        #expect(l2 == Self.other)
        // An SA for the endpoints resolves it.
        _ = r.mirror.apply(.acquire(source: Self.a, destination: Self.b, proto: .esp, sequence: 8, selector: nil, policy: nil, label: nil))
        _ = r.mirror.apply(.sa(.newSA, EdgeCaseTests.sa(0x100, Self.client)))
        #expect(r.mirror.acquires.isEmpty)
        // A dump shows a larval SA as an SA with SPI 0: it is never used, and it blocks ACQUIREs too.
        r.mirror.removeSAs { _ in true }
        r.mirror.insert(EdgeCaseTests.sa(0, Self.client))
        guard case .acquireInProgress = r.outbound(EdgeCaseTests.flow).outcome else { Issue.record("a larval SA was used or ignored"); return }
        // No key manager: no larval SA, no ACQUIRE.
        r.mirror.removeSAs { _ in true }
        r.keyManagerListening = false
        guard case .noKeyManager = r.outbound(otherFlow).outcome else { Issue.record("an ACQUIRE without a key manager"); return }
    }

    static func inboundEntry(_ ctx: SecurityContext?, action: PolicyAction = .allow, templates: [PolicyTemplate]? = nil) -> PolicyEntry {
        PolicyEntry(
            selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b)), direction: .in,
            action: action, templates: templates ?? [PolicyTemplate(source: a, destination: b)], securityContext: ctx)
    }

    static let packet = Flow(context: nil, source: a, destination: b, upperProtocol: 6, destinationPort: 7)

    /// Edge 21: the inbound polmatch subject is the SA's label (unlabeled for plain traffic); a
    /// denial hides the entry; with no entry, transport traffic is accepted.
    @Test func edge21InboundPolicyCheck() throws {
        let labeledSA = EdgeCaseTests.sa(0x100, Self.client)
        let r = try EdgeCaseTests.resolver(XfrmMirror(policies: [Self.inboundEntry(EdgeCaseTests.spd)]))
        let ok = r.inboundPolicy(Self.packet, secPath: [labeledSA])
        #expect(ok.accepted && ok.checks.first?.what.contains("polmatch system_u:system_r:echoclient_t:s0") == true)
        // Plain traffic: subject unlabeled_t, which may not polmatch ipsec_spd_t: no entry applies → accepted.
        let plain = r.inboundPolicy(Self.packet, secPath: [])
        #expect(plain.accepted && plain.entry == nil)
        #expect(plain.checks.first?.passed == false && plain.checks.first?.what.contains("unlabeled_t") == true)
        #expect(!r.inboundPolicy(Self.packet, secPath: [], inboundDefaultBlock: true).accepted)
        // An unlabeled entry with a template: plain traffic is dropped (XFRMINTMPLMISMATCH).
        let strict = try EdgeCaseTests.resolver(XfrmMirror(policies: [Self.inboundEntry(nil)]))
        let dropped = strict.inboundPolicy(Self.packet, secPath: [])
        #expect(!dropped.accepted && dropped.checks.last?.reason.contains("XFRMINTMPLMISMATCH") == true)
        // Labels are never compared by template matching: any label's SA satisfies the template.
        #expect(strict.inboundPolicy(Self.packet, secPath: [EdgeCaseTests.sa(0x101, Self.other)]).accepted)
        // An optional template is satisfied by nothing; a block entry drops.
        var optional = PolicyTemplate(source: Self.a, destination: Self.b)
        optional.optional = true
        #expect(
            try EdgeCaseTests.resolver(XfrmMirror(policies: [Self.inboundEntry(nil, templates: [optional])])).inboundPolicy(Self.packet, secPath: []).accepted)
        #expect(!(try EdgeCaseTests.resolver(XfrmMirror(policies: [Self.inboundEntry(nil, action: .block)])).inboundPolicy(Self.packet, secPath: []).accepted))
        // A tunnel SA without a policy is dropped.
        var tunnel = EdgeCaseTests.sa(0x103, nil)
        tunnel.mode = .tunnel
        #expect(!(try EdgeCaseTests.resolver(XfrmMirror()).inboundPolicy(Self.packet, secPath: [tunnel]).accepted))
        // Nested SAs with different labels: dropped before the lookup (edge 20).
        #expect(!r.inboundPolicy(Self.packet, secPath: [EdgeCaseTests.sa(0x104, Self.other), labeledSA]).accepted)
    }

    static func echo(replyContext: Bool) throws -> (Resolver, Resolver) {
        var text = try String(contentsOf: repositoryRoot.appendingPathComponent("Specs/scenarios/echo.yaml"), encoding: .utf8)
        if !replyContext { text = text.split(separator: "\n").filter { !$0.contains("reply_context") }.joined(separator: "\n") }
        let s = try Scenario(yaml: text, file: "echo.yaml")
        let auth = AssociationAuthorizer(cache: AccessVectorCache(server: try s.securityServer()))
        return (Resolver(mirror: try s.mirror(host: "client"), authorizer: auth), Resolver(mirror: try s.mirror(host: "server"), authorizer: auth))
    }

    /// Edge 23: the TCP reply is classified with the server's connection context, so it needs an SA
    /// labeled with that; an SA pair carrying only the client's label makes the reply ACQUIRE.
    @Test func edge23RepliesNeedAnSAWithTheConnectionContext() throws {
        let flow = Flow(
            context: Self.client, source: IPAddress("10.77.0.1")!, destination: IPAddress("10.77.0.2")!, upperProtocol: 6, sourcePort: 40000, destinationPort: 7
        )
        let (c, s) = try Self.echo(replyContext: true)
        let t = PathTrace.trace(flow, sender: c, receiver: s, socket: Self.server)
        #expect(t.delivered && t.peerSeen == Self.client)
        #expect(t.reply.first?.delivered == true && t.reply.first?.peerSeen == Self.server && t.roundTrip)
        let (c2, s2) = try Self.echo(replyContext: false)
        let t2 = PathTrace.trace(flow, sender: c2, receiver: s2, socket: Self.server)
        #expect(t2.delivered && !t2.roundTrip)
        guard case .acquire(_, let label)? = t2.reply.first?.outbound else { Issue.record("the reply did not ACQUIRE"); return }
        #expect(label == Self.server)
    }

    /// Plain traffic to the echo server: unlabeled_t may not polmatch its labeled inbound entry, so
    /// the entry does not apply and the inbound policy check accepts the packet (edge 21); the
    /// peer checks then refuse unlabeled_t (`peer recv`, echo_allow_unlabeled off).
    @Test func plainTrafficToTheEchoServerIsRefusedByThePeerChecks() throws {
        let (c, s) = try Self.echo(replyContext: true)
        var emptied = c
        emptied.mirror = XfrmMirror()
        let flow = Flow(context: Self.client, source: IPAddress("10.77.0.1")!, destination: IPAddress("10.77.0.2")!, upperProtocol: 6, destinationPort: 7)
        let t = PathTrace.trace(flow, sender: emptied, receiver: s, socket: Self.server)
        #expect(t.outbound == .bypass && !t.delivered)
        #expect(t.legs.map(\.stage) == [.outbound, .inboundPolicy, .delivery])
        #expect(t.legs[1].passed && !t.legs[2].passed)
        #expect(t.legs[2].checks.last?.record?.description.contains("denied  { recv }") == true)
    }
}
