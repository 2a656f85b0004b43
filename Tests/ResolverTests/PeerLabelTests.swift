import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// Peer labels: NetLabel reconciliation, connection contexts, what userspace reads, and when the
/// peer checks run. Expected values are the kernel's, as Specs/kernel/labeled-ipsec.md §b.3, §b.4 and
/// §a.2 give them (security_net_peersid_resolve, selinux_conn_sid, selinux_socket_getpeersec_stream,
/// ip_cmsg_recv_security, selinux_peerlbl_enabled); "Edge N" below is that document's edge N.
struct PeerLabelTests {
    static func ctx(_ s: String) -> SecurityContext { try! SecurityContext(parsing: s) }
    static let client = EdgeCaseTests.client
    static let server = ctx("system_u:system_r:echoserver_t:s0")
    static let resolver = try! EdgeCaseTests.resolver(XfrmMirror())

    /// Edge 22, row 1: no SA label → the NetLabel label, or none.
    @Test func edge22WithoutAnSALabelTheNetLabelLabelStands() {
        #expect(Self.resolver.peerLabel(xfrm: nil, netlabel: .none).outcome == .peer(nil))
        let cipso = Self.ctx("system_u:object_r:netlabel_peer_t:s1")
        #expect(Self.resolver.peerLabel(xfrm: nil, netlabel: .cipso(cipso)).outcome == .peer(cipso))
    }

    /// Edge 22, row 2: a fallback (static) label always yields to the SA label.
    @Test func edge22AFallbackLabelYieldsToTheSALabel() {
        let fallback = Self.ctx("system_u:object_r:unlabeled_t:s2")
        #expect(Self.resolver.peerLabel(xfrm: Self.client, netlabel: .fallback(fallback)).outcome == .peer(Self.client))
        #expect(Self.resolver.peerLabel(xfrm: Self.client, netlabel: .none).outcome == .peer(Self.client))
    }

    /// Edge 22, row 3 with MLS: equal ranges give the SA label, different ones EACCES (the kernel
    /// compares ranges by meaning: c0.c1 equals c0,c1).
    @Test func edge22CIPSOAndAnSALabelMustAgreeOnMLS() {
        let sa = Self.ctx("system_u:system_r:echoclient_t:s1:c0.c1")
        let same = Self.ctx("system_u:object_r:netlabel_peer_t:s1:c0,c1")
        #expect(Self.resolver.peerLabel(xfrm: sa, netlabel: .cipso(same)).outcome == .peer(sa))
        #expect(Self.resolver.peerLabel(xfrm: sa, netlabel: .calipso(same)).outcome == .peer(sa))
        let other = Self.ctx("system_u:object_r:netlabel_peer_t:s2")
        #expect(Self.resolver.peerLabel(xfrm: sa, netlabel: .cipso(other)).outcome == .refused(errno: "EACCES"))
        let unknown = Self.ctx("system_u:object_r:netlabel_peer_t:s9")
        #expect(Self.resolver.peerLabel(xfrm: sa, netlabel: .cipso(unknown)).outcome == .refused(errno: "EINVAL"))
    }

