// `salabel why` on the kernel's own records (Specs/resolver/why.md; issue 16's proof): each kind of
// labeled-networking denial is provoked in Debian's 6.1 SELinux kernel by a one-step scenario run
// by the scenario kernel runner (Specs/scenarios/README.md, "The kernel run"), the AVC records the
// kernel wrote for the step (StepOutcome.records, its /dev/kmsg lines) are explained against the
// scenario's hosts and policy, the diagnosis is checked against the cause set up, and the fix it
// proposes is applied to the scenario and played again in the kernel, where the flow now passes.
//
//   a. peer recv refused by TE: echo_other_t's datagram on its own labeled SA; fix: the allow rule.
//   b. an unlabeled peer: a datagram on a port no SPD entry covers; fix: the boolean.
//   c. setcontext refused: spd_admin_t labels an SA with a domain's context; fix: the allow rule.
//   d. polmatch refused by the MLS constraint: a flow at s2 against an entry for s0-s1; the fix is
//      no rule, and the constraint is named.
//   e. polmatch refused by TE: echo_other_t's flow against an entry labeled ipsec_restricted_spd_t;
//      fix: the allow rule (with the server's rule of case a, the flow is then delivered labeled).
//   f. sendto refused by TE: a domain without `self:association sendto` finds its SA unusable
//      (D2) and the kernel asks for another; fix: the allow rule, written with `self`.
//   g. peer recv refused by the MLS constraint: a flow at s1 on its s1 SA to a server at s0; the
//      failing comparisons say the server's high level s0 is below s1; fix: the server's range
//      raised to s0-s1 (it is mlsnetreadtoclr), which the constraint's `h1 dom l2` then meets.
//   h. a label with no SA: a labeled SPD entry and no SA; the kernel writes no AVC record (so
//      `why` has nothing to read) but sends an ACQUIRE with the flow's label, which the model's
//      trace also ends with; fix: the SA a key manager would install, with that label.

import Foundation
import DecisionEngine
import IPsecModel
import Resolver
import Scenario
import ScenarioKernel
import SecurityContexts
import Testing
import TestSupport
import VMHarness

@Suite(.serialized) struct WhyVMTests {
    /// The scenarios' common part; `rule` joins the policy's added statements.
    static func header(rule: String? = nil, hosts: String = defaultHosts) -> String {
        """
        policy: embedded
        actors:
          client: system_u:system_r:echoclient_t:s0
          other: system_u:system_r:echo_other_t:s0
          server: system_u:system_r:echoserver_t:s0
          spd_admin: system_u:system_r:spd_admin_t:s0
          client_s2: system_u:system_r:echoclient_t:s2
          client_s1: system_u:system_r:echoclient_t:s1
          server_s0_s1: system_u:system_r:echoserver_t:s0-s1
          nosend: system_u:system_r:nosend_t:s0
        policy_rules: |
          type spd_admin_t, domain;
          role system_r types spd_admin_t;
          allow spd_admin_t self:capability net_admin;
          allow spd_admin_t self:netlink_xfrm_socket { create bind getattr setopt getopt read write nlmsg_read nlmsg_write };
        \(rule.map { $0.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") } ?? "")
        \(hosts)
        """
    }

    static let defaultHosts = """
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }

        """

    static func association(_ name: String, _ context: String, port: Int, spd: String = "system_u:object_r:ipsec_spd_t:s0") -> String {
        """
        associations:
          - name: \(name)
            between: [client, server]
            context: \(context)
            reply_context: system_u:system_r:echoserver_t:s0
            policy_context: \(spd)
            selector: { proto: udp, port: \(port) }

        """
    }

    /// The four cases, each a scenario of one step.
    static let cases: [(name: String, yaml: String)] = [
        (
            "why-peer",
            association("other", "system_u:system_r:echo_other_t:s0", port: 7)
                + "steps:\n  - udp: { from: client, to: server, port: 7, as: other, server_as: server, reply: false }\n"
        ),
        (
            "why-unlabeled",
            association("echo", "system_u:system_r:echoclient_t:s0", port: 7)
                + "steps:\n  - udp: { from: client, to: server, port: 40007, as: client, server_as: server, reply: false }\n"
        ),
        (
            "why-setcontext",
            "steps:\n  - host: client\n    as: spd_admin\n    xfrm: state add src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x100 mode transport aead \"rfc4106(gcm(aes))\" 0x0102030405060708090a0b0c0d0e0f1011121314 128 ctx \"system_u:system_r:echoclient_t:s0\"\n"
        ),
        (
            "why-mls",
            association("mls", "system_u:system_r:echoclient_t:s1", port: 7, spd: "system_u:object_r:ipsec_spd_t:s0-s1")
                + "steps:\n  - udp: { from: client, to: server, port: 7, as: client_s2, server_as: server, reply: false }\n"
        ),
    ]

