import Foundation
import Scenario
import Testing
import TestSupport

/// `DataPlanePlayer`, which `salabel scenario dataplane` runs in scripts/conformance: every UDP step
/// of every scenario with steps, and of the demo, carried as ESP between two data plane nodes,
/// agrees with the model (which meets the kernel's answers written in the scenarios) and meets
/// those expectations itself. The other steps are the model's alone.
struct DataPlanePlayerTests {
    @Test func everyUDPStepAgreesWithTheModelAndMeetsItsExpectations() throws {
        let files =
            try ScenarioStepTests.filesWithSteps().map { ScenarioTests.specs.appendingPathComponent($0).path }
            + [repositoryRoot.appendingPathComponent("Sources/Scenario/ScenarioDemo/Resources/demo.yaml").path]
        var carried = 0
        for path in files {
            var player = try DataPlanePlayer(Scenario.load(path: path))
            for r in player.run() {
                guard case .traffic(let t) = r.step.action, t.proto == .udp else {
                    #expect(r.dataPlane == nil, "\(path): \(r.step.name)")
                    continue
                }
                carried += 1
                #expect(r.dataPlane != nil, "\(path): \(r.step.name)")
                #expect(r.differences.isEmpty, "\(path): \(r.step.name): \(r.differences)")
                #expect(r.unmet.isEmpty, "\(path): \(r.step.name): \(r.unmet)")
            }
        }
        // The README's conformance table: 22 UDP steps in Specs/scenarios and the demo.
        #expect(carried >= 22)
    }
}
