import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// NetLabel's part of an arriving packet's peer label (Specs/kernel/labeled-ipsec.md §b.3, edge 22):
/// the tables `netlabelctl` leaves (`NetLabelState`) and their reconciliation with the SA label on
/// the inbound path (`Resolver.withNetLabel`). Expected values are the kernel's: the source
/// (`netlbl_enabled`, `netlbl_unlabel_getattr`, `security_netlbl_secattr_to_sid`,
/// `security_net_peersid_resolve`, `selinux_skb_peerlbl_sid`) and the answers of Debian's 6.1 and
/// 6.12 kernels to Specs/scenarios/netlabel-*.yaml.
struct NetLabelStateTests {
    static func ctx(_ s: String) -> SecurityContext { try! SecurityContext(parsing: s) }
    static let a = EdgeCaseTests.a, b = EdgeCaseTests.b, c = IPAddress("10.0.0.3")!
    static let netmsg = ctx("system_u:object_r:netlabel_peer_t:s3:c0.c15")
    static let fallback = ctx("system_u:object_r:unlabeled_t:s0")

    /// CIPSO on the wire for 10.0.0.0/24, nothing for the rest (netlabel-cipso.yaml's mappings).
    static var cipso: NetLabelState {
        var s = NetLabelState()
        s.cipsoPassDOIs = [16]
        s.defaultMapping = nil
        s.addressMappings = [.init(IPPrefix("10.0.0.0/24")!, .cipso(doi: 16)), .init(IPPrefix("0.0.0.0/0")!, .unlabeled)]
        return s
    }

    /// A static label for 10.0.0.1 only (netlabel-fallback.yaml's).
    static var fallbackOnly: NetLabelState {
        var s = NetLabelState()
        s.staticLabels = [.init(IPPrefix("10.0.0.1/32")!, fallback)]
        return s
    }

    /// `netlbl_enabled`: a labeling protocol in a mapping or a static label counts; the boot's
    /// tables and the accept flag alone do not (`netlbl_unlabel_acceptflg_set` leaves the count).
    @Test func configuredMeansAProtocolMappingOrAStaticLabel() {
        var s = NetLabelState()
        #expect(!s.enabled)
        s.acceptUnlabeled = false
        #expect(!s.enabled)
        #expect(Self.cipso.enabled && Self.fallbackOnly.enabled)
        s.cipsoPassDOIs = [16]
        #expect(!s.enabled)
    }

    /// The most specific address selector decides; an unlabeled one or an unknown DOI puts no option on.
    @Test func theMostSpecificMappingChoosesCIPSO() {
        #expect(Self.cipso.optionDOI(to: Self.b) == 16)
        #expect(Self.cipso.optionDOI(to: IPAddress("10.0.1.2")!) == nil)
        var s = Self.cipso
        s.addressMappings.append(.init(IPPrefix("10.0.0.2/32")!, .unlabeled))
        #expect(s.optionDOI(to: Self.b) == nil && s.optionDOI(to: Self.c) == 16)
        s.cipsoPassDOIs = []
        #expect(s.optionDOI(to: Self.c) == nil)
    }

