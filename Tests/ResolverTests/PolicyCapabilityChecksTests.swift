import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// The checks the two policy capabilities choose (Specs/kernel/labeled-ipsec.md §a.2, edge 26), on
/// the embedded policy with `network_peer_controls` taken out or `always_check_network` put in.
/// The facts are the kernel's, measured on 6.1 and 6.12 by Specs/scenarios/compat-checks.yaml,
/// gateway-no-peer-controls.yaml and gateway-always-check.yaml (the kernel source for the cases no
/// step reaches: an ESP packet is not checked again by `selinux_xfrm_postroute_last`).
struct PolicyCapabilityChecksTests {
    static let client = EdgeCaseTests.client
    static let unlabeled = try! SecurityContext(parsing: "system_u:object_r:unlabeled_t:s0")

    /// The embedded policy with its `policycap` lines edited: `drop` taken out, `add` put in.
    static func resolver(drop: String? = nil, add: String? = nil, sas: [SecurityAssociation] = []) throws -> Resolver {
        var text = String(decoding: EmbeddedPolicy.bytes, as: UTF8.self)
        if let drop { text = text.replacingOccurrences(of: "\npolicycap \(drop);", with: "\n") }
        if let add { text = text.replacingOccurrences(of: "\npolicycap open_perms;", with: "\npolicycap open_perms;\npolicycap \(add);") }
        let server = try SecurityServer(policyText: text, file: "edited.conf")
        return Resolver(mirror: XfrmMirror(sas: sas), authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
    }

    @Test func withoutPeerControlsAClearPacketNeedsSendtoOnUnlabeled() throws {
        let r = try Self.resolver(drop: "network_peer_controls")
        #expect(r.egressChecks(Self.client, destination: EdgeCaseTests.b).isEmpty, "no netif/node check without the capability")
        let checks = r.postrouteCompatChecks(Self.client, bundle: [], upperProtocol: 17)
        #expect(checks.count == 1 && !checks[0].passed)
        let record = try #require(checks[0].record?.description)
        #expect(record.contains("denied  { sendto }") && record.contains("tcontext=\(Self.unlabeled) tclass=association"))
    }

    @Test func anUnlabeledSAIsNoExceptionALabeledOneIs() throws {
        let r = try Self.resolver(drop: "network_peer_controls")
        let plain = r.postrouteCompatChecks(Self.client, bundle: [EdgeCaseTests.sa(0x102, nil)], upperProtocol: 17)
        #expect(plain.count == 1 && !plain[0].passed && plain[0].record != nil)
        let labeled = r.postrouteCompatChecks(Self.client, bundle: [EdgeCaseTests.sa(0x102, nil), EdgeCaseTests.sa(0x100, Self.client)], upperProtocol: 17)
        #expect(labeled.count == 1 && labeled[0].passed && labeled[0].record == nil)
        let esp = r.postrouteCompatChecks(Self.client, bundle: [], upperProtocol: 50)
        #expect(esp.count == 1 && esp[0].passed && esp[0].record == nil)
    }

    @Test func underPeerControlsThereIsNoD4() throws {
        let r = try Self.resolver()
        #expect(r.postrouteCompatChecks(Self.client, bundle: [], upperProtocol: 17).isEmpty)
        #expect(!r.secmarkEnabled)
    }

    @Test func withoutPeerControlsAGatewayChecksNothing() throws {
        let r = try Self.resolver(drop: "network_peer_controls", sas: [EdgeCaseTests.sa(0x100, Self.client)])
        #expect(r.peerLabelingEnabled)
        #expect(r.forwardChecks(Self.unlabeled, source: EdgeCaseTests.a).isEmpty)
        #expect(r.egressChecks(Self.unlabeled, destination: EdgeCaseTests.b, secmark: .forwardOut).isEmpty)
    }

    @Test func alwaysCheckNetworkTurnsOnThePeerAndTheSecmarkChecks() throws {
        let off = try Self.resolver()
        #expect(off.forwardChecks(Self.unlabeled, source: EdgeCaseTests.a).isEmpty, "no labeled object, no capability: nothing")
        let r = try Self.resolver(add: "always_check_network")
        #expect(r.peerLabelingEnabled && r.secmarkEnabled)
        let forward = r.forwardChecks(Self.unlabeled, source: EdgeCaseTests.a)
        let entered = forward.dropLast().allSatisfy { $0.passed }
        #expect(entered, "netif ingress and node recvfrom are granted to unlabeled_t")
        let last = try #require(forward.last)
        #expect(!last.passed && last.record?.description.contains("denied  { forward_in }") == true)
        #expect(last.record?.description.contains("tcontext=\(Self.unlabeled) tclass=packet") == true)
        // The client's own packet: packet send (granted to the echo domains) first, then the egress pair.
        let out = r.egressChecks(Self.client, destination: EdgeCaseTests.b)
        #expect(out.first?.what.hasPrefix("packet { send }") == true)
        let sent = out.allSatisfy { $0.passed }
        #expect(sent)
    }
}