    /// A domain with what a UDP client needs, polmatch on the SPD label, and no
    /// `self:association sendto`; the server accepts its label.
    static let nosendRules = """
        type nosend_t, domain;
        role system_r types nosend_t;
        allow nosend_t self:udp_socket { create connect getattr setopt getopt read write };
        allow nosend_t ipsec_spd_t:association polmatch;
        allow nosend_t netif_type:netif { ingress egress };
        allow nosend_t node_type:node { recvfrom sendto };
        allow nosend_t unlabeled_t:packet { send recv };
        allow echoserver_t nosend_t:peer recv;
        """

    /// The SPD entry of case h, with no SA.
    static let noSAHosts = """
        hosts:
          client:
            address: 10.77.0.1
            xfrm:
              - policy add src 10.77.0.1/32 dst 10.77.0.2/32 proto udp dport 7 dir out ctx "system_u:object_r:ipsec_spd_t:s0" tmpl src 10.77.0.1 dst 10.77.0.2 proto esp reqid 7 mode transport
          server: { address: 10.77.0.2 }

        """

    /// The cases after the first four: (name, the scenario's own text, its own policy rules).
    static let moreCases: [(name: String, yaml: String, rule: String?)] = [
        (
            "why-polmatch-te",
            association("other", "system_u:system_r:echo_other_t:s0", port: 7, spd: "system_u:object_r:ipsec_restricted_spd_t:s0")
                + "steps:\n  - udp: { from: client, to: server, port: 7, as: other, server_as: server, reply: false }\n", nil
        ),
        (
            "why-sendto-te",
            association("nosend", "system_u:system_r:nosend_t:s0", port: 7)
                + "steps:\n  - udp: { from: client, to: server, port: 7, as: nosend, server_as: server, reply: false }\n", nosendRules
        ),
        (
            "why-peer-mls",
            association("s1", "system_u:system_r:echoclient_t:s1", port: 7, spd: "system_u:object_r:ipsec_spd_t:s0-s1")
                + "steps:\n  - udp: { from: client, to: server, port: 7, as: client_s1, server_as: server, reply: false }\n", nil
        ),
        ("why-no-sa", "steps:\n  - udp: { from: client, to: server, port: 7, as: client, server_as: server, reply: false }\n", nil),
    ]

    /// Writes each scenario (with `extra` appended to its text) and plays them all in one VM boot.
    static func play(_ cases: [(name: String, yaml: String, rule: String?)], in dir: URL) throws -> (KernelRun.Result, [String: Scenario]) {
        func hosts(_ name: String) -> String { name.hasPrefix("why-no-sa") ? noSAHosts : defaultHosts }
        var loaded: [(path: String, scenario: Scenario, model: ScenarioModel)] = []
        var scenarios: [String: Scenario] = [:]
        for c in cases {
            let path = dir.appendingPathComponent("\(c.name).yaml").path
            try (Self.header(rule: c.rule, hosts: hosts(c.name)) + c.yaml).write(toFile: path, atomically: true, encoding: .utf8)
            let s = try Scenario.load(path: path)
            loaded.append((path, s, try ScenarioModel(s)))
            scenarios[c.name] = s
        }
        let vm = repositoryRoot.appendingPathComponent("scripts/vm").path
        let result = try KernelRun(vmScript: vm, guestBinary: try GuestSalabel.binary(), settle: 0.3, verbose: false).run(loaded)
        #expect(result.errors.isEmpty, "\(result.errors)")
        return (result, scenarios)
    }

    /// The kernel's records of a scenario's one step, explained against its hosts and policy.
    static func explain(_ outcome: StepOutcome, _ s: Scenario) throws -> [DenialExplanation] {
        let records = try #require(outcome.records, "the kernel runner gave no records")
        let (parsed, errors) = AuditRecord.records(inLog: records.joined(separator: "\n"))
        #expect(errors.isEmpty, "\(errors)")
        let authorizer = try ScenarioModel(s).resolver("client").authorizer
        let explainer = DenialExplainer(
            resolver: Resolver(mirror: try s.mirror(hosts: s.hosts), authorizer: authorizer), policyText: try s.policyText().text)
        return explainer.explain(parsed)
    }

