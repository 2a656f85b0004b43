import ArgumentParser
import Foundation
import Scenario

/// `salabel scenario dataplane FILE…`: every UDP step of the scenarios carried by the userspace
/// data plane, beside the model (Specs/dataplane/node.md).
struct ScenarioDataPlaneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataplane",
        abstract: "Carry the scenarios' UDP steps over the userspace ESP data plane and compare them with the model.",
        discussion: """
            Before each UDP step, the two hosts become data plane nodes holding what the model's hosts hold at that point; the datagram and its echo travel as real ESP packets (or clear segments) between them.

            Each outcome (result, delivery, peer labels, ACQUIREs, AVC records) is compared with the model's, which agrees with the kernel on every step (salabel scenario run --compare), and with the step's expectations. xfrm and TCP steps are played by the model only.

            Exit status: 0 when every UDP step agrees and meets its expectations, 1 otherwise, 2 when a file cannot be used.
            """)

    @Argument(help: "Scenario files (Specs/scenarios/*.yaml).") var files: [String]
    @Flag(name: .shortAndLong, help: "Also print each data plane step's checks.") var verbose = false

    func run() throws {
        var steps = 0, agreeing = 0, failures = 0
        for path in files {
            let results: [DataPlanePlayer.Step]
            let scenario: Scenario
            do {
                scenario = try Scenario.load(path: path)
                var player = try DataPlanePlayer(scenario)
                results = player.run()
            } catch {
                throw CommandFailure.error("\(error)")
            }
            print("scenario \(scenario.name)")
            for (i, r) in results.enumerated() {
                guard let dp = r.dataPlane else { continue }
                steps += 1
                print("  \(i + 1). \(r.step.name)")
                print("     data plane  " + dp.summaryLines.joined(separator: "; "))
                print("     model       " + r.model.summaryLines.joined(separator: "; "))
                for line in dp.avc { print("     avc \(line)") }
                if verbose { for n in dp.notes { print("       · \(n.replacingOccurrences(of: "\n", with: "\n         "))") } }
                for d in r.differences { print("     ✗ data plane ≠ model: \(d)") }
                for u in r.unmet { print("     ✗ data plane does not meet the expectation: \(u)") }
                if r.differences.isEmpty && r.unmet.isEmpty {
                    agreeing += 1; print("     ✓ data plane and model agree; expectations met")
                } else {
                    failures += 1
                }
            }
        }
        print("\n\(agreeing) of \(steps) UDP steps: the data plane agrees with the model and meets the expectations")
        if failures > 0 { throw CommandFailure.exit(Status.denied) }
    }
}
