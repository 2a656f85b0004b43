import Foundation
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

    /// A reload step: the harness writes the step's binary policy to `/sys/fs/selinux/load` in one
    /// write (`sel_write_load` → `security_load_policy`, as `load_policy` does). The kernel keeps the
    /// booleans' values (`security_preserve_bools`), converts the SID table and resets the access
    /// vector cache; its own check (`security { load_policy }`) is the harness's, not the step's.
    func loadPolicy(_ r: ScenarioStep.PolicyReload, _ reloads: [GuestPlan.Reload]) -> StepOutcome {
        guard let policy = reloads.first(where: { $0.policyRules == r.policyRules })?.policy else {
            return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["the plan has no policy for this reload step"])
        }
        guard let bytes = FileManager.default.contents(atPath: policy) else {
            return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["cannot read \(policy)"])
        }
        do { try write(Array(bytes), to: "/sys/fs/selinux/load") } catch {
            return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["load_policy: \(error)"])
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
