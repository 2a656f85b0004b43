import LinuxSystem
import Scenario

extension GuestRunner {
    /// Where the guest's `netlabelctl` is (Debian netlabel-tools, copied in by the kernel run for a
    /// scenario with `netlabel:` lines).
    static let netlabelctl = "/usr/sbin/netlabelctl"

    /// Runs the scenario's `netlabel:` lines, in order, as the harness in the first namespace:
    /// NetLabel's generic netlink family serves `init_net` only, and its tables serve every
    /// namespace of the kernel (Specs/scenarios/README.md, "NetLabel"). A line `netlabelctl`
    /// refuses is the scenario's setup error.
    func applyNetLabel(_ scenario: Scenario) throws {
        for command in scenario.netLabel {
            let run = ChildProcess.run([Self.netlabelctl] + command.arguments)
            guard run.status == 0 else { throw ScenarioKernelError("netlabelctl \(command.line): exit \(run.status): \(run.output)") }
        }
    }

    /// Brings NetLabel back to the boot's tables after a scenario (``NetLabelCommand/reset(after:)``),
    /// so that no mapping, DOI or static label, and no peer checks they turn on (edge 26 of
    /// Specs/kernel/labeled-ipsec.md), outlive it. Failures are reported, not thrown.
    func resetNetLabel(_ scenario: Scenario) {
        guard !scenario.netLabel.isEmpty else { return }
        for arguments in NetLabelCommand.reset(after: scenario.netLabel) {
            let run = ChildProcess.run([Self.netlabelctl] + arguments)
            if run.status != 0 { diagnose("\(scenario.name): netlabelctl \(arguments.joined(separator: " ")): exit \(run.status): \(run.output)") }
        }
    }
}
