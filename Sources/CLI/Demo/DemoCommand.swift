import ArgumentParser
import ScenarioDemo

/// `salabel demo`: the seed's demonstration, made real. Two hosts (network namespaces, or loopback
/// ports), labeled SAs between them from the demo's network (ScenarioDemo's `demo.yaml`) with fresh
/// keys, an echo server and clients in their own domains under the embedded policy, real ESP on the
/// wire. The echo succeeds with the label the server sees; then the paths the policy does not grant
/// are refused, with the AVC records; ACQUIRE and anti-replay are shown on the way. The run is
/// ScenarioDemo's; the command chooses it, prints its lines and maps its outcome to a status.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the echo client and server of the embedded policy over labeled SAs, and watch the policy at work.",
        discussion: """
            The demo builds two hosts (network namespaces joined by veth when run as root, else loopback ports), installs the labeled SAs and SPD entries of its network (the salabel apply file in Sources/Scenario/ScenarioDemo/Resources/demo.yaml) with fresh keys, and runs the echo over them.

            It uses the kernel's data plane when the kernel has ESP and SELinux with the demo's domains, and the userspace one (ESP in UDP, RFC 3948) otherwise, and says which. Interrupted (SIGINT, SIGTERM), it removes what it made.

            Exit status: 0 when every path behaves as the policy intends, 1 when one does not, 2 when the demo cannot run.
            """)

    @Flag(help: "Use loopback ports even when network namespaces could be made (userspace data plane).") var loopback = false
    @Option(help: "auto (the kernel's when it can run the demo, else userspace), kernel or userspace.") var dataplane: Choice = .auto
    @Flag(help: "Print every check made, not only the AVC records.") var verbose = false
    @Flag(help: "Only list the association decisions behind the demo, asked of the engine alone.") var decisions = false
    @Flag(help: "With --decisions: JSON lines, one per decision.") var json = false

    enum Choice: String, ExpressibleByArgument, CaseIterable { case auto, kernel, userspace }

    func run() throws {
        do {
            if decisions { return try listDecisions() }
            let scenario = try DemoScenario.load()
            // A closed output (`salabel demo | head`) or an interrupt must not leave namespaces behind.
            DemoInterrupts.removeNamespacesOnSignal()
            let say: DemoOutput = { line in
                print(line)
                flushOutput()
            }
            let unavailable = dataplane == .userspace ? "--dataplane userspace was given" : KernelDataPlane.unavailableReason(scenario)
            let unexpected: Int
            if let unavailable {
                if dataplane == .kernel { throw DemoError("the kernel data plane cannot run the demo here: \(unavailable)") }
                let demo = try DemoRun.start(scenario: scenario, loopback: loopback, verbose: verbose, why: unavailable, say: say)
                defer { demo.finish() }
                unexpected = demo.play()
            } else {
                unexpected = try KernelDemo(scenario: scenario, say: say).play()
            }
            if unexpected > 0 {
                throw CommandFailure.denied("\(unexpected) path(s) did not behave as the embedded policy intends")
            }
        } catch let error as DemoError {
            throw CommandFailure.error("\(error)")
        }
    }

    /// `--decisions`: each decision as text or a JSON line; status 2 when one is not as intended.
    func listDecisions() throws {
        let decisions = try DemoDecisions.decide()
        if !json { print("salabel demo --decisions: association decisions of the embedded policy (in-process engine, enforcing)\n") }
        for (i, d) in decisions.enumerated() { print(json ? jsonText(d.json(number: i + 1)) : d.lines(number: i + 1).joined(separator: "\n")) }
        let unexpected = decisions.filter { !$0.asIntended }.count
        if unexpected > 0 {
            throw CommandFailure.error("\(unexpected) decision(s) differ from what the embedded policy is written to decide")
        }
        if !json { print("\nAll \(decisions.count) decisions are as the embedded policy intends (Specs/engine/default-policy.md).") }
    }
}
