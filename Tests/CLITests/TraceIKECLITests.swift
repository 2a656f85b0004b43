import Foundation
import Testing
import TestSupport

/// `salabel trace --apply FILE`: which libreswan conn answers the ACQUIRE a flow triggers
/// (Specs/manager/apply.md, "Predicting the negotiation"), on the ACQUIRE scenario of
/// Specs/scenarios (a labeled SPD entry for UDP port 7 and no SA: the flow's context goes in the
/// ACQUIRE). The scenario's kernel runs (ConformanceTests) show the ACQUIRE and its label; pluto
/// answering such an ACQUIRE is shown in the two-VM suite (IKEPairVMTests).
struct TraceIKECLITests {
    static let scenario = repositoryRoot.appendingPathComponent("Specs/scenarios/acquire.yaml").path

    /// An apply file for the scenario's two hosts: one IKE association for UDP to `port`.
    static func applyFile(port: Int, label: String = "system_u:object_r:ipsec_spd_t:s0") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-trace-ike-\(UUID().uuidString).yaml")
        try """
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }
        keying: ike
        associations:
          - name: echo
            between: [client, server]
            context: system_u:system_r:echoclient_t:s0
            policy_context: \(label)
            selector: { proto: udp, port: \(port) }
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func trace(_ apply: URL, json: Bool) throws -> CLITests.Run {
        defer { try? FileManager.default.removeItem(at: apply) }
        return try CLITests.run(
            CLITests.binary,
            ["trace", "--scenario", scenario, "--proto", "udp", "--dport", "7", "--no-reply", "--apply", apply.path] + (json ? ["--json"] : []))
    }

    @Test func theAssociationsConnAnswersTheACQUIREWithTheFlowsLabel() throws {
        let run = try Self.trace(try Self.applyFile(port: 7), json: true)
        #expect(run.status == 1, "the flow waits for its SA: not delivered")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let ike = try #require(object["ike"] as? [[String: Any]])
        #expect(ike.count == 1)
        #expect(ike.first?["conn"] as? String == "salabel-echo")
        #expect(ike.first?["label"] as? String == "system_u:system_r:echoclient_t:s0")
        #expect(ike.first?["host"] as? String == "client")
    }

    @Test func aConnForAnotherPortDoesNotAnswerAndSaysWhy() throws {
        let run = try Self.trace(try Self.applyFile(port: 9), json: false)
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("ike:") })
        #expect(line.contains("no conn of client"))
        #expect(line.contains("salabel-echo: rightprotoport=udp/9, the flow is udp/7"))
    }

    @Test func aConnWithAnotherLabelDoesNotAnswer() throws {
        let run = try Self.trace(try Self.applyFile(port: 7, label: "system_u:object_r:unlabeled_t:s0"), json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let ike = try #require((object["ike"] as? [[String: Any]])?.first)
        #expect(ike["conn"] == nil)
        let why = try #require((ike["mismatches"] as? [String: String])?["salabel-echo"])
        #expect(why.contains("the SPD entry's label is system_u:object_r:ipsec_spd_t:s0"))
    }

    /// A scenario with associations keyed by IKE needs no --apply: its own conns answer.
    @Test func anIKEScenarioPredictsWithItsOwnConns() throws {
        let file = repositoryRoot.appendingPathComponent("Specs/scenarios/ike-on-demand.yaml").path
        let run = try CLITests.run(CLITests.binary, ["trace", "--scenario", file, "--proto", "tcp", "--dport", "7", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let ike = try #require(object["ike"] as? [[String: Any]])
        // The request's ACQUIRE only: its reply is traced once the request is delivered.
        #expect(ike.count == 1)
        #expect(ike.first?["conn"] as? String == "salabel-echo" && ike.first?["host"] as? String == "client")
        #expect(ike.first?["label"] as? String == "system_u:system_r:echoclient_t:s0")
    }
}