    /// `security_netlbl_secattr_to_sid`: a CIPSO label is the netmsg SID's user:role:type with the
    /// sender's low level as its whole range; a static label is taken as is; no label with accept
    /// on is none, with accept off a refusal (`netlbl_unlabel_getattr` -ENOMSG).
    @Test func whatNetLabelSaysOfAnArrivingPacket() throws {
        let level = LevelSyntax(sensitivity: "s1", categories: [.single("c1")])
        let label = try Self.cipso.arriving(from: Self.a, cipsoLevel: level, netmsg: Self.netmsg).get()
        #expect(label == .cipso(Self.ctx("system_u:object_r:netlabel_peer_t:s1:c1")))
        #expect(try Self.fallbackOnly.arriving(from: Self.a, cipsoLevel: nil, netmsg: Self.netmsg).get() == .fallback(Self.fallback))
        #expect(try Self.fallbackOnly.arriving(from: Self.c, cipsoLevel: nil, netmsg: Self.netmsg).get() == NetLabel.none)
        var off = Self.fallbackOnly
        off.acceptUnlabeled = false
        #expect(try off.arriving(from: Self.a, cipsoLevel: nil, netmsg: Self.netmsg).get() == .fallback(Self.fallback))
        #expect(throws: NetLabelRefusal.self) { try off.arriving(from: Self.c, cipsoLevel: nil, netmsg: Self.netmsg).get() }
        // CALIPSO (IPv6): a level with categories is a CALIPSO label; one without is reported by
        // `calipso_opt_getattr` as not found and ends as a fallback label (netlabel-calipso steps 3, 4).
        var v6 = NetLabelState()
        v6.calipsoPassDOIs = [16]
        v6.defaultMapping = .calipso(doi: 16)
        let six = IPAddress("fd00:77::1")!
        #expect(v6.enabled && v6.optionDOI(to: six) == 16 && v6.optionDOI(to: Self.a) == nil && Self.cipso.optionDOI(to: six) == nil)
        #expect(try v6.arriving(from: six, cipsoLevel: level, netmsg: Self.netmsg).get() == .calipso(Self.ctx("system_u:object_r:netlabel_peer_t:s1:c1")))
        #expect(
            try v6.arriving(from: six, cipsoLevel: LevelSyntax(sensitivity: "s2"), netmsg: Self.netmsg).get()
                == .fallback(Self.ctx("system_u:object_r:netlabel_peer_t:s2")))
        // NetLabel not configured: never asked (`selinux_netlbl_skbuff_getsid` returns type NONE).
        #expect(try NetLabelState().arriving(from: Self.c, cipsoLevel: level, netmsg: Self.netmsg).get() == NetLabel.none)
    }

    /// The inbound path (§b.3): each row of `security_net_peersid_resolve`'s table, with the label
    /// the receiving socket reads, as netlabel-cipso.yaml, netlabel-fallback.yaml and
    /// netlabel-accept-off.yaml measured them.
    @Test func edge22TheInboundPathReconcilesBothLabels() throws {
        let s1 = Self.ctx("system_u:system_r:echoclient_t:s1:c1"), s2 = Self.ctx("system_u:system_r:echoclient_t:s2")
        var r = try EdgeCaseTests.resolver(XfrmMirror())
        r.netLabel = Self.cipso
        func arrive(_ sa: SecurityContext?, from sender: SecurityContext, proto: UInt8 = 6, source: IPAddress = Self.a) -> (InboundResolution, SecurityContext?)
        {
            let path = sa.map { [SecurityAssociation(source: source, destination: Self.b, spi: 0x100, securityContext: $0)] } ?? []
            let flow = Flow(context: sender, source: source, destination: Self.b, upperProtocol: proto)
            return r.withNetLabel(r.inbound(secPath: path), flow: flow, sender: r)
        }
        // CIPSO alone: the CIPSO label (netlabel-cipso step 1).
        let alone = arrive(nil, from: s1)
        #expect(alone.1 == Self.ctx("system_u:object_r:netlabel_peer_t:s1:c1") && alone.0.peer == alone.1 && !alone.0.dropped)
        // CIPSO and an SA label with the same range: the SA label (step 3).
        let same = arrive(s1, from: s1)
        #expect(same.1 == s1 && !same.0.dropped)
        // Different ranges: refused, no record (step 4).
        let differ = arrive(Self.ctx("system_u:system_r:echoclient_t:s1"), from: s2)
        #expect(differ.0.dropped && differ.1 == nil && differ.0.checks.allSatisfy { $0.record == nil })
        // A fallback label yields to the SA label; alone it is the peer (netlabel-fallback steps 1, 2).
        r.netLabel = Self.fallbackOnly
        let client = Self.ctx("system_u:system_r:echoclient_t:s0")
        #expect(arrive(client, from: client, proto: 17).1 == client)
        #expect(arrive(nil, from: client, proto: 17).1 == Self.fallback)
        // No label anywhere: none, judged as unlabeled (step 3).
        let none = arrive(nil, from: client, proto: 17, source: Self.c)
        #expect(none.1 == nil && none.0.peer == r.unlabeled && !none.0.dropped)
        // Accept off: a host with no static label is refused, an SA label or not (netlabel-accept-off).
        r.netLabel.acceptUnlabeled = false
        #expect(arrive(nil, from: client, proto: 17, source: Self.c).0.dropped)
        #expect(arrive(client, from: client, proto: 17, source: Self.c).0.dropped)
        #expect(!arrive(nil, from: client, proto: 17).0.dropped)
    }

    /// A datagram labeled per packet loses its ESP header to a second CIPSO option over a
    /// transport-mode SA; TCP, labeled at connect, does not (netlabel-cipso steps 2 and 3).
    @Test func perPacketCIPSOBreaksTransportModeESP() throws {
        var r = try EdgeCaseTests.resolver(XfrmMirror())
        r.netLabel = Self.cipso
        let s1 = Self.ctx("system_u:system_r:echoclient_t:s1:c1")
        let sa = SecurityAssociation(source: Self.a, destination: Self.b, spi: 0x100, securityContext: s1)
        #expect(r.cipsoRewrittenUnderESP(Flow(context: s1, source: Self.a, destination: Self.b, upperProtocol: 17), bundle: [sa]))
        #expect(!r.cipsoRewrittenUnderESP(Flow(context: s1, source: Self.a, destination: Self.b, upperProtocol: 6), bundle: [sa]))
        #expect(!r.cipsoRewrittenUnderESP(Flow(context: s1, source: Self.a, destination: IPAddress("10.0.1.2")!, upperProtocol: 17), bundle: [sa]))
        r.netLabel = NetLabelState()
        #expect(!r.cipsoRewrittenUnderESP(Flow(context: s1, source: Self.a, destination: Self.b, upperProtocol: 17), bundle: [sa]))
    }
}
