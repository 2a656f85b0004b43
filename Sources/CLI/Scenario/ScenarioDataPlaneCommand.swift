import ArgumentParser
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
            if !scenario.netLabel.isEmpty {
                print("  NetLabel is configured (netlabel:): the data plane carries no IP options, every step is the model's alone")
            }
            if !scenario.forwarding.routes.isEmpty {
                print("  hosts route through a gateway (routes:): the data plane has no node that forwards, those steps are the model's alone")
            }
            for (i, r) in results.enumerated() {
                guard let lines = r.lines(number: i + 1, verbose: verbose) else { continue }
                steps += 1
                print(lines.joined(separator: "\n"))
                if r.agrees { agreeing += 1 } else { failures += 1 }
            }
        }
        print("\n\(agreeing) of \(steps) UDP steps: the data plane agrees with the model and meets the expectations")
        if failures > 0 { throw CommandFailure.exit(Status.denied) }
    }
}
