import Foundation
import Scenario
import Testing
import TestSupport

/// `DataPlanePlayer`, which `salabel scenario dataplane` runs in scripts/conformance: every UDP step
/// of every scenario with steps, and of the demo, carried as ESP between two data plane nodes,
/// agrees with the model (which meets the kernel's answers written in the scenarios) and meets
/// those expectations itself. The other steps (xfrm requests, TCP, datagrams with a per-socket
/// policy) are the model's alone.
struct DataPlanePlayerTests {
    @Test func everyUDPStepAgreesWithTheModelAndMeetsItsExpectations() throws {
        let files =
            try ScenarioStepTests.filesWithSteps().map { ScenarioTests.specs.appendingPathComponent($0).path }
            + [repositoryRoot.appendingPathComponent("Sources/Scenario/ScenarioDemo/Resources/demo.yaml").path]
        var carried = 0
        for path in files {
            var player = try DataPlanePlayer(Scenario.load(path: path))
            for r in player.run() {
                // Carried: datagrams, except those sent with a per-socket policy (the data
                // plane's sockets have none: socket-policy-udp.yaml) and those of scenarios with
                // NetLabel lines (its datagrams carry no IP options: netlabel-*.yaml), and those
                // routed through a gateway (its two nodes share one link, none forwards: gateway-*.yaml).
                guard case .traffic(let t) = r.step.action, t.proto == .udp, t.socketPolicy == nil, player.scenario.netLabel.isEmpty,
                    player.scenario.forwarding.gateway(from: t.from, to: t.to) == nil
                else {
                    #expect(r.dataPlane == nil, "\(path): \(r.step.name)")
                    continue
                }
                carried += 1
                #expect(r.dataPlane != nil, "\(path): \(r.step.name)")
                #expect(r.differences.isEmpty, "\(path): \(r.step.name): \(r.differences)")
                #expect(r.unmet.isEmpty, "\(path): \(r.step.name): \(r.unmet)")
            }
        }
        // The README's conformance table: 65 UDP steps in Specs/scenarios and the demo.
        #expect(carried >= 65)
    }

    /// What `salabel scenario dataplane` prints of a step (`DataPlanePlayer.Step.lines`): both
    /// sides' summaries, the data plane's AVC lines and, verbose, its notes; a difference is named.
    @Test func stepsAsTheCommandPrintsThem() throws {
        var player = try DataPlanePlayer(Scenario.load(path: ScenarioTests.specs.appendingPathComponent("acquire.yaml").path))
        let steps = player.run()
        for (i, r) in steps.enumerated() {
            guard let dp = r.dataPlane, let lines = r.lines(number: i + 1, verbose: false) else {
                #expect(r.lines(number: i + 1, verbose: true) == nil && !r.agrees)
                continue
            }
            #expect(lines[0] == "  \(i + 1). \(r.step.name)")
            #expect(lines[1] == "     data plane  " + dp.summaryLines.joined(separator: "; "))
            #expect(lines[2] == "     model       " + r.model.summaryLines.joined(separator: "; "))
            #expect(lines.count == 4 + dp.avc.count && lines.last == "     ✓ data plane and model agree; expectations met")
            let verbose = try #require(r.lines(number: i + 1, verbose: true))
            #expect(verbose.count == lines.count + dp.notes.count)
            var differing = r
            differing.differences = ["result: ok ≠ EACCES"]
            #expect(!differing.agrees)
            let named = try #require(differing.lines(number: 1, verbose: false))
            #expect(named.last == "     ✗ data plane ≠ model: result: ok ≠ EACCES")
        }
        #expect(steps.contains { $0.agrees })
    }

    /// Nested SAs (Specs/kernel/labeled-ipsec.md, edge 20): the data plane applies one SA per
    /// packet, so a datagram whose SPD entry resolves to two SAs is refused with EOPNOTSUPP, naming
    /// both, where the model delivers it; nested-sas.yaml itself has TCP steps only.
    @Test func aNestedBundleIsRefusedNotMisplayed() throws {
        let file = ScenarioTests.specs.appendingPathComponent("nested-sas.yaml").path
        let text = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: "proto tcp", with: "proto udp")
        let head = try #require(text.range(of: "steps:\n"))
        let yaml =
            String(text[..<head.upperBound])
            + "  - udp: { from: client, to: server, port: 7, as: client, server_as: server, reply: false }\n"
        var player = try DataPlanePlayer(Scenario(yaml: yaml, file: "nested-udp.yaml"))
        let r = try #require(player.run().first)
        #expect(r.model.result == "ok" && r.model.peer == "system_u:system_r:echoclient_t:s0")
        let dp = try #require(r.dataPlane)
        #expect(dp.result == "EOPNOTSUPP" && dp.stage == "sendto")
        #expect(
            dp.notes.contains {
                $0.contains("the SPD entry's 2 templates nest SAs (spi 0x400 transport inside spi 0x401 tunnel): the data plane applies one SA per packet")
            }, "\(dp.notes)")
    }
}
