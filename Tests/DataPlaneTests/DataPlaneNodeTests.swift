import DataPlaneNode
import DecisionEngine
import ESPDataPlane
import IPsecModel
import Resolver
import SecurityContexts
import Testing
import XfrmManager

/// The data plane's per-host pipeline, checked against the resolver's model of the kernel (the
/// model agrees with the kernel on every scenario step: scripts/conformance): for every sender
/// domain and port, the node delivers exactly when `PathTrace` says the kernel delivers, with the
/// label it says the socket sees.
@Suite struct DataPlaneNodeTests {
    static let client = try! SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
    static let server = try! SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
    static let other = try! SecurityContext(parsing: "system_u:system_r:echo_other_t:s0")
    static let otherUser = try! SecurityContext(parsing: "echo_u:system_r:echoclient_t:s0")
    static let a = IPAddress("10.77.0.1")!, b = IPAddress("10.77.0.2")!

    static func yaml(mode: String, v6: Bool = false) -> String {
        """
        hosts:
          client: { address: \(v6 ? "fd00:77::1" : "10.77.0.1") }
          server: { address: \(v6 ? "fd00:77::2" : "10.77.0.2") }
        associations:
          - { name: echo, between: [client, server], context: \(client), reply_context: \(server),
              policy_context: system_u:object_r:ipsec_spd_t:s0, mode: \(mode), selector: { proto: udp, port: 7 } }
          - { name: other, between: [client, server], context: \(other), reply_context: \(server),
              policy_context: system_u:object_r:ipsec_spd_t:s0, mode: \(mode), encryption: cbc(aes), authentication: hmac(sha256),
              selector: { proto: udp, port: 7 } }
        """
    }

    /// Two nodes of one apply file, with deterministic keys, sharing one AVC (two namespaces of one kernel).
    static func pair(mode: String = "transport", v6: Bool = false) throws -> (client: DataPlaneNode, server: DataPlaneNode) {
        try nodes(yaml: yaml(mode: mode, v6: v6))
    }

