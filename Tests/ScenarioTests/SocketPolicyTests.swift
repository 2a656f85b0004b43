import Foundation
import IPsecModel
import Resolver
import Scenario
import ScenarioKernel
import SecurityContexts
import Testing

/// Per-socket policies of traffic steps (Specs/scenarios/README.md, "Steps"; Specs/kernel/labeled-ipsec.md
/// §c.1, edges 13 and 15): parsing, the bytes of both setsockopt formats, the model's lookup.
struct SocketPolicyTests {
    static let header = """
        actors: { c: "system_u:system_r:echoclient_t:s0", s: "system_u:system_r:echoserver_t:s0" }
        hosts: { a: { address: 10.0.0.1 }, b: { address: 10.0.0.2 } }

        """

    static func step(_ policy: String, proto: String = "tcp") -> String {
        "steps: [{ \(proto): { from: a, to: b, port: 7, as: c, server_as: s, socket_policy: '\(policy)' } }]"
    }

    @Test(arguments: [
        (step("dir out tmpl proto esp mode transport"), "steps[0].tcp.socket_policy: expected `[ctx CONTEXT] tmpl …`"),
        (step("ctx \"u:r:t:s0\""), "steps[0].tcp.socket_policy: expected at least one tmpl"),
        (step("tmpl proto esp mode tunnel src 10.0.0.1 dst 10.0.0.2"), "steps[0].tcp.socket_policy: tmpl 1: only mode transport"),
        (step("tmpl proto esp mode transport reqid 7"), "steps[0].tcp.socket_policy: tmpl 1: no spi or reqid"),
        (step("tmpl proto esp mode transport level use"), "steps[0].tcp.socket_policy: tmpl 1: level use is not modelled"),
        (step("tmpl src fd00::1 dst fd00::2 proto esp mode transport"), "steps[0].tcp.socket_policy: its templates are inet6, the hosts inet"),
        ("steps: [{ tcp: { from: a, to: b, port: 7, as: c, server_as: s, socket_policy: 3 } }]", "steps[0].tcp.socket_policy: expected `[ctx CONTEXT] tmpl …`"),
    ])
    func badSocketPoliciesSayWhereAndWhy(text: String, message: String) {
        ScenarioTests.expectRefused(Self.header + text, shown: text, message: message)
    }

    @Test func aSocketPolicyIsAnOutboundEntryOfItsSocket() throws {
        let s = try Scenario(
            yaml: Self.header + Self.step("ctx \"system_u:object_r:ipsec_spd_t:s0\" tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport"),
            file: "sp.yaml")
        guard case .traffic(let t) = s.steps[0].action, let sp = t.socketPolicy else { Issue.record("no socket policy"); return }
        #expect(sp.rawContext == "system_u:object_r:ipsec_spd_t:s0" && sp.optionName == "IP_IPSEC_POLICY")
        #expect(sp.entry.isSocketPolicy && sp.entry.direction == .out && sp.entry.selector == .any(.inet))
        // A transport template's addresses are the flow's (xfrm_tmpl_resolve_one): kept as any.
        #expect(sp.entry.templates.map(\.destination) == [.any(.inet)] && sp.entry.templates.map(\.proto) == [.esp])
        let unlabeled = try ScenarioStep.SocketPolicy.parse("tmpl proto ah mode transport")
        #expect(unlabeled.rawContext == nil && unlabeled.optionName == "IP_XFRM_POLICY")
    }

    /// PF_KEY's bytes, written out by hand from include/uapi/linux/pfkeyv2.h (struct sadb_x_policy,
    /// sadb_x_ipsecrequest, sadb_x_sec_ctx: packed, host order) and the constants there and in
    /// linux/ipsec.h (IPSEC_POLICY_IPSEC 2, IPSEC_DIR_OUTBOUND 2, IPSEC_MODE_TRANSPORT 1,
    /// IPSEC_LEVEL_REQUIRE 2), SADB_X_EXT_POLICY 18, SADB_X_EXT_SEC_CTX 24. Neither Debian's
    /// `ip xfrm` nor `setkey` prints the setsockopt value, so there are no reference bytes from a tool.
    @Test func pfkeyBytes() throws {
        let sp = try ScenarioStep.SocketPolicy.parse("ctx \"u:r:t:s0\" tmpl proto esp mode transport")
        let (level, name, bytes) = SocketPolicyOption.value(sp)
        #expect(level == 0 && name == 16)
        let expected: [UInt8] =
            [0x04, 0x00, 0x12, 0x00, 0x02, 0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]  // sadb_x_policy: 4 × 8 bytes
            + [0x10, 0x00, 0x32, 0x00, 0x01, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]  // request: 16 bytes, ESP 50
            + [0x03, 0x00, 0x18, 0x00, 0x01, 0x01, 0x09, 0x00]  // sadb_x_sec_ctx: 3 × 8 bytes, ctx_len 9
            + Array("u:r:t:s0".utf8) + [0] + [0, 0, 0, 0, 0, 0, 0]  // the context, its NUL, padding to 8
        #expect(bytes == expected)
    }

