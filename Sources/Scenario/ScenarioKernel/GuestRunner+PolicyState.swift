import Scenario

extension GuestRunner {
    /// A boolean step, as `setsebool` without `-P` makes it: each `/sys/fs/selinux/booleans/NAME`
    /// written with the pending value, then `commit_pending_bools` (`sel_commit_bools_write` →
    /// `security_set_bools`, which resets the access vector cache). The harness writes them: its
    /// own checks (`security { setbool }`) are not the step's.
    func setBooleans(_ values: [String: Bool]) -> StepOutcome {
        do {
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                try write(Array((value ? "1" : "0").utf8), to: "/sys/fs/selinux/booleans/\(name)")
            }
            try write(Array("1".utf8), to: "/sys/fs/selinux/commit_pending_bools")
        } catch {
            return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["\(error)"])
        }
        return StepOutcome(result: "ok")
    }

    /// An enforcing step: the harness writes `/sys/fs/selinux/enforce` (`sel_write_enforce`, which
    /// resets the access vector cache when the mode changes to enforcing, and does nothing when it
    /// does not change).
    func setEnforcing(_ on: Bool) -> StepOutcome {
        do { try write(Array((on ? "1" : "0").utf8), to: "/sys/fs/selinux/enforce") } catch {
            return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["\(error)"])
        }
        return StepOutcome(result: "ok")
    }
}
