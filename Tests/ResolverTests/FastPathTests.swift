import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// The inbound fast path gives the full resolver's verdict for every packet: every SA of a mirror
/// (labeled with each domain of the embedded policy, unlabeled, unknown to the policy) and a
/// missing one, × every receiving domain, × both modes, × with and without origin checks.
struct FastPathTests {
    static let domains = ["echoclient_t", "echoserver_t", "echo_other_t", "kernel_t", "ipsec_mgmt_t"].map {
        try! SecurityContext(parsing: "system_u:system_r:\($0):s0")
    }

    @Test(arguments: [true, false], [true, false])
    func theFastPathAgreesWithTheResolver(enforcing: Bool, withOrigin: Bool) throws {
        let ghost = try SecurityContext(parsing: "system_u:system_r:gone_t:s0")
        var sas = Self.domains.enumerated().map { EdgeCaseTests.sa(0x100 + UInt32($0.offset), $0.element) }
        sas.append(EdgeCaseTests.sa(0x1FE, nil))
        sas.append(EdgeCaseTests.sa(0x1FF, ghost))
        let server = try SecurityServer.embedded(enforcing: enforcing)
        let r = Resolver(mirror: XfrmMirror(sas: sas), authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
        var fast = InboundFastPath(r)
        let origin = withOrigin ? fast.origin(interface: "eth0", source: EdgeCaseTests.a) : InboundFastPath.Origin()
        var delivered = 0
        for spi in sas.map(\.spi) + [0x999] {
            for socket in Self.domains {
                let v = fast.verdict(SADKey(destination: EdgeCaseTests.b, spi: spi, proto: .esp), socket: try server.sid(for: socket), origin: origin)
                let full = fast.explain(
                    EdgeCaseTests.b, spi: spi, proto: .esp, socket: socket,
                    interface: withOrigin ? "eth0" : nil, source: withOrigin ? EdgeCaseTests.a : nil)
                #expect((v.outcome == .delivered) == full.delivered, "spi \(spi) socket \(socket)")
                #expect((v.outcome == .noSA) == (spi == 0x999))
                if v.outcome != .noSA {
                    let inbound = r.inbound(destination: EdgeCaseTests.b, spi: spi, proto: .esp)
                    #expect(server.context(of: v.peer) == inbound.peer && v.labeledBySA == inbound.labeledBySA)
                }
                if v.outcome == .delivered { delivered += 1 }
            }
        }
        // Not vacuous: some packets pass and some do not (every one in permissive mode).
        #expect(delivered > 0)
        #expect(enforcing ? delivered < (sas.count * Self.domains.count) : delivered == sas.count * Self.domains.count)
    }
}

/// The fast path's memo of grants follows the policy: a boolean change (a new AVC generation)
/// takes effect on the next packet.
struct FastPathMemoTests {
    @Test func aBooleanChangeReachesTheNextPacket() throws {
        let server = try SecurityServer.embedded(booleans: ["echo_allow_unlabeled": true])
        let r = Resolver(
            mirror: XfrmMirror(sas: [EdgeCaseTests.sa(0x100, nil), EdgeCaseTests.sa(0x101, EdgeCaseTests.client)]),
            authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
        var fast = InboundFastPath(r)
        let socket = try server.sid(for: DeliveryTests.server)
        let unlabeled = SADKey(destination: EdgeCaseTests.b, spi: 0x100, proto: .esp)
        for _ in 0..<3 { #expect(fast.verdict(unlabeled, socket: socket).outcome == .delivered) }
        let before = r.authorizer.cache.generation
        try server.setBooleans(["echo_allow_unlabeled": false])
        #expect(r.authorizer.cache.generation != before)
        for _ in 0..<3 { #expect(fast.verdict(unlabeled, socket: socket).outcome == .denied) }
        // Another socket is not served from the memo of the first.
        let other = try server.sid(for: EdgeCaseTests.other)
        let labeled = SADKey(destination: EdgeCaseTests.b, spi: 0x101, proto: .esp)
        #expect(fast.verdict(labeled, socket: socket).outcome == .delivered)
        #expect(fast.verdict(labeled, socket: other).outcome == .denied)
        #expect(fast.verdict(labeled, socket: socket).outcome == .delivered)
    }
}

/// The mirror's storage: holes left by removals, SAs sharing a SAD key (different marks), labels.
struct MirrorStorageTests {
    @Test func removalsLeaveTheRestFindableAndCompact() {
        var sas: [SecurityAssociation] = []
        for i in 0..<1000 { sas.append(SecurityAssociation(source: EdgeCaseTests.a, destination: EdgeCaseTests.b, spi: UInt32(0x1000 + i))) }
        var m = XfrmMirror(sas: sas)
        var removed = 0
        for i in stride(from: 0, to: 1000, by: 2) where m.remove(sas[i]) { removed += 1 }
        let again = m.remove(sas[0])
        #expect(removed == 500 && !again)
        #expect(m.saCount == 500 && m.sas == sas.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
        for (i, sa) in sas.enumerated() {
            #expect((m.sa(destination: sa.destination, spi: sa.spi, proto: .esp) != nil) == (i % 2 == 1))
        }
        m.removeSAs { $0.spi < 0x1100 }
        #expect(m.saCount == 500 - 128)
        m.insert(sas[0])
        #expect(m.sas.last == sas[0])
    }

    @Test func saThatDifferOnlyInMarkShareTheKeyAndLeaveOneByOne() {
        var marked = EdgeCaseTests.sa(0x100, EdgeCaseTests.client)
        marked.mark = XfrmMark(value: 1, mask: 0xFFFF_FFFF)
        let plain = EdgeCaseTests.sa(0x100, nil)
        var m = XfrmMirror(sas: [plain, marked])
        #expect(m.sas.count == 2)
        // The first SA with the key answers a lookup, as a scan of the SAD would.
        #expect(m.sa(destination: EdgeCaseTests.b, spi: 0x100, proto: .esp) == plain)
        #expect(m.labelID(of: SADKey(destination: EdgeCaseTests.b, spi: 0x100, proto: .esp)) == -1)
        m.remove(plain)
        #expect(m.sa(destination: EdgeCaseTests.b, spi: 0x100, proto: .esp) == marked)
        #expect(m.labels[Int(m.labelID(of: SADKey(destination: EdgeCaseTests.b, spi: 0x100, proto: .esp))!)] == EdgeCaseTests.client)
        var relabeled = marked
        relabeled.securityContext = EdgeCaseTests.other
        m.insert(relabeled)
        #expect(m.sas == [relabeled] && m.labels.count == 2)
    }
}
