import Foundation
import Scenario
import SecurityContexts
import Testing
import TestSupport

/// Scenarios whose hosts are kernels of their own (Specs/scenarios/README.md, "Hosts on kernels of
/// their own"): what the file may say, and that the model keeps each host's policy, AVC and count
/// of labeled xfrm objects apart. Specs/scenarios/two-kernels.yaml holds the kernels' own answers
/// (scripts/conformance plays it on two VMs); these tests pin the model's separation.
struct ScenarioKernelsTests {
    static let base = """
        actors:
          client: system_u:system_r:echoclient_t:s0
          other: system_u:system_r:echo_other_t:s0
          server: system_u:system_r:echoserver_t:s0
        hosts:
          client: { address: 10.77.0.1 }
          server:
            address: 10.77.0.2
            policy_rules: |
              allow echoserver_t echo_other_t:peer recv;

        """

    static let refused: [(String, String)] = [
        (base, "hosts.server.policy_rules: namespaces of one kernel share its policy and mode: a host's own policy_rules needs `kernels: per_host`"),
        (
            "hosts:\n  a: { address: 10.77.0.1, enforcing: false }\n  b: { address: 10.77.0.2 }\n",
            "hosts.a.enforcing: namespaces of one kernel share its policy and mode"
        ),
        ("kernels: two\n" + base, "kernels: expected shared or per_host, got two"),
        ("kernels: [per_host]\n" + base, "kernels: expected shared or per_host"),
        (
            "kernels: per_host\nhosts:\n  a: { address: 10.77.0.1 }\n  b: { address: 10.77.0.2 }\n  c: { address: 10.77.0.3 }\n",
            "kernels: per_host scenarios have two hosts (the kernel run's two VMs); this one has 3"
        ),
        (
            "kernels: per_host\nhosts:\n  a: { address: 10.77.0.1, enforcing: maybe }\n  b: { address: 10.77.0.2 }\n",
            "hosts.a.enforcing: expected true or false"
        ),
        (
            "kernels: per_host\n" + base + step("- denied { recv } scontext=a:b:c:s0 tcontext=a:b:d:s0 tclass=peer permissive=0"),
            "steps[0].expect.avc[0]: name the kernel that writes the record: host=client|server at the end"
        ),
        (
            "kernels: per_host\n" + base + step("- denied { recv } scontext=a:b:c:s0 tcontext=a:b:d:s0 tclass=peer permissive=0 host=gateway"),
            "steps[0].expect.avc[0]: host=gateway: no such host (hosts: client, server)"
        ),
        (
            "actors: { client: system_u:system_r:echoclient_t:s0, server: system_u:system_r:echoserver_t:s0 }\n"
                + "hosts:\n  a: { address: 10.77.0.1 }\n  b: { address: 10.77.0.2 }\n"
                + step("- denied { recv } scontext=a:b:c:s0 tcontext=a:b:d:s0 tclass=peer permissive=0 host=a", from: "a", to: "b"),
            "steps[0].expect.avc[0]: host=a: the hosts share one kernel, whose records name no host"
        ),
    ]

    static func step(_ avc: String, from: String = "client", to: String = "server") -> String {
        """
        steps:
          - udp: { from: \(from), to: \(to), port: 7, as: client, server_as: server }
            expect:
              avc:
                \(avc)

        """
    }

    @Test(arguments: refused)
    func whatAHostOfItsOwnKernelMaySay(text: String, message: String) {
        ScenarioTests.expectRefused(text, shown: text, message: message)
    }

    @Test func aHostsRulesAndModeAreItsKernelsOnly() throws {
        let s = try Scenario(yaml: "kernels: per_host\n" + Self.base.replacingOccurrences(of: "10.77.0.1 }", with: "10.77.0.1, enforcing: false }"))
        #expect(s.kernels == .perHost && s.kernelGroups == [["client"], ["server"]])
        #expect(!s.enforcing(host: "client") && s.enforcing(host: "server"))
        let model = try ScenarioModel(s)
        let other = try SecurityContext(parsing: "system_u:system_r:echo_other_t:s0")
        let server = try SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
        // The server's rule is in the server's policy, not in the client's (the embedded policy
        // grants echo_other_t nothing from the server: Resources/default-policy.conf, 6g).
        for (host, allowed) in [("server", true), ("client", false)] {
            let d = try model.server(of: host).computeAccess(source: server, target: other, objectClass: "peer")
            #expect(d.allowed.contains("recv") == allowed, "\(host)")
        }
        #expect(!model.server(of: "client").enforcing && model.server(of: "server").enforcing)
        // The same hosts on one kernel: one policy, the scenario's.
        let shared = try ScenarioModel(
            try Scenario(
                yaml: Self.base.replacingOccurrences(of: "      allow echoserver_t echo_other_t:peer recv;\n", with: "").replacingOccurrences(
                    of: "    policy_rules: |\n", with: "")))
        #expect(shared.scenario.kernelGroups == [["client", "server"]])
    }

    /// Edge 26 of Specs/kernel/labeled-ipsec.md: the peer checks are on while any labeled xfrm
    /// object exists in the kernel. On one kernel the client's labeled SA turns them on for the
    /// server too; on two kernels the server, holding none, keeps them off.
    @Test func theCountOfLabeledXfrmObjectsIsEachKernels() throws {
        let hosts = """
            hosts:
              client:
                address: 10.77.0.1
                xfrm:
                  - state add src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x100 mode transport aead "rfc4106(gcm(aes))" 0x0102030405060708090a0b0c0d0e0f1011121314 128 ctx "system_u:system_r:echoclient_t:s0"
              server: { address: 10.77.0.2 }

            """
        let one = try ScenarioModel(try Scenario(yaml: hosts))
        let two = try ScenarioModel(try Scenario(yaml: "kernels: per_host\n" + hosts))
        #expect(one.resolver("server").labeledXfrmElsewhere)
        #expect(!two.resolver("server").labeledXfrmElsewhere)
    }

    @Test func eachRecordNamesTheKernelThatWroteIt() throws {
        let path = ScenarioTests.specs.appendingPathComponent("two-kernels.yaml").path
        var model = try ScenarioModel(try Scenario.load(path: path))
        let outcomes = model.run()
        let lines = outcomes.flatMap(\.avc)
        #expect(!lines.isEmpty && lines.allSatisfy { $0.host == "client" || $0.host == "server" })
        // The round trip's denial is the client's kernel's; the xfrm request's grant the server's.
        #expect(outcomes[2].avc.map(\.host) == ["client"] && outcomes[3].avc.map(\.host) == ["server"])
        let line = try #require(AVCLine(parsing: outcomes[2].avc[0].description))
        #expect(line == outcomes[2].avc[0])
    }
}
