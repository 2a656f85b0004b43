import Scenario
import Testing

/// `policy_capabilities:` (Specs/scenarios/README.md): the `policycap` statements a scenario adds
/// to or removes from its policy, in the model's policy and in the text the kernel run compiles,
/// for every host and every reload. compat-checks.yaml, gateway-no-peer-controls.yaml and
/// gateway-always-check.yaml play them against the kernel.
struct ScenarioCapabilitiesTests {
    static let header = ScenarioStepTests.header

    @Test(arguments: [
        ("policy_capabilities: [network_peer_controls]", "policy_capabilities: expected a mapping of policy capability names to true/false"),
        ("policy_capabilities: { network_peer_control: false }", "policy_capabilities.network_peer_control: not a policy capability the kernel knows"),
        ("policy_capabilities: { always_check_network: yes please }", "policy_capabilities.always_check_network: expected true (add"),
        ("policy_capabilities: { open_perms: 1 }", "policy_capabilities.open_perms: expected true (add `policycap open_perms;`) or false"),
    ])
    func badCapabilitiesSayWhereAndWhy(text: String, message: String) {
        ScenarioTests.expectRefused(text + "\n" + Self.header, shown: text, message: message)
    }

    /// The embedded policy declares network_peer_controls and not always_check_network.
    @Test func theEmbeddedPolicyWithoutAndWithThem() throws {
        let plain = try Scenario(yaml: Self.header)
        #expect(try plain.securityServer().policy.hasCapability("network_peer_controls"))
        #expect(try !plain.securityServer().policy.hasCapability("always_check_network"))
        let s = try Scenario(yaml: "policy_capabilities: { network_peer_controls: false, always_check_network: true }\n" + Self.header)
        let policy = try s.securityServer().policy
        #expect(!policy.hasCapability("network_peer_controls"))
        #expect(policy.hasCapability("always_check_network"))
        #expect(policy.hasCapability("open_perms"), "a capability the scenario does not name stays")
        // The kernel run's text (with the harness rules) says the same.
        let (vm, _) = try s.policyText(harness: true)
        #expect(!vm.contains("\npolicycap network_peer_controls;"))
        #expect(vm.contains("\npolicycap always_check_network;"))
    }

    /// Naming a capability the policy already has, with true, declares it once.
    @Test func aCapabilityAlreadyThereIsDeclaredOnce() throws {
        let s = try Scenario(yaml: "policy_capabilities: { network_peer_controls: true }\n" + Self.header)
        let (text, _) = try s.policyText()
        #expect(text.components(separatedBy: "\npolicycap network_peer_controls;").count == 2)
        #expect(try s.securityServer().policy.hasCapability("network_peer_controls"))
    }

    @Test func aReloadKeepsThem() throws {
        let s = try Scenario(
            yaml: "policy_capabilities: { network_peer_controls: false }\n" + Self.header + "steps: [{ reload: { policy_rules: '' } }]")
        let model = try ScenarioModel(s)
        guard case .reload(let r) = s.steps[0].action else {
            Issue.record("not a reload step")
            return
        }
        #expect(!model.server.policy.hasCapability("network_peer_controls"))
        #expect(model.policy(of: r)?.hasCapability("network_peer_controls") == false)
        #expect(try !s.reloaded(r).policyText(harness: true).text.contains("\npolicycap network_peer_controls;"))
    }

    @Test func hostsOnKernelsOfTheirOwnTakeTheScenarios() throws {
        let s = try Scenario(
            yaml: """
                kernels: per_host
                policy_capabilities: { always_check_network: true }
                hosts:
                  a: { address: 10.0.0.1, policy_rules: "type a_only_t;" }
                  b: { address: 10.0.0.2 }
                """)
        let model = try ScenarioModel(s)
        #expect(model.server(of: "a").policy.hasCapability("always_check_network"))
        #expect(model.server(of: "b").policy.hasCapability("always_check_network"))
    }
}