    /// Edge 22, row 3 without MLS: both labels present, nothing to compare → SID 0, no error.
    @Test func edge22WithoutMLSBothLabelsGiveNoPeerLabel() throws {
        let policy = """
            class association
            class peer
            sid kernel
            sid unlabeled
            class association { sendto recvfrom setcontext polmatch }
            class peer { recv }
            type t;
            role r;
            role r types t;
            user u roles r;
            allow t self:association sendto;
            sid kernel u:r:t
            sid unlabeled u:r:t
            """
        let server = try SecurityServer(policyText: policy, file: "nomls.conf")
        let r = Resolver(mirror: XfrmMirror(), authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
        #expect(r.peerLabel(xfrm: Self.ctx("u:r:t"), netlabel: .cipso(Self.ctx("u:r:t"))).outcome == .peer(nil))
        // And the connection context is the socket's own.
        #expect(r.connectionContext(socket: Self.ctx("u:r:t"), peer: Self.ctx("u:r:t")) == Self.ctx("u:r:t"))
    }

    /// Edge 23: an accepted socket's context is its user:role:type with the peer's MLS range; the
    /// socket's own without a peer label.
    @Test func edge23ConnectionContext() {
        let listener = Self.ctx("system_u:system_r:echoserver_t:s0-s3:c0.c15")
        let peer = Self.ctx("system_u:system_r:echoclient_t:s1:c2")
        #expect(Self.resolver.connectionContext(socket: listener, peer: peer) == Self.ctx("system_u:system_r:echoserver_t:s1:c2"))
        #expect(Self.resolver.connectionContext(socket: listener, peer: nil) == listener)
    }

    /// Edge 24: SO_PEERSEC answers for stream classes only, counts the NUL, and reports ERANGE
    /// with the length needed.
    @Test func edge24GetPeerSec() throws {
        let text = Self.client.description
        let ok = try PeerSecurityOption.getPeerSec(socketClass: "tcp_socket", peer: Self.client).get()
        #expect(ok.context == text && ok.length == text.utf8.count + 1)
        #expect(throws: PeerSecurityError(errno: "ENOPROTOOPT", requiredLength: nil)) {
            try PeerSecurityOption.getPeerSec(socketClass: "udp_socket", peer: Self.client).get()
        }
        #expect(throws: PeerSecurityError(errno: "ENOPROTOOPT", requiredLength: nil)) {
            try PeerSecurityOption.getPeerSec(socketClass: "tcp_socket", peer: nil).get()
        }
        #expect(throws: PeerSecurityError(errno: "ERANGE", requiredLength: text.utf8.count + 1)) {
            try PeerSecurityOption.getPeerSec(socketClass: "unix_stream_socket", peer: Self.client, bufferLength: text.utf8.count).get()
        }
        #expect(throws: Never.self) {
            try PeerSecurityOption.getPeerSec(socketClass: "sctp_socket", peer: Self.client, bufferLength: text.utf8.count + 1).get()
        }
    }

    /// Edge 25: SCM_SECURITY on IPv4 with IP_PASSSEC, the context and its NUL; nothing otherwise.
    @Test func edge25SCMSecurity() {
        #expect(PeerSecurityOption.scmSecurity(ipv4: true, passSec: true, peer: Self.client) == Array("system_u:system_r:echoclient_t:s0".utf8) + [0])
        #expect(PeerSecurityOption.scmSecurity(ipv4: false, passSec: true, peer: Self.client) == nil)
        #expect(PeerSecurityOption.scmSecurity(ipv4: true, passSec: false, peer: Self.client) == nil)
        #expect(PeerSecurityOption.scmSecurity(ipv4: true, passSec: true, peer: nil) == nil)
    }

    /// Edge 26: with network_peer_controls, the peer checks run only once an xfrm context exists
    /// (or NetLabel is configured): plain traffic to a host with no labeled SA or SPD entry is not
    /// checked; one labeled SA anywhere switches the checks on, and unlabeled_t is then refused
    /// `peer recv` by the embedded policy (echo_allow_unlabeled off).
    @Test func edge26PeerChecksNeedAnXfrmContext() throws {
        var r = try EdgeCaseTests.resolver(XfrmMirror(sas: [EdgeCaseTests.sa(0x102, nil)]))
        let plain = r.inbound(secPath: [])
        #expect(!r.peerLabelingEnabled)
        #expect(r.deliver(plain, to: Self.server).delivered)
        r.labeledXfrmElsewhere = true
        #expect(!r.deliver(plain, to: Self.server).delivered)
        r.labeledXfrmElsewhere = false
        r.netLabelConfigured = true
        #expect(!r.deliver(plain, to: Self.server).delivered)
        r.netLabelConfigured = false
        r.mirror.insert(EdgeCaseTests.sa(0x100, Self.client))
        #expect(r.peerLabelingEnabled && !r.deliver(plain, to: Self.server).delivered)
    }

    /// Edges 28/29: an SA label the loaded policy does not know is evaluated as unlabeled.
    @Test func edge29AnSALabelThePolicyDoesNotKnowIsUnlabeled() throws {
        let ghost = Self.ctx("system_u:system_r:gone_t:s0")
        let r = try EdgeCaseTests.resolver(XfrmMirror(sas: [EdgeCaseTests.sa(0x100, ghost)]))
        let i = r.inbound(destination: EdgeCaseTests.b, spi: 0x100, proto: .esp)
        #expect(i.peer == r.unlabeled && i.labeledBySA)
        #expect(i.checks.last?.reason.contains("edge 29") == true)
    }
}