    @Test func theKernelsDenialsExplainedAndTheirFixesPlayed() throws {
        try VM.checkDependencies()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-why-vm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (first, scenarios) = try Self.play(Self.cases.map { ($0.name, $0.yaml, nil) } + Self.moreCases, in: dir)
        func denial(_ name: String) throws -> (StepOutcome, DenialExplanation) {
            let outcome = try #require(first.outcomes[name]?.first, "no outcome for \(name)")
            let explained = try Self.explain(outcome, scenarios[name]!)
            let e = try #require(explained.first { $0.record.result == .denied }, "\(name): the kernel wrote no denial: \(outcome.records ?? [])")
            return (outcome, e)
        }

        // a. The server's socket refused echo_other_t's label: peer recv, TE; the carrier is its SA.
        let (a, whyA) = try denial("why-peer")
        #expect(a.delivered == false)
        #expect(whyA.record.tclass == "peer" && whyA.check?.function == "selinux_socket_sock_rcv_skb")
        #expect(whyA.decision?.decision == .denied(stages: ["TERULE"]))
        #expect(whyA.carriers.contains { if case .sa(let sa) = $0 { sa.securityContext?.type == "echo_other_t" } else { false } })
        let ruleA = "allow echoserver_t echo_other_t:peer recv;"
        #expect(whyA.fixes.first == .allowRule(ruleA, neverallow: .passes))

        // b. Unlabeled: no SPD entry covers port 40007; the boolean grants it.
        let (b, whyB) = try denial("why-unlabeled")
        #expect(b.delivered == false && whyB.record.tcontext.type == "unlabeled_t")
        #expect(whyB.fixes.contains(.boolean(name: "echo_allow_unlabeled", value: true)) && whyB.fixes.contains(.labelTheTraffic))

        // c. setcontext refused on an xfrm request.
        let (c, whyC) = try denial("why-setcontext")
        #expect(c.result == "EACCES" && whyC.check?.id == "C1–C4, C6")
        let ruleC = "allow spd_admin_t echoclient_t:association setcontext;"
        #expect(whyC.fixes.first == .allowRule(ruleC, neverallow: .passes))

        // d. The MLS constraint on polmatch: named, and no rule proposed.
        let (_, whyD) = try denial("why-mls")
        #expect(whyD.check?.id == "D1" && whyD.decision?.decision == .denied(stages: ["CONSTRAINT"]))
        #expect(whyD.fixes.contains { if case .constraint(let f) = $0 { f.statement.hasPrefix("mlsconstrain association { polmatch }") } else { false } })
        #expect(!whyD.fixes.contains { if case .allowRule = $0 { true } else { false } })

        // e. polmatch refused by TE: the entry is skipped, the flow leaves unprotected.
        let (_, whyE) = try denial("why-polmatch-te")
        #expect(whyE.check?.id == "D1" && whyE.record.tcontext.type == "ipsec_restricted_spd_t")
        #expect(whyE.decision?.decision == .denied(stages: ["TERULE"]))
        let ruleE = "allow echo_other_t ipsec_restricted_spd_t:association polmatch;"
        #expect(whyE.fixes.first == .allowRule(ruleE, neverallow: .passes), "\(whyE.fixes)")
        #expect(whyE.carriers.contains { if case .policy(let p) = $0 { p.securityContext?.type == "ipsec_restricted_spd_t" } else { false } })

        // f. sendto refused by TE: the SA with the flow's own label is unusable to it (D2).
        let (f, whyF) = try denial("why-sendto-te")
        #expect(f.delivered == false && whyF.record.tclass == "association" && whyF.record.permissions == ["sendto"])
        #expect(whyF.check?.function.contains("selinux_xfrm_state_pol_flow_match") == true && whyF.decision?.decision == .denied(stages: ["TERULE"]))
        let ruleF = "allow nosend_t self:association sendto;"
        #expect(whyF.fixes.first == .allowRule(ruleF, neverallow: .passes), "\(whyF.fixes)")

        // g. peer recv refused by the MLS constraint: the comparisons name the server's high level.
        let (g, whyG) = try denial("why-peer-mls")
        #expect(g.delivered == false && whyG.record.tclass == "peer" && whyG.decision?.decision == .denied(stages: ["CONSTRAINT"]))
        let constraint = try #require(
            whyG.fixes.lazy.compactMap { if case .constraint(let c) = $0 { c } else { nil } }.first, "\(whyG.fixes)")
        #expect(!whyG.fixes.contains { if case .allowRule = $0 { true } else { false } })
        let high = try #require(constraint.terms.first { $0.text == "h1 dom l2" }, "\(constraint.terms)")
        #expect(!high.holds && high.left.value == "s0" && high.right.value == "s1" && (high.levels?.sensitivityOrder ?? 0) < 0)
        #expect(constraint.terms.contains { $0.text == "t1 == mlsnetreadtoclr" && $0.holds })

