import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// Delivery to a receiving socket under the embedded policy (it sets network_peer_controls, so the
/// checks are netif ingress + node recvfrom with the peer as subject, then peer recv). Expected
/// facts from Specs/engine/default-policy-decisions.tsv (libsepol): the server may `peer recv` the
/// client, not echo_other_t, and not unlabeled_t unless echo_allow_unlabeled is on.
struct DeliveryTests {
    static let server = try! SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
    static let client = EdgeCaseTests.client, other = EdgeCaseTests.other

    static func resolver(booleans: [String: Bool] = [:]) throws -> Resolver {
        Resolver(
            mirror: XfrmMirror(sas: [EdgeCaseTests.sa(0x100, client), EdgeCaseTests.sa(0x101, other), EdgeCaseTests.sa(0x102, nil)]),
            authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded(booleans: booleans))))
    }

    @Test func theServerSeesTheClientsLabel() throws {
        let r = try Self.resolver()
        let d = r.deliver(r.inbound(destination: EdgeCaseTests.b, spi: 0x100, proto: .esp), to: Self.server, interface: "eth0", source: EdgeCaseTests.a)
        #expect(d.delivered && d.peer == Self.client)
        #expect(d.checks.map(\.what).contains { $0.hasPrefix("netif { ingress }") })
        #expect(d.checks.map(\.what).contains { $0.hasPrefix("node { recvfrom }") })
        #expect(d.checks.last?.what.hasPrefix("peer { recv }") == true)
    }

    @Test func aPeerThePolicyDoesNotGrantIsDroppedWithTheAVCRecord() throws {
        let r = try Self.resolver()
        let d = r.deliver(r.inbound(destination: EdgeCaseTests.b, spi: 0x101, proto: .esp), to: Self.server, source: EdgeCaseTests.a)
        #expect(!d.delivered && d.peer == nil)
        let failed = try #require(d.checks.first { !$0.passed })
        #expect(failed.record?.description.contains("denied  { recv }") == true)
        #expect(failed.record?.description.contains("tcontext=\(Self.other) tclass=peer") == true)
    }

    @Test func unlabeledTrafficFollowsTheBoolean() throws {
        let off = try Self.resolver()
        #expect(!off.deliver(off.inbound(destination: EdgeCaseTests.b, spi: 0x102, proto: .esp), to: Self.server).delivered)
        let on = try Self.resolver(booleans: ["echo_allow_unlabeled": true])
        let d = on.deliver(on.inbound(destination: EdgeCaseTests.b, spi: 0x102, proto: .esp), to: Self.server)
        #expect(d.delivered && d.peer?.type == "unlabeled_t")
    }

    @Test func aDroppedPacketIsNotDelivered() throws {
        let r = try Self.resolver()
        let inbound = r.inbound(secPath: [EdgeCaseTests.sa(1, Self.client), EdgeCaseTests.sa(2, Self.other)])
        #expect(!r.deliver(inbound, to: Self.server).delivered)
    }
}
