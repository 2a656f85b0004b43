import IPsecModel
import NetlinkProtocol
import SecurityContexts
import Testing
@testable import XfrmWire

/// Each decoded capture checked field by field against the command that produced it.
@Suite struct DecodedCaptureTests {
    func messages(_ name: String, _ direction: Character) throws -> [XfrmMessage] {
        try Capture(name).buffers.filter { $0.direction == direction }.flatMap { try XfrmMessage.decodeAll($0.bytes) }
    }
    func ip(_ s: String) -> XfrmAddress { XfrmAddress(IPAddress(s)!) }

    @Test func layoutFactsPolicyRequestAndDump() throws {
        let request = try #require(try messages("layout-facts-4.1-newpolicy", ">").first)
        #expect(request.type == .newPolicy && request.flags == [.request, .acknowledge] && request.sequence == 42)
        guard case .policy(let info, let attributes) = request.body else { Issue.record("body"); return }
        #expect(info.selector.saddr == ip("127.0.0.1") && info.selector.daddr == ip("127.0.0.1"))
        #expect(info.selector.family == 2 && info.selector.prefixlenD == 32 && info.selector.prefixlenS == 32 && info.selector.proto == 6)
        #expect(info.dir == 1 && info.action == 0 && info.lifetime.softByteLimit == .max && info.lifetime.hardAddExpiresSeconds == 0)
        #expect(attributes.map(\.type) == [.tmpl, .secCtx])
        let t = try #require(attributes.templates?.first)
        #expect(t.id.proto == 51 && t.family == 2 && t.mode == 0 && t.optional == 0 && t.aalgos == .max)
        #expect(request.label == .selinux(try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")))

        let dump = try messages("layout-facts-4.6-policy-show", "<")
        #expect(dump.count == 2)
        #expect(dump[0].type == .newPolicy && dump[0].flags == .multipart && dump[0].portID == 12345)
        let entry = try #require(try dump[0].policyEntry())
        #expect(entry.index == 1 && entry.current.addTime == 100_000_000 && entry.securityContext == nil && entry.policyType == 0)
        #expect(dump[1].type.rawValue == 3)  // NLMSG_DONE, kept as unknown
    }

    @Test func layoutFactsSAAndNack() throws {
        let request = try #require(try messages("layout-facts-4.3-newsa", ">").first)
        let sa = try #require(try request.securityAssociation())
        #expect(sa.source == IPAddress("127.0.0.1") && sa.destination == IPAddress("127.0.0.1") && sa.spi == 0x200 && sa.proto == .ah)
        #expect(sa.algorithms.authentication?.name == "sha1" && sa.algorithms.authentication?.keyBits == 128)
        #expect(sa.algorithms.authentication?.truncationBits == nil)
        #expect(sa.algorithms.authentication?.key == KeyMaterial(Array("0123456789012345".utf8)))
        guard case .sa(let info, let attributes) = request.body else { Issue.record("body"); return }
        #expect(info.selector.family == 0 && info.family == 2 && attributes.map(\.type) == [.secCtx, .algAuth])
        let nack = try #require(try messages("layout-facts-4.3-newsa", "<").first)
        guard case .unknown(let payload) = nack.body else { Issue.record("NLMSG_ERROR not raw"); return }
        #expect(payload.count == 428 - 16)
    }

    @Test func ipv6PolicyDump() throws {
        let dump = try messages("policy-show-ipv6", "<")
        let entries = try dump.compactMap { try $0.policyEntry() }
        #expect(entries.count == 2)
        let p = try #require(entries.first { $0.selector.family == .inet6 })
        #expect(p.selector.source == IPPrefix("2001:db8::1/128") && p.selector.destination == IPPrefix("2001:db8:1::/48"))
        #expect(p.selector.upperProtocol == 6 && p.selector.sourcePort == 1234 && p.selector.destinationPort == 443)
        #expect(p.selector.sourcePortMask == 0xffff && p.direction == .out && p.priority == 100)
        #expect(p.mark == XfrmMark(value: 0x10, mask: 0xff) && p.interfaceID == 7)
        #expect(p.templates.count == 2)
        #expect(p.templates[0].source == IPAddress("2001:db8::1") && p.templates[0].destination == IPAddress("2001:db8::2"))
        #expect(p.templates[0].proto == .esp && p.templates[0].mode == .tunnel && p.templates[0].reqid == 5 && !p.templates[0].optional)
        #expect(p.templates[1].proto == .comp && p.templates[1].mode == .transport && p.templates[1].optional)
        // No SELinux on the capture kernel: the label was dropped (Specs/kernel/labeled-ipsec.md, edge 3).
        #expect(p.securityContext == nil)
        let q = try #require(entries.first { $0.selector.family == .inet })
        #expect(q.direction == .fwd && q.lifetime.softAddExpiresSeconds == 10 && q.lifetime.hardAddExpiresSeconds == 20)
        #expect(q.templates.first?.spi == 0x1234 && q.templates.first?.mode == .tunnel && q.templates.first?.reqid == 1)
    }