    /// The nodes of an apply file's hosts `client` and `server` (at their addresses), with
    /// deterministic keys, sharing one AVC.
    static func nodes(yaml: String, server: SecurityServer? = nil) throws -> (client: DataPlaneNode, server: DataPlaneNode) {
        let file = try ApplyFile(yaml: yaml)
        var counter: UInt8 = 0
        let keys = KeyFile.generate(for: file) { n in
            (0..<n).map { _ in
                counter &+= 1; return counter
            }
        }
        let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: try server ?? SecurityServer.embedded()))
        func node(_ host: String) throws -> DataPlaneNode {
            let d = try ApplyPlanner.desired(file, host: host, keys: keys)
            return try DataPlaneNode(address: file.hosts[host]!.address, sas: d.sas, policies: d.policies, authorizer: authorizer)
        }
        return (try node("client"), try node("server"))
    }

    /// Sends one datagram from `from` to `to` and carries it across: what the receiver did.
    static func carry(_ data: [UInt8], from sender: DataPlaneNode, port: UInt16, to receiver: DataPlaneNode, dport: UInt16) -> (OutboundResult, InboundResult?)
    {
        let out = sender.send(data, from: port, to: receiver.address, port: dport)
        switch out.outcome {
        case .esp(let packet, _): return (out, receiver.receiveESP(packet))
        case .clear(let segment, _): return (out, receiver.receiveClear(segment, from: sender.address))
        default: return (out, nil)
        }
    }

    @Test(arguments: ["transport", "tunnel"])
    func everySenderAndPortAsTheModelSays(mode: String) throws {
        let (c, s) = try Self.pair(mode: mode)
        try s.bind(port: 7, context: Self.server)
        try s.bind(port: 40007, context: Self.server)
        for (i, ctx) in [Self.client, Self.other, Self.otherUser].enumerated() {
            let port = UInt16(33000 + i)
            #expect(try c.bind(port: 0, context: ctx).port >= 32768)
            let sport = c.endpointPorts(for: ctx)
            _ = port
            for dport: UInt16 in [7, 40007] {
                let (out, inbound) = Self.carry(Array("x\(i)".utf8), from: c, port: sport, to: s, dport: dport)
                let flow = Flow(context: ctx, source: Self.a, destination: Self.b, upperProtocol: 17, sourcePort: sport, destinationPort: dport)
                let model = PathTrace.trace(flow, sender: c.resolver, receiver: s.resolver, socket: Self.server, reply: false)
                let delivered = inbound?.delivery != nil
                #expect(delivered == model.delivered, "\(ctx) → port \(dport) (\(mode)): node \(delivered), model \(model.delivered); \(out.outcome)")
                if let d = inbound?.delivery {
                    #expect(d.peer == model.peerSeen, "\(ctx) → port \(dport)")
                    #expect(d.data == Array("x\(i)".utf8) && d.sourcePort == sport && d.source == Self.a)
                }
                if case .acquire = model.outbound, case .acquire(let e) = out.outcome { #expect(e.label == ctx) }
            }
        }
    }

    @Test func theEchoRoundTripsWithBothLabels() throws {
        let (c, s) = try Self.pair()
        try s.bind(port: 7, context: Self.server)
        let sport = try c.bind(port: 0, context: Self.client).port
        let (_, request) = Self.carry(Array("ping".utf8), from: c, port: sport, to: s, dport: 7)
        let got = try #require(request?.delivery)
        #expect(got.peer == Self.client && got.sequence == 1)
        let (_, reply) = Self.carry(got.data, from: s, port: 7, to: c, dport: got.sourcePort)
        let back = try #require(reply?.delivery)
        #expect(back.peer == Self.server && back.data == Array("ping".utf8))
        // The second packet takes the fast path (no checks listed) and keeps the label.
        let (_, again) = Self.carry(Array("again".utf8), from: c, port: sport, to: s, dport: 7)
        #expect(again?.delivery?.peer == Self.client && again?.checks.isEmpty == true && again?.delivery?.sequence == 2)
    }

    /// IPv6 hosts: the pseudo-header of RFC 8200 §8.1 in transport mode, an inner IPv6 packet in
    /// tunnel mode (next header 41).
    @Test(arguments: ["transport", "tunnel"])
    func theEchoOverIPv6(mode: String) throws {
        let (c, s) = try Self.pair(mode: mode, v6: true)
        try s.bind(port: 7, context: Self.server)
        let sport = try c.bind(port: 0, context: Self.client).port
        let (out, request) = Self.carry(Array("ping6".utf8), from: c, port: sport, to: s, dport: 7)
        guard case .esp(_, let sa) = out.outcome else { Issue.record("not sealed: \(out.outcome)"); return }
        #expect(sa.mode.description == mode)
        let got = try #require(request?.delivery, "\(String(describing: request?.outcome))")
        #expect(got.peer == Self.client && got.source == IPAddress("fd00:77::1")! && got.data == Array("ping6".utf8))
        let (_, reply) = Self.carry(got.data, from: s, port: 7, to: c, dport: got.sourcePort)
        #expect(reply?.delivery?.peer == Self.server)
    }

    @Test func badPacketsAreDroppedAndCounted() throws {
        let (c, s) = try Self.pair()
        try s.bind(port: 7, context: Self.server)
        let sport = try c.bind(port: 0, context: Self.client).port
        guard case .esp(let packet, _) = c.send(Array("data".utf8), from: sport, to: Self.b, port: 7).outcome else {
            Issue.record("not sealed"); return
        }
        var tampered = packet
        tampered[tampered.count - 1] ^= 1
        #expect(s.receiveESP(tampered).outcome == .dropped(.esp(.authenticationFailed)))
        #expect(s.receiveESP(packet).delivery != nil)
        #expect(s.receiveESP(packet).outcome == .dropped(.esp(.replayed)))
        var unknown = packet
        unknown[0] ^= 0x80
        if case .dropped(.noSA) = s.receiveESP(unknown).outcome {} else { Issue.record("unknown SPI not dropped as no-sa") }
        #expect(s.receiveESP([0xFF]).outcome == .dropped(.notESP(.keepalive)))
        #expect(s.receiveESP([0, 0, 0, 0, 1, 2, 3, 4]).outcome == .dropped(.notESP(.nonESP)))
        #expect(s.receiveESP([1, 2, 3]).outcome == .dropped(.notESP(.truncated)))
        // Clear traffic to the protected port: unlabeled_t may not polmatch the labeled inbound entry,
        // which hides it (Specs/kernel/labeled-ipsec.md, edge 15, as the kernel's -ESRCH), so the packet
        // passes the policy check and is refused at delivery: the server may not receive unlabeled peers.
        let segment = UDPDatagram(source: Self.a, destination: Self.b, sourcePort: sport, destinationPort: 7, data: [1]).segment()
        let clear = s.receiveClear(segment, from: Self.a)
        #expect(clear.outcome == .dropped(.denied))
        #expect(clear.records.contains { $0.tclass == "peer" && $0.tcontext.type == "unlabeled_t" })
        // A segment with a wrong checksum.
        var bad = segment
        bad[bad.count - 1] ^= 0xFF
        if case .dropped(.inner(.badChecksum)) = s.receiveClear(bad, from: Self.a).outcome {} else { Issue.record("bad checksum accepted") }
        #expect(s.counters.dropped["esp-authentication-failed"] == 1 && s.counters.dropped["esp-replayed"] == 1)
        #expect(s.counters.delivered == 1)
    }

    @Test func acquireOnceThenWait() throws {
        let (c, _) = try Self.pair()
        let sport = try c.bind(port: 0, context: Self.otherUser).port
        guard case .acquire(let e) = c.send([1], from: sport, to: Self.b, port: 7).outcome else { Issue.record("no ACQUIRE"); return }
        #expect(e.label == Self.otherUser && e.destination == Self.b && e.proto == .esp)
        guard case .refused("EAGAIN", _) = c.send([1], from: sport, to: Self.b, port: 7).outcome else { Issue.record("second send not EAGAIN"); return }
        #expect(c.counters.acquires == 1)
    }

    /// A key manager answers the ACQUIRE: the SA it adds (setcontext checked for its domain) carries
    /// the next datagram; the client's own domain may not add one; deleting it brings the ACQUIRE back.
    @Test func aKeyManagerAnswersTheAcquire() throws {
        let (c, s) = try Self.pair()
        try s.bind(port: 7, context: Self.server)
        let sport = try c.bind(port: 0, context: Self.otherUser).port
        guard case .acquire(let e) = c.send([1], from: sport, to: Self.b, port: 7).outcome else { Issue.record("no ACQUIRE"); return }
        let key = KeyMaterial((0..<20).map { UInt8($0) })
        let sa = SecurityAssociation(
            source: e.source, destination: e.destination, spi: 0x9000, replayWindow: 32,
            algorithms: SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: key, truncationBits: 128)),
            securityContext: e.label)
        let manager = try SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")
        // The client's own domain may not label an SA (neverallow in the embedded policy).
        #expect {
            try c.addSA(sa, by: Self.client)
        } throws: { e in
            guard case DataPlaneError.denied(_, let records) = e else { return false }
            return records.contains { $0.tclass == "association" && $0.permissions == ["setcontext"] }
        }
        let checks = try c.addSA(sa, by: manager)
        #expect(checks.contains { $0.passed && $0.what.contains("setcontext") })
        #expect(throws: DataPlaneError.exists(sa.identifier)) { try c.addSA(sa, by: manager) }
        try s.addSA(sa, by: manager)
        let (out, inbound) = Self.carry([2], from: c, port: sport, to: s, dport: 7)
        guard case .esp(_, let used) = out.outcome else { Issue.record("not sealed after the SA was added: \(out.outcome)"); return }
        #expect(used.spi == 0x9000)
        #expect(inbound?.delivery?.peer == Self.otherUser)
        try c.deleteSA(sa.identifier, by: manager)
        guard case .acquire = c.send([3], from: sport, to: Self.b, port: 7).outcome else { Issue.record("no ACQUIRE after the delete"); return }
        #expect(throws: DataPlaneError.noSuchSA(sa.identifier)) { try c.deleteSA(sa.identifier, by: manager) }
    }

    /// An audited grant is never cached: every datagram writes its AVC record (unlabeled peers are
    /// received under `echo_allow_unlabeled`, audited); and a boolean change reaches the very next
    /// datagram: denied, with its record. (A quiet grant is cached: `theEchoRoundTripsWithBothLabels`.)
    @Test func auditedGrantsAreNeverCachedAndABooleanChangeReachesTheNextDatagram() throws {
        let policy = try SecurityServer.embedded(booleans: ["echo_allow_unlabeled": true])
        let (_, s) = try Self.nodes(yaml: Self.yaml(mode: "transport"), server: policy)
        try s.bind(port: 7, context: Self.server)
        let segment = UDPDatagram(source: Self.a, destination: Self.b, sourcePort: 40000, destinationPort: 7, data: [1]).segment()
        let first = s.receiveClear(segment, from: Self.a), second = s.receiveClear(segment, from: Self.a)
        #expect(first.delivery?.peer == nil && second.delivery != nil)
        #expect(!first.records.isEmpty && second.records == first.records)
        try policy.setBooleans(["echo_allow_unlabeled": false])
        let third = s.receiveClear(segment, from: Self.a)
        #expect(third.outcome == .dropped(.denied))
        #expect(third.records.contains { $0.tclass == "peer" && $0.tcontext.type == "unlabeled_t" })
    }

    @Test func bindChecksAndPorts() throws {
        let (c, s) = try Self.pair()
        #expect(throws: DataPlaneError.self) { try c.bind(port: 7, context: Self.client) }  // name_bind on echo_port_t: denied
        try s.bind(port: 7, context: Self.server)
        #expect(throws: DataPlaneError.portInUse(7)) { try s.bind(port: 7, context: Self.server) }
        let bad = SecurityContext(user: "system_u", role: "system_r", type: "no_such_t")
        #expect(throws: DataPlaneError.self) { try s.bind(port: 9000, context: bad) }
    }
}