    /// An IPv6 socket's options (linux/in6.h: `SOL_IPV6` 41, `IPV6_IPSEC_POLICY` 34,
    /// `IPV6_XFRM_POLICY` 35): the compilers refuse the other family's option (EINVAL), so the
    /// templates' family picks them; xfrm_user's selector says AF_INET6 (10).
    @Test func ipv6SocketsTakeTheIPv6Options() throws {
        let labeled = try ScenarioStep.SocketPolicy.parse("ctx \"u:r:t:s0\" tmpl src 2001:db8::1 dst 2001:db8::2 proto esp mode transport")
        let l = SocketPolicyOption.value(labeled)
        #expect(l.level == 41 && l.name == 34 && labeled.optionName == "IPV6_IPSEC_POLICY")
        let unlabeled = try ScenarioStep.SocketPolicy.parse("tmpl src 2001:db8::1 dst 2001:db8::2 proto esp mode transport")
        let u = SocketPolicyOption.value(unlabeled)
        #expect(u.level == 41 && u.name == 35 && unlabeled.optionName == "IPV6_XFRM_POLICY")
        #expect(u.bytes[40] == 10 && u.bytes[41] == 0)
    }

    /// xfrm_user's bytes: `struct xfrm_userpolicy_info` (168 bytes) then `struct xfrm_user_tmpl`
    /// (64), at the offsets of include/uapi/linux/xfrm.h on x86-64 (Specs/kernel/layouts.md).
    @Test func xfrmUserBytes() throws {
        let sp = try ScenarioStep.SocketPolicy.parse("tmpl proto esp mode transport")
        let (level, name, b) = SocketPolicyOption.value(sp)
        #expect(level == 0 && name == 17 && b.count == 168 + 64)
        #expect(b[0..<40].allSatisfy { $0 == 0 })  // daddr, saddr, dport, dport_mask, sport, sport_mask: any
        #expect(b[40] == 2 && b[41] == 0)  // sel.family AF_INET (what PF_KEY's socket policy lacks)
        #expect(b[42..<56].allSatisfy { $0 == 0 })  // prefix lengths 0, any proto, ifindex, user
        #expect(b[160] == 1 && b[161] == 0)  // dir XFRM_POLICY_OUT, action allow
        #expect(b[168 + 20] == 50)  // id.proto ESP
        #expect(b[168 + 24] == 2)  // family AF_INET
        #expect(b[168 + 48] == 0 && b[168 + 50] == 0)  // mode transport, not optional
        #expect(Array(b[(168 + 52)..<(168 + 64)]) == [UInt8](repeating: 0xff, count: 12))  // every algorithm
    }

    /// The model's lookup (socket-policy.yaml): a matched socket policy hides the SPD (no polmatch on
    /// its entries); a denied one is passed over and the SPD looked up (edge 15); an unlabeled one
    /// makes no check and raises an unlabeled ACQUIRE next to labeled SAs (edge 13).
    @Test func theModelLooksUpTheSocketPolicyFirst() throws {
        let s = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("socket-policy.yaml").path)
        var model = try ScenarioModel(s)
        let outcomes = model.run()
        let restricted = "tcontext=system_u:object_r:ipsec_restricted_spd_t:s0"
        #expect(outcomes[0].avc.contains { $0.description.contains(restricted) })
        // Matched and used (no polmatch on the SPD's entries), its SA found, then no bundle: PF_KEY's
        // selector has no family (xfrm_bundle_create).
        #expect(outcomes[1].avc.isEmpty && outcomes[1].notes.contains { $0.contains("→ socket policy system_u:object_r:sockpol_spd_t:s0: allowed") })
        #expect(outcomes[1].result == "EINVAL" && outcomes[1].stage == "connect" && outcomes[1].acquire.isEmpty)
        #expect(outcomes[2].avc.map(\.description).filter { $0.contains("polmatch") }.count == 2)
        #expect(outcomes[3].result == "EACCES" && outcomes[3].stage == "setsockopt")
        #expect(outcomes[4].result == "EINVAL" && outcomes[4].stage == "setsockopt")
        #expect(outcomes[5].result == "EPERM" && outcomes[5].stage == "setsockopt")
        // The socket policy's missing SA fails connect at once (EAGAIN), where an SPD entry's times out.
        #expect(outcomes[6].acquire == ["client": "unlabeled"] && outcomes[6].result == "EAGAIN")
        #expect(outcomes[6].notes.contains { $0.contains("a labeled SA never serves an unlabeled entry (edge 13)") })
        // After the flush, a labeled socket policy with no SA: an ACQUIRE with the flow's label (edge 17).
        #expect(outcomes[8].result == "EAGAIN" && outcomes[8].acquire == ["client": "system_u:system_r:sockpol_t:s0"])
    }

    /// The data plane's sockets have no per-socket policies: a UDP step with one is left to the
    /// model (socket-policy-udp.yaml's kernel runs are its reference), not sent without.
    @Test func theDataPlaneLeavesASocketPolicyToTheModel() throws {
        let file = ScenarioTests.specs.appendingPathComponent("socket-policy.yaml").path
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let head = try #require(text.range(of: "steps:\n"))
        let yaml =
            String(text[..<head.upperBound])
            + "  - udp: { from: client, to: server, port: 7, as: sockpol, server_as: server, socket_policy: 'tmpl proto esp mode transport' }\n"
            + "  - udp: { from: client, to: server, port: 7, as: client, server_as: server, reply: false }\n"
        var player = try DataPlanePlayer(Scenario(yaml: yaml, file: "sp-udp.yaml"))
        let steps = player.run()
        #expect(steps[0].dataPlane == nil && !steps[0].agrees)
        #expect(steps[0].model.stage == "setsockopt")
        // The next datagram, without one, is carried.
        #expect(steps[1].dataPlane != nil)
    }
}
