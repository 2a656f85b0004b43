import Foundation
import IKEConfig
import IPsecModel
import Scenario
import SecurityContexts
import Testing
import TestSupport

/// Scenarios with associations keyed by IKE (Specs/scenarios/README.md, "Associations keyed by
/// IKE"): what the file must say, the SPD entries pluto routes, and the model's negotiation. The
/// expectations in Specs/scenarios/ike-*.yaml are the kernel's (scripts/conformance plays them with
/// a real pluto per host); these tests pin the model's own steps.
struct ScenarioIKETests {
    static let base = """
        policy_rules: |
          type ike_t, domain;
          allow ike_t ipsec_spd_t:association setcontext;
          allow ike_t echo_domain:association setcontext;
          allow ike_t unlabeled_t:peer recv;
          allow ike_t netif_type:netif egress;
          allow ike_t node_type:node sendto;
        actors:
          client: system_u:system_r:echoclient_t:s0
          server: system_u:system_r:echoserver_t:s0
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }
        associations:
          - name: echo
            between: [client, server]
            keying: ike
            context: system_u:system_r:echoclient_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
            selector: { proto: tcp, port: 7 }

        """

    static func tcp(_ actor: String) -> String {
        "  - tcp: { from: client, to: server, port: 7, as: \(actor), server_as: server }\n"
    }

    static let daemon = "ike_daemon: system_u:system_r:ike_t:s0\n"
    static let refused: [(String, String)] = [
        (base, "hosts.client.ike_daemon: association echo is keyed by IKE: name the context client's pluto runs in"),
        ("ike_daemon: 7\n" + base, "ike_daemon: expected the context pluto runs in"),
        ("ike_daemon: not-a-context\n" + base, "ike_daemon:"),
        (
            daemon
                + base.replacingOccurrences(of: "keying: ike", with: "keying: ike\n    ike: { authentication: rsa }")
                .replacingOccurrences(of: "10.77.0.1 }", with: "10.77.0.1, rsasigkey: 0sAwEAAQ== }")
                .replacingOccurrences(of: "10.77.0.2 }", with: "10.77.0.2, rsasigkey: 0sAwEAAQ== }"),
            "associations[0].ike.authentication: a scenario's IKE associations authenticate with pre-shared keys"
        ),
        (
            daemon + base.replacingOccurrences(of: "    policy_context: system_u:object_r:ipsec_spd_t:s0\n", with: ""),
            "associations[0].policy_context: an association keyed by IKE needs the SPD entry's label"
        ),
        (daemon + base.replacingOccurrences(of: "keying: ike", with: "keying: ike\n    spi: 7"), "spi"),
    ]

    @Test(arguments: refused)
    func whatAnIKEScenarioMustSay(text: String, message: String) {
        ScenarioTests.expectRefused(text, shown: text, message: message)
    }

    @Test func eachHostHasTheEntriesPlutoRoutesAndNoSA() throws {
        let s = try Scenario(yaml: "ike_daemon: system_u:system_r:ike_t:s0\n" + Self.base, file: "ike.yaml")
        #expect(s.usesIKE && s.ikeHosts == ["client", "server"])
        #expect(s.ikeDaemons["server"]?.type == "ike_t")
        let client = try s.contents(host: "client")
        #expect(client.sas.isEmpty)
        #expect(client.policies.map(\.direction) == [.out, .in])
        #expect(client.policies.allSatisfy { $0.securityContext?.type == "ipsec_spd_t" && $0.templates.first?.spi == 0 })
        #expect(client.policies[0].selector.destinationPort == 7 && client.policies[1].selector.sourcePort == 7)
        let conns = try s.ikeConfiguration(host: "server").conns
        #expect(conns.map(\.name.text) == ["salabel-echo"] && conns[0].left == IPAddress("10.77.0.2")!)
        // auto: add loads the conn without routing it: no entry.
        let unrouted = Self.base.replacingOccurrences(of: "keying: ike", with: "keying: ike\n    ike: { auto: add }")
        #expect(try Scenario(yaml: "ike_daemon: system_u:system_r:ike_t:s0\n" + unrouted).contents(host: "client").policies.isEmpty)
    }

