public import DecisionEngine
import SecurityContexts

/// The `reload` step (Specs/scenarios/README.md, "Steps"): another policy loaded under the
/// scenario's SAs and SPD entries. "edge N" here is edge N of Specs/kernel/labeled-ipsec.md §g.
extension Scenario {
    /// The scenario as it reads after `reload`: the same policy file, with the step's rules in
    /// place of its `policy_rules` (its booleans and mode unchanged: the kernel keeps the running
    /// values, not the file's).
    public func reloaded(_ reload: ScenarioStep.PolicyReload) -> Scenario {
        var s = self
        s.policyRules = reload.policyRules
        return s
    }

    /// Each reload step's policy, compiled (without the harness rules, as the model runs it), by
    /// the step's rules; a policy that does not compile is an error at `steps[N].reload.policy_rules`.
    func reloadPolicies() throws(Scenario.Error) -> [ScenarioStep.PolicyReload: PolicyDB] {
        var out: [ScenarioStep.PolicyReload: PolicyDB] = [:]
        for (i, step) in steps.enumerated() {
            guard case .reload(let r) = step.action, out[r] == nil else { continue }
            do { out[r] = try reloaded(r).securityServer().policy } catch {
                throw Scenario.Error(file: name, path: "steps[\(i)].reload.policy_rules", message: "\(error)")
            }
        }
        return out
    }

    /// Checks that every boolean step names booleans of the policy in force at that step: the
    /// scenario's, then each reload's.
    func checkBooleanSteps(_ initial: PolicyDB, reloads: [ScenarioStep.PolicyReload: PolicyDB]) throws(Scenario.Error) {
        var policy = initial
        for (i, step) in steps.enumerated() {
            switch step.action {
            case .reload(let r): policy = reloads[r] ?? policy
            case .booleans(let values):
                if let unknown = values.keys.sorted().first(where: { policy.boolIndex[$0] == nil }) {
                    let names = policy.bools.map(\.name).sorted().joined(separator: ", ")
                    throw Scenario.Error(
                        file: name, path: "steps[\(i)].boolean.\(unknown)",
                        message: "the policy has no boolean \(unknown) (its booleans: \(names.isEmpty ? "none" : names))")
                }
            default: break
            }
        }
    }
}

extension ScenarioModel {
    /// The policy a reload step loads (the model's own: no harness rules).
    public func policy(of reload: ScenarioStep.PolicyReload) -> PolicyDB? { reloadPolicies[reload] }

    /// A reload step: the harness writes the new policy to `/sys/fs/selinux/load` (`sel_write_load`
    /// → `security_load_policy`). As the kernel does it (security/selinux/ss/services.c, the same
    /// in 6.1 and 6.12):
    /// - every SID keeps its number: `convert_context` maps each context of the SID table into the
    ///   new policy by names; one whose user, role or type the new policy lacks, or which it does
    ///   not accept, keeps its SID with only its string (`context.len` set, "Context … became
    ///   invalid (unmapped)"), and `sidtab_search` then answers with the unlabeled initial SID's
    ///   entry: it is judged, and printed in AVC records, as the unlabeled context (edges 28, 29).
    ///   The SIDs that matter are those of the labels the hosts hold (SAs, SPD entries, larval
    ///   SAs), allocated when they were added (the model's SID table learns them here);
    /// - booleans the old policy also had keep their values (`security_preserve_bools`);
    /// - `selinux_notify_policy_change`: `avc_ss_reset` empties the access vector cache (every
    ///   cache over the server, through `SecurityServer.reload`), and
    ///   `selinux_xfrm_notify_policyload` bumps every namespace's route generation, so flows are
    ///   looked up again (the model looks every flow up anew at each step).
    /// The harness's own checks (`security { load_policy }`) are not the step's: no record.
    /// Not modelled: in permissive mode `convert_context_handle_invalid_context` keeps a context
    /// whose names all exist mapped even when the new policy finds it invalid (a role or level it
    /// no longer allows); the model unmaps it in both modes.
    mutating func reload(_ r: ScenarioStep.PolicyReload) -> StepOutcome {
        guard let db = reloadPolicies[r] else {
            return StepOutcome(result: "EINVAL", stage: "model", notes: ["load_policy: the step's policy was not compiled"])
        }
        var notes: [String] = []
        for group in scenario.kernelGroups {
            let server = servers[group[0]]!
            var unmapped: Set<String> = []
            for host in group {
                let kernel = kernels[host]!
                let labels =
                    kernel.sas.compactMap(\.securityContext) + kernel.policies.compactMap(\.securityContext)
                    + (acquires[host] ?? []).compactMap(\.label)
                for label in labels {
                    _ = try? server.sid(for: label)
                    if (try? db.resolve(label)) == nil { unmapped.insert(label.description) }
                }
            }
            do { try server.reload(db) } catch {
                return StepOutcome(result: "EINVAL", stage: "model", notes: ["load_policy: \(error)"])
            }
            notes.append("load_policy: the access vector cache is reset and flows are looked up again (selinux_notify_policy_change)")
            notes += unmapped.sorted().map { "SELinux: Context \($0) became invalid (unmapped): judged as the unlabeled context" }
        }
        return StepOutcome(result: "ok", notes: notes)
    }

    /// Whether `host`'s kernel refuses to label a socket with `context`: writing it to
    /// `/proc/thread-self/attr/sockcreate` parses it against the policy in force
    /// (`selinux_setprocattr` → `security_context_to_sid`), which does not look at the SID table, so
    /// a domain a reload took away is EINVAL even while labels of it live on (edge 8).
    func sockcreateRefuses(_ context: SecurityContext, on host: String) -> Bool {
        (try? servers[host]!.validate(context)) == nil
    }

    /// What a socket reads as its peer's label (getpeercon, `SCM_SECURITY`): the label's context in
    /// `host`'s kernel now, `security_sid_to_context` of its SID, which for a label the policy no
    /// longer knows is the unlabeled context (edge 29); the label as it is when it has no SID.
    func peerContext(_ label: SecurityContext?, on host: String) -> SecurityContext? {
        guard let label else { return nil }
        let server = servers[host]!
        guard let sid = try? server.sid(for: label), let c = server.context(of: sid) else { return label }
        return c
    }
}
