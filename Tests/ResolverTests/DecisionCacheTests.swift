import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// The resolver's one decision cache (Specs/resolver/semantics.md, "The decision cache"): it holds
/// only quiet allowing answers, a policy change reaches the next packet, and any change of the
/// resolver's state empties it.
struct DecisionCacheTests {
    static let packet = Flow(context: nil, source: EdgeCaseTests.a, destination: EdgeCaseTests.b, upperProtocol: 17, sourcePort: 40000, destinationPort: 7)

    /// Whether the cache answers `packet` on `sa` for a socket.
    static func cached(_ r: inout Resolver, _ sa: SecurityAssociation, _ socket: SID) -> Bool {
        r.admitsFromCache(
            source: packet.source, destination: packet.destination, sourcePort: packet.sourcePort,
            destinationPort: packet.destinationPort, through: SADKey(sa), socket: socket)
    }

    @Test func aBooleanChangeReachesTheNextPacketAndDenialsAreNeverCached() throws {
        let server = try SecurityServer.embedded(booleans: ["echo_allow_unlabeled": true])
        // A labeled SA turns the peer checks on (edge 26 of Specs/kernel/labeled-ipsec.md).
        let unlabeled = EdgeCaseTests.sa(0x100, nil)
        var r = Resolver(
            mirror: XfrmMirror(sas: [unlabeled, EdgeCaseTests.sa(0x101, EdgeCaseTests.client)]),
            authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
        let socket = try r.sid(for: DeliveryTests.server)
        #expect(!Self.cached(&r, unlabeled, socket))
        let first = r.admit(Self.packet, secPath: [unlabeled], socket: DeliveryTests.server, sid: socket)
        #expect(first.outcome == .delivered && !first.checks.isEmpty && first.checks.allSatisfy { $0.record == nil })
        #expect(Self.cached(&r, unlabeled, socket))
        // Another socket is not answered by the first one's entry.
        #expect(!Self.cached(&r, unlabeled, try r.sid(for: EdgeCaseTests.other)))

        let before = r.policyGeneration
        try server.setBooleans(["echo_allow_unlabeled": false])
        #expect(r.policyGeneration != before)
        #expect(!Self.cached(&r, unlabeled, socket))
        for _ in 0..<2 {
            let denied = r.admit(Self.packet, secPath: [unlabeled], socket: DeliveryTests.server, sid: socket)
            #expect(denied.outcome == .denied && denied.checks.contains { $0.record != nil })
            #expect(!Self.cached(&r, unlabeled, socket))
        }
    }

    @Test func installingOrRemovingAnSAEmptiesIt() throws {
        let server = try SecurityServer.embedded(booleans: ["echo_allow_unlabeled": true])
        let unlabeled = EdgeCaseTests.sa(0x100, nil)
        var r = Resolver(mirror: XfrmMirror(sas: [unlabeled]), authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
        let socket = try r.sid(for: DeliveryTests.server)
        func deliver() { #expect(r.admit(Self.packet, secPath: [unlabeled], socket: DeliveryTests.server, sid: socket).outcome == .delivered) }
        deliver()
        #expect(Self.cached(&r, unlabeled, socket))
        r.install(EdgeCaseTests.sa(0x101, EdgeCaseTests.client))
        #expect(!Self.cached(&r, unlabeled, socket))
        deliver()
        let removed = r.remove(EdgeCaseTests.sa(0x101, EdgeCaseTests.client))
        #expect(removed)
        #expect(!Self.cached(&r, unlabeled, socket) && r.decisions.entryCount == 0)
        deliver()
        r.recordAcquire(PendingAcquire(source: EdgeCaseTests.a, destination: EdgeCaseTests.b, proto: .esp, seenAt: 0))
        #expect(!Self.cached(&r, unlabeled, socket))
        // Expiring nothing keeps it; expiring a larval SA empties it.
        deliver()
        r.expireAcquires(now: 1)
        #expect(Self.cached(&r, unlabeled, socket))
        r.expireAcquires(now: 60)
        #expect(!Self.cached(&r, unlabeled, socket) && r.mirror.acquires.isEmpty)
    }
}
