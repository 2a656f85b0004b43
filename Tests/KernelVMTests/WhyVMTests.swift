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

import Foundation
import DecisionEngine
import Resolver
import Scenario
import ScenarioKernel
import SecurityContexts
import Testing
import TestSupport
import VMHarness

@Suite(.serialized) struct WhyVMTests {
    /// The scenarios' common part; `rule` joins the policy's added statements.
    static func header(rule: String? = nil) -> String {
        """
        policy: embedded
        actors:
          client: system_u:system_r:echoclient_t:s0
          other: system_u:system_r:echo_other_t:s0
          server: system_u:system_r:echoserver_t:s0
          spd_admin: system_u:system_r:spd_admin_t:s0
          client_s2: system_u:system_r:echoclient_t:s2
        policy_rules: |
          type spd_admin_t, domain;
          role system_r types spd_admin_t;
          allow spd_admin_t self:capability net_admin;
          allow spd_admin_t self:netlink_xfrm_socket { create bind getattr setopt getopt read write nlmsg_read nlmsg_write };
        \(rule.map { "  " + $0 } ?? "")
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }

        """
    }

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

    /// Writes each scenario (with `extra` appended to its text) and plays them all in one VM boot.
    static func play(_ cases: [(name: String, yaml: String, rule: String?)], in dir: URL) throws -> (KernelRun.Result, [String: Scenario]) {
        var loaded: [(path: String, scenario: Scenario, model: ScenarioModel)] = []
        var scenarios: [String: Scenario] = [:]
        for c in cases {
            let path = dir.appendingPathComponent("\(c.name).yaml").path
            try (Self.header(rule: c.rule) + c.yaml).write(toFile: path, atomically: true, encoding: .utf8)
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
        let (first, scenarios) = try Self.play(Self.cases.map { ($0.name, $0.yaml, nil) }, in: dir)
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
        #expect(c.result == "EACCES" && whyC.check?.id == "C1–C4")
        let ruleC = "allow spd_admin_t echoclient_t:association setcontext;"
        #expect(whyC.fixes.first == .allowRule(ruleC, neverallow: .passes))

        // d. The MLS constraint on polmatch: named, and no rule proposed.
        let (_, whyD) = try denial("why-mls")
        #expect(whyD.check?.id == "D1" && whyD.decision?.decision == .denied(stages: ["CONSTRAINT"]))
        #expect(whyD.fixes.contains { if case .constraint(let f) = $0 { f.statement.hasPrefix("mlsconstrain association { polmatch }") } else { false } })
        #expect(!whyD.fixes.contains { if case .allowRule = $0 { true } else { false } })

        // The fixes, applied: the same steps now pass in the kernel.
        let (second, _) = try Self.play(
            [
                ("why-peer-fixed", Self.cases[0].yaml, ruleA),
                ("why-unlabeled-fixed", "booleans: { echo_allow_unlabeled: true }\n" + Self.cases[1].yaml, nil),
                ("why-setcontext-fixed", Self.cases[2].yaml, ruleC),
            ], in: dir)
        let peer = try #require(second.outcomes["why-peer-fixed"]?.first)
        #expect(peer.delivered == true && peer.peer == "system_u:system_r:echo_other_t:s0" && peer.avc.isEmpty, "\(peer)")
        let unlabeled = try #require(second.outcomes["why-unlabeled-fixed"]?.first)
        #expect(unlabeled.delivered == true && unlabeled.peer == "none" && unlabeled.avc.isEmpty, "\(unlabeled)")
        let setcontext = try #require(second.outcomes["why-setcontext-fixed"]?.first)
        #expect(setcontext.result == "ok", "\(setcontext)")
    }
}