extension DataPlaneNode {
    /// The port bound for a context (tests bind one port per context).
    func endpointPorts(for context: SecurityContext) -> UInt16 {
        (32768...60999).lazy.map(UInt16.init).first { self.endpoint(at: $0)?.context == context }!
    }
}

@Suite struct EndpointMessageTests {
    @Test func roundTrips() throws {
        let ctx = try SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
        let messages: [EndpointMessage] = [
            .bind(port: 7, context: ctx), .bind(port: 0, context: ctx), .send(destination: IPAddress("10.0.0.1")!, port: 7, data: [0, 10, 10, 255]),
            .monitor, .stats, .ok("BIND 7", details: []),
            .addSA(subject: ctx, arguments: "src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 aead \"rfc4106(gcm(aes))\" 0x00 128"),
            .deleteSA(subject: ctx, destination: IPAddress("10.0.0.2")!, spi: 0x100),
            .error(code: "EACCES", reason: "no", details: ["avc:  denied  { recv } for …"]),
            .receive(source: IPAddress("::1")!, sourcePort: 9, peer: ctx, spi: 0x100, sequence: 3, data: Array("\n\n".utf8)),
            .receive(source: IPAddress("10.0.0.2")!, sourcePort: 9, peer: nil, spi: nil, sequence: nil, data: []),
            .event("delivered", details: ["x"]),
        ]
        for m in messages { #expect(try EndpointMessage(parsing: m.encoded()) == m) }
    }

    @Test(arguments: [
        ("BIND 7\n\n", "line 1: expected BIND <port> <context>"),
        ("BIND 70000 system_u:system_r:t:s0\n\n", "line 1: 70000 is not a port (1–65535)"),
        ("SEND 10.0.0.300 7\n\n", "line 1: 10.0.0.300 is not an IPv4 or IPv6 address"),
        ("HELLO\n\n", "line 1: unknown verb HELLO (BIND, SEND, MONITOR, STATS, ADDSA, DELSA, OK, ERROR, RECV, EVENT)"),
        ("ADDSA system_u:system_r:t:s0\n\n", "ADDSA carries the `ip xfrm state add` arguments as UTF-8 text"),
        ("DELSA system_u:system_r:t:s0 10.0.0.1 256\n\n", "line 1: 256 is not an SPI (0x…)"),
        ("STATS\n", "no empty line ends the header"),
        ("STATS\u{1}\n\n", "control character 0x1 in the header"),
        ("MONITOR\n\nx", "MONITOR carries no detail lines or data"),
    ])
    func errorsSayWhat(_ text: String, _ message: String) {
        #expect(throws: EndpointMessage.ParseError(message: message)) { try EndpointMessage(parsing: Array(text.utf8)) }
    }
}

@Suite struct UDPDatagramTests {
    @Test func segmentsAndPacketsVerify() throws {
        for (s, d) in [("10.1.2.3", "10.9.8.7"), ("2001:db8::1", "2001:db8::2")] {
            let g = UDPDatagram(source: IPAddress(s)!, destination: IPAddress(d)!, sourcePort: 1234, destinationPort: 7, data: Array("odd".utf8))
            let seg = g.segment()
            #expect(seg.count == 11 && seg[4] == 0 && seg[5] == 11)
            #expect(try UDPDatagram(segment: seg, source: g.source, destination: g.destination) == g)
            // The checksum covers the pseudo-header: another destination fails it.
            #expect(throws: InnerPacketError.badChecksum("UDP")) { try UDPDatagram(segment: seg, source: g.source, destination: g.source) }
            #expect(try UDPDatagram(packet: g.packet(), nextHeader: g.tunnelNextHeader) == g)
        }
        let v4 = UDPDatagram(source: IPAddress("10.1.2.3")!, destination: IPAddress("10.9.8.7")!, sourcePort: 1, destinationPort: 2, data: [])
        var p = v4.packet()
        p[8] = 1  // TTL changed without fixing the header checksum
        #expect(throws: InnerPacketError.badChecksum("IPv4 header")) { try UDPDatagram(packet: p, nextHeader: 4) }
        #expect(throws: InnerPacketError.badVersion(4)) { try UDPDatagram(packet: v4.packet(), nextHeader: 41) }
        #expect(throws: InnerPacketError.truncated("UDP header")) { try UDPDatagram(segment: [1, 2, 3], source: v4.source, destination: v4.destination) }
    }

    /// A UDP/IPv4 header checksum worked by hand from RFC 768/RFC 1071 (not by this code):
    /// 192.0.2.1:1024 → 192.0.2.2:7, data "hi": pseudo-header words c000 0201 c000 0202 0011 000a,
    /// header words 0400 0007 000a, data 6869; sum 0x1f098, folded 0xf099; checksum 0x0f66.
    @Test func checksumByHand() {
        let g = UDPDatagram(source: IPAddress("192.0.2.1")!, destination: IPAddress("192.0.2.2")!, sourcePort: 1024, destinationPort: 7, data: Array("hi".utf8))
        #expect(g.segment() == [0x04, 0x00, 0x00, 0x07, 0x00, 0x0a, 0x0f, 0x66, 0x68, 0x69])
    }
}