    @Test func larvalSADumpAndAllocSPIReply() throws {
        let dump = try messages("sa-show-larval", "<")
        let sa = try #require(try dump.first?.securityAssociation())
        #expect(sa.source == IPAddress("192.0.2.1") && sa.destination == IPAddress("192.0.2.2") && sa.proto == .esp)
        #expect((0x100...0x1ff).contains(sa.spi) && sa.mode == .tunnel && sa.reqid == 3 && sa.mark == XfrmMark(value: 7))
        guard case .sa(let info, let attributes) = try #require(dump.first).body else { Issue.record("body"); return }
        #expect(info.selector.family == 0 && info.selector.prefixlenD == 32)
        #expect(attributes.map(\.type) == [.mark, .replayVal])
        let reply = try #require(try messages("sa-allocspi-ipv6", "<").first)
        let v6 = try #require(try reply.securityAssociation())
        #expect(v6.destination == IPAddress("2001:db8::2") && v6.spi >= 0x100 && v6.spi <= 0x0fff_ffff)
    }

    @Test func acquireAndExpire() throws {
        let events = try messages("monitor-acquire-expire", "<")
        let acquire = try #require(events.first { $0.type == .acquire })
        guard case .acquire(let q, let attributes) = acquire.body else { Issue.record("body"); return }
        #expect(q.id.proto == 50 && q.id.spi == 0 && q.id.daddr == ip("10.9.0.2") && q.saddr == ip("10.9.0.1") && q.seq != 0)
        #expect(q.selector.proto == 17 && q.selector.dport == 9 && q.policy.dir == 1 && q.policy.selector.prefixlenS == 24)
        #expect(attributes.templates?.first?.reqid == 4)
        #expect(acquire.label == nil)  // no SELinux: the flow has no label to send
        let policy = try #require(try acquire.policyEntry())
        #expect(policy.selector.source == IPPrefix("10.9.0.0/24"))
        let expires = events.filter { $0.type == .expire }
        #expect(expires.count == 2)
        for e in expires {
            guard case .expire(let x, _) = e.body else { Issue.record("body"); continue }
            #expect(x.hard == 1)
        }
        let spis = try expires.compactMap { try $0.securityAssociation()?.spi }
        #expect(spis.contains(0x300) && spis.contains(0))
    }

    @Test func policyNotifications() throws {
        let events = try messages("monitor-policy-events", "<")
        #expect(events.map(\.type) == [.newPolicy, .polExpire, .polExpire, .newPolicy, .updPolicy, .delPolicy, .newPolicy, .flushPolicy])
        let expiries = events.compactMap { if case .policyExpire(let e, _) = $0.body { e.hard } else { nil } }
        #expect(expiries == [0, 1])
        let expired = try #require(try events[1].policyEntry())
        #expect(expired.mark == XfrmMark(value: 3) && expired.interfaceID == 4)
        let deleted = try #require(try events[5].policyEntry())
        #expect(deleted.priority == 10 && deleted.direction == .in && deleted.templates.first?.proto == .ah)
        guard case .flushPolicy(let attributes) = events[7].body else { Issue.record("body"); return }
        #expect(attributes.policyType?.type == 0)
    }

    @Test func saNotifications() throws {
        let events = try messages("monitor-sa-events", "<")
        #expect(events.map(\.type) == [.delSA, .flushSA])
        let deleted = try #require(try events[0].securityAssociation())
        #expect(deleted.spi == 0x100 && deleted.destination == IPAddress("192.0.2.2"))
        guard case .flushSA(let flush, let padding, _) = events[1].body else { Issue.record("body"); return }
        #expect(flush.proto == 0 && padding == [0, 0, 0])
    }

    @Test func unknownAttributesAreKept() throws {
        var bytes = try #require(try Capture("policy-get-index").sent.first).bytes
        // Append an attribute of a type this module does not know (4242) and one with NLA_F_NESTED.
        bytes += [6, 0, 0x92, 0x10, 0xab, 0xcd, 0, 0, 4, 0, 0x15, 0x80]
        bytes[0] = UInt8(bytes.count)
        let message = try #require(try XfrmMessage.decodeAll(bytes).first)
        #expect(message.body.attributes.suffix(2).allSatisfy { if case .other = $0 { true } else { false } })
        #expect(try message.encoded() == bytes)
    }
}