    @Test func theModelNegotiatesEachLabelOnceAndInstallsThePairOnBothHosts() throws {
        let yaml = "ike_daemon: system_u:system_r:ike_t:s0\n" + Self.base + "steps:\n" + Self.tcp("client")
        var model = try ScenarioModel(try Scenario(yaml: yaml, file: "ike.yaml"))
        let outcome = model.run()[0]
        #expect(outcome.result == "ok" && outcome.peer == "system_u:system_r:echoclient_t:s0")
        #expect(outcome.acquire == ["client": "system_u:system_r:echoclient_t:s0", "server": "system_u:system_r:echoserver_t:s0"])
        for host in ["client", "server"] {
            let labels = model.resolver(host).mirror.sas.compactMap { $0.securityContext?.type }
            // Each label's pair: one SA each way, on both hosts; no larval SA left.
            #expect(labels.sorted() == ["echoclient_t", "echoclient_t", "echoserver_t", "echoserver_t"], "\(host)")
            #expect(model.resolver(host).mirror.acquires.isEmpty, "\(host)")
        }
        #expect(outcome.notes.contains { $0.contains("client's pluto answers the ACQUIRE carrying system_u:system_r:echoclient_t:s0 with conn salabel-echo") })
    }

    @Test func aRefusedIKEDatagramNegotiatesNothingAndLeavesTheLarvalSA() throws {
        // Without peer recv on unlabeled IKE datagrams, pluto never hears its peer.
        let yaml =
            "ike_daemon: system_u:system_r:ike_t:s0\n"
            + Self.base.replacingOccurrences(of: "  allow ike_t unlabeled_t:peer recv;\n", with: "") + "steps:\n"
            + Self.tcp("client") + Self.tcp("client")
        var model = try ScenarioModel(try Scenario(yaml: yaml, file: "ike.yaml"))
        let outcomes = model.run()
        #expect(outcomes[0].result == "ETIMEDOUT" && outcomes[0].acquire == ["client": "system_u:system_r:echoclient_t:s0"])
        #expect(
            outcomes[0].avc.map(\.description) == [
                "denied { recv } scontext=system_u:system_r:ike_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=peer permissive=0"
            ])
        #expect(model.resolver("client").mirror.sas.isEmpty && model.resolver("server").mirror.sas.isEmpty)
        // The larval SA holds the next flow's ACQUIRE (edge 18 of Specs/kernel/labeled-ipsec.md).
        #expect(outcomes[1].acquire.isEmpty && outcomes[1].result == "ETIMEDOUT")
    }

    @Test func plutoAsksLibselinuxBothQuestionsBeforeTheKernelDoes() throws {
        // libreswan 4.10's sec_label_within_range: may the label polmatch the conn's sec-label, and may
        // pluto's domain setcontext it; no kernel record either way. The embedded policy lets the echo
        // domains polmatch ipsec_spd_t, ipsec_mgmt_t not; ike_t may label SAs with echo domains only.
        let s = try Scenario(yaml: "ike_daemon: system_u:system_r:ike_t:s0\n" + Self.base, file: "ike.yaml")
        let model = try ScenarioModel(s)
        let conn = try #require(try s.ikeConfiguration(host: "server").conns.first)
        let ike = try SecurityContext(parsing: "system_u:system_r:ike_t:s0"), kernel = try SecurityContext(parsing: "system_u:system_r:kernel_t:s0")
        #expect(model.plutoRefuses(try SecurityContext(parsing: "system_u:system_r:echoclient_t:s0"), conn: conn, daemon: ike, host: "server") == nil)
        let mgmt = try SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")
        #expect(
            model.plutoRefuses(mgmt, conn: conn, daemon: ike, host: "server")?.contains("may not polmatch sec-label=system_u:object_r:ipsec_spd_t:s0") == true)
        // kernel_t may polmatch ipsec_spd_t; ike_t may not label an SA with it.
        #expect(
            model.plutoRefuses(kernel, conn: conn, daemon: ike, host: "server")?.contains("its domain system_u:system_r:ike_t:s0 may not setcontext") == true)
        // Permissive mode grants both.
        var permissive = s
        permissive.enforcing = false
        #expect(try ScenarioModel(permissive).plutoRefuses(mgmt, conn: conn, daemon: ike, host: "server") == nil)
        // In a scenario: the responder's refusal ends the negotiation, and says why.
        var setcontext = try ScenarioModel(try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("ike-setcontext.yaml").path))
        let refused = setcontext.run()[1]
        #expect(
            refused.notes.contains { $0.contains("server's pluto answers TS_UNACCEPTABLE: its domain system_u:system_r:ike_server_t:s0 may not setcontext") })
        #expect(!setcontext.resolver("server").mirror.sas.contains { $0.securityContext?.type == "echo_other_t" })
    }
}
