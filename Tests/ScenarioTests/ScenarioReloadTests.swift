import Foundation
import Scenario
import SecurityContexts
import Testing

/// The `reload` step (Specs/scenarios/README.md, "Steps"): another policy loaded between steps,
/// parsed strictly, compiled when the model is made, and played with the kernel's rules for a
/// load (`security_load_policy`, Linux 6.1 and 6.12): booleans kept by name
/// (`security_preserve_bools`), SIDs kept, a label the new policy does not know judged as the
/// unlabeled context (`convert_context`, `sidtab_search`). policy-reload.yaml plays it against the
/// kernel.
struct ScenarioReloadTests {
    static let header = ScenarioStepTests.header

    @Test(arguments: [
        ("steps: [{ reload: yes }]", "steps[0].reload: expected { policy_rules: TEXT }"),
        ("steps: [{ reload: {} }]", "steps[0].reload.policy_rules: required"),
        ("steps: [{ reload: { policy_rules: [a] } }]", "steps[0].reload.policy_rules: expected policy statements as text"),
        ("steps: [{ reload: { policy_rules: '', policy: x.conf } }]", "steps[0].reload.policy: unknown field (expected policy_rules)"),
        ("steps: [{ reload: { policy_rules: '' }, host: a }]", "steps[0].host: the harness makes this change, as no actor on no host"),
        (
            "steps: [{ reload: { policy_rules: '' }, enforcing: true }]",
            "steps[0]: expected exactly one of xfrm, xfrm_expire, xfrm_migrate, tcp, udp, boolean, enforcing, reload; found enforcing, reload"
        ),
    ])
    func badReloadStepsSayWhereAndWhy(text: String, message: String) {
        ScenarioTests.expectRefused(Self.header + text, shown: text, message: message)
    }

    @Test func notOnKernelsOfTheirOwn() {
        let text = "steps: [{ reload: { policy_rules: '' } }]"
        ScenarioTests.expectRefused("kernels: per_host\n" + Self.header + text, shown: text, message: "steps[0].reload: not supported with kernels: per_host")
    }

    /// The parser has not seen the policies: the model compiles each reload's and names the step.
    @Test func aReloadPolicyThatDoesNotCompileIsNamedWithItsPath() throws {
        let s = try Scenario(
            yaml: Self.header + "steps: [{ enforcing: true }, { reload: { policy_rules: 'allow no_such_t self:file read;' } }]", file: "r.yaml")
        do {
            _ = try ScenarioModel(s)
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix("r: steps[1].reload.policy_rules: "), "\(error.description)")
            #expect(error.description.contains("no_such_t"), "\(error.description)")
        }
    }

    /// A boolean step names a boolean of the policy in force at that step.
    @Test func booleanStepsAreCheckedAgainstThePolicyInForce() throws {
        let reload = "{ reload: { policy_rules: 'bool extra_bool false;' } }"
        let after = try Scenario(yaml: Self.header + "steps: [\(reload), { boolean: { extra_bool: true } }]", file: "r.yaml")
        _ = try ScenarioModel(after)
        let before = try Scenario(yaml: Self.header + "steps: [{ boolean: { extra_bool: true } }, \(reload)]", file: "r.yaml")
        do {
            _ = try ScenarioModel(before)
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix("r: steps[0].boolean.extra_bool: the policy has no boolean extra_bool"), "\(error.description)")
        }
    }

    /// `security_preserve_bools` copies each boolean's value into the new policy by name; a boolean
    /// only the new policy has takes its default.
    @Test func booleansKeepTheirValuesAcrossAReload() throws {
        let s = try Scenario(
            yaml: Self.header
                + "steps: [{ boolean: { echo_allow_unlabeled: true } }, { reload: { policy_rules: 'bool extra_bool true;' } }]",
            file: "r.yaml")
        var model = try ScenarioModel(s)
        let outcomes = model.run()
        #expect(outcomes.map(\.result) == ["ok", "ok"])
        #expect(model.server.booleans == ["echo_allow_unlabeled": true, "extra_bool": true])
        #expect(model.booleansAtStart(of: "a") == ["echo_allow_unlabeled": false])
    }

    /// A label the new policy does not know keeps its SID and is judged, and printed in AVC
    /// records, as the unlabeled context; loading a policy that knows it again gives it back.
    /// Removing an SA checks setcontext on its label (edge 12 of Specs/kernel/labeled-ipsec.md):
    /// the manager's `domain` rule does not cover unlabeled_t. A socket of the lost domain cannot be
    /// made (policy-reload.yaml plays both on 6.1 and 6.12).
    @Test func aLabelTheNewPolicyDoesNotKnowIsJudgedUnlabeled() throws {
        let rules = "type gone_t, domain;"
        let sa = "state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x7 mode transport aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128"
        let yaml = """
            policy_rules: '\(rules)'
            actors: { m: "system_u:system_r:ipsec_mgmt_t:s0", g: "system_u:system_r:gone_t:s0" }
            hosts: { a: { address: 10.0.0.1, xfrm: ['\(sa) ctx "system_u:system_r:gone_t:s0"'] }, b: { address: 10.0.0.2 } }
            steps:
              - { reload: { policy_rules: '' } }
              - { xfrm: 'state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x7', host: a, as: m }
              - { xfrm: '\(sa) ctx "system_u:system_r:gone_t:s0"', host: a, as: m }
              - { udp: { from: b, to: a, port: 7, as: m, server_as: g } }
              - { reload: { policy_rules: '\(rules)' } }
              - { xfrm: 'state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x7', host: a, as: m }
            """
        var model = try ScenarioModel(try Scenario(yaml: yaml, file: "r.yaml"))
        let o = model.run()
        #expect(o.map(\.result) == ["ok", "EACCES", "EINVAL", "EINVAL", "ok", "ok"])
        // No socket of the lost domain: its context written to sockcreate is EINVAL.
        #expect(o[3].stage == "server sockcreate" && o[3].delivered == false && o[3].avc.isEmpty)
        #expect(
            o[1].avc == [
                AVCLine(
                    result: "denied", permissions: ["setcontext"], scontext: "system_u:system_r:ipsec_mgmt_t:s0",
                    tcontext: "system_u:object_r:unlabeled_t:s0", tclass: "association", permissive: false)
            ])
        #expect(o[0].notes.contains { $0.contains("system_u:system_r:gone_t:s0 became invalid (unmapped)") })
        // Known again: the manager's `domain` rule applies (and its auditallow records it).
        #expect(o[5].avc.map(\.tcontext) == ["system_u:system_r:gone_t:s0"])
    }
}