        // h. A label with no SA: no AVC record at all, an ACQUIRE with the flow's label, and the
        // model's trace ends in that ACQUIRE.
        let h = try #require(first.outcomes["why-no-sa"]?.first)
        #expect(h.delivered == false && h.acquire == ["client": "system_u:system_r:echoclient_t:s0"], "\(h)")
        #expect((h.records ?? []).allSatisfy { !$0.contains("avc:  denied") }, "\(h.records ?? [])")
        let noSA = scenarios["why-no-sa"]!, model = try ScenarioModel(noSA)
        let flow = Flow(
            context: try SecurityContext(parsing: "system_u:system_r:echoclient_t:s0"), source: try #require(IPAddress("10.77.0.1")),
            destination: try #require(IPAddress("10.77.0.2")), upperProtocol: 17, destinationPort: 7)
        let trace = PathTrace.trace(
            flow, sender: model.resolver("client"), receiver: model.resolver("server"),
            socket: try SecurityContext(parsing: "system_u:system_r:echoserver_t:s0"), reply: false)
        guard case .acquire(_, let label) = trace.outbound else { Issue.record("the model's trace: \(trace.outbound)"); return }
        #expect(label?.type == "echoclient_t")

        // The fixes, applied: the same steps now pass in the kernel.
        let (second, _) = try Self.play(
            [
                ("why-peer-fixed", Self.cases[0].yaml, ruleA),
                ("why-unlabeled-fixed", "booleans: { echo_allow_unlabeled: true }\n" + Self.cases[1].yaml, nil),
                ("why-setcontext-fixed", Self.cases[2].yaml, ruleC),
                // With case a's rule too, so that the server takes the label the flow now has.
                ("why-polmatch-te-fixed", Self.moreCases[0].yaml, ruleE + "\n" + ruleA),
                ("why-sendto-te-fixed", Self.moreCases[1].yaml, Self.nosendRules + "\n" + ruleF),
                ("why-peer-mls-fixed", Self.moreCases[2].yaml.replacingOccurrences(of: "server_as: server,", with: "server_as: server_s0_s1,"), nil),
                // What a key manager answering the ACQUIRE installs: SAs with the flow's label.
                ("why-sa-installed", Self.association("echo", "system_u:system_r:echoclient_t:s0", port: 7) + Self.moreCases[3].yaml, nil),
            ], in: dir)
        for name in ["why-polmatch-te-fixed", "why-sendto-te-fixed", "why-peer-mls-fixed", "why-sa-installed"] {
            let o = try #require(second.outcomes[name]?.first)
            #expect(o.delivered == true && o.avc.isEmpty, "\(name): \(o)")
        }
        #expect(second.outcomes["why-polmatch-te-fixed"]?.first?.peer == "system_u:system_r:echo_other_t:s0")
        #expect(second.outcomes["why-sendto-te-fixed"]?.first?.peer == "system_u:system_r:nosend_t:s0")
        #expect(second.outcomes["why-peer-mls-fixed"]?.first?.peer == "system_u:system_r:echoclient_t:s1")
        #expect(second.outcomes["why-sa-installed"]?.first?.peer == "system_u:system_r:echoclient_t:s0")
        let peer = try #require(second.outcomes["why-peer-fixed"]?.first)
        #expect(peer.delivered == true && peer.peer == "system_u:system_r:echo_other_t:s0" && peer.avc.isEmpty, "\(peer)")
        let unlabeled = try #require(second.outcomes["why-unlabeled-fixed"]?.first)
        #expect(unlabeled.delivered == true && unlabeled.peer == "none" && unlabeled.avc.isEmpty, "\(unlabeled)")
        let setcontext = try #require(second.outcomes["why-setcontext-fixed"]?.first)
        #expect(setcontext.result == "ok", "\(setcontext)")
    }
}
