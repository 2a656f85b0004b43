public import DecisionEngine
import XfrmManager

// Hosts on kernels of their own (Specs/scenarios/README.md, "Hosts on kernels of their own"): each
// host a separate kernel, with its own policy, mode, access vector cache and count of labeled xfrm
// objects, as two machines are; the kernel run plays such a scenario on two VMs.

extension Scenario {
    /// Where a scenario's hosts run (`kernels:`).
    public enum Kernels: String, Sendable, Hashable {
        /// Network namespaces of one kernel: one policy, one AVC, one count of labeled xfrm objects
        /// (Specs/kernel/labeled-ipsec.md, edge 26). The default.
        case shared
        /// Each host a kernel of its own (two hosts, two VMs in the kernel run), with its own
        /// policy: the scenario's, plus the host's `policy_rules`, in the host's mode.
        case perHost = "per_host"
    }

    /// What one host's kernel adds to the scenario's policy and mode (``Kernels/perHost`` only).
    public struct HostPolicy: Sendable, Hashable {
        /// Policy statements added on this host only, after the scenario's `policy_rules`.
        public var rules: String?
        /// The host's mode; nil: the scenario's `enforcing`.
        public var enforcing: Bool?

        /// A host's additions: `rules` after the scenario's `policy_rules`, and its own mode.
        public init(rules: String? = nil, enforcing: Bool? = nil) {
            self.rules = rules
            self.enforcing = enforcing
        }
    }

    /// Reads `kernels:` and the hosts' `policy_rules` and `enforcing`, which only hosts of their own
    /// kernel can have; such a scenario has two hosts (the kernel run's two VMs).
    static func kernels(
        _ top: [String: Any], layout: ApplyFile, fail: (String, String) -> Scenario.Error
    ) throws(Scenario.Error) -> (Kernels, [String: HostPolicy]) {
        let kernels: Kernels
        switch top["kernels"] {
        case nil: kernels = .shared
        case let k as String:
            guard let value = Kernels(rawValue: k) else { throw fail("kernels", "expected shared or per_host, got \(k)") }
            kernels = value
        default: throw fail("kernels", "expected shared or per_host")
        }
        var policies: [String: HostPolicy] = [:]
        let hosts = top["hosts"] as? [String: Any] ?? [:]
        for name in hosts.keys.sorted() {
            guard let fields = hosts[name] as? [String: Any] else { continue }
            var own = HostPolicy()
            switch fields["policy_rules"] {
            case nil: break
            case let r as String: own.rules = r
            default: throw fail("hosts.\(name).policy_rules", "expected policy statements as text (a YAML block: policy_rules: |)")
            }
            switch fields["enforcing"] {
            case nil: break
            case let b as Bool: own.enforcing = b
            default: throw fail("hosts.\(name).enforcing", "expected true or false")
            }
            guard own != HostPolicy() else { continue }
            if kernels == .shared {
                let field = own.rules != nil ? "policy_rules" : "enforcing"
                throw fail(
                    "hosts.\(name).\(field)",
                    "namespaces of one kernel share its policy and mode: a host's own \(field) needs `kernels: per_host`")
            }
            policies[name] = own
        }
        if kernels == .perHost && layout.hosts.count != 2 {
            throw fail("kernels", "per_host scenarios have two hosts (the kernel run's two VMs); this one has \(layout.hosts.count)")
        }
        return (kernels, policies)
    }

    /// Each expected AVC line names the kernel that writes it (`host=`) when the hosts have kernels
    /// of their own, and none when they share one; booleans and the mode change only in a
    /// scenario whose hosts share one kernel.
    func checkKernelNames(fail: (String, String) -> Scenario.Error) throws(Scenario.Error) {
        for (i, step) in steps.enumerated() {
            // A change of the policy's state is a kernel's; the pair runner has no step that makes
            // it on one guest (Specs/scenarios/README.md, "Steps").
            switch (kernels, step.action) {
            case (.perHost, .booleans):
                throw fail("steps[\(i)].boolean", "not supported with kernels: per_host (a boolean step changes the one kernel the hosts share)")
            case (.perHost, .enforcing):
                throw fail("steps[\(i)].enforcing", "not supported with kernels: per_host (an enforcing step changes the one kernel the hosts share)")
            case (.perHost, .reload):
                throw fail("steps[\(i)].reload", "not supported with kernels: per_host (a reload step loads the one kernel's policy the hosts share)")
            default: break
            }
            for (j, line) in (step.expect.avc ?? []).enumerated() {
                let path = "steps[\(i)].expect.avc[\(j)]"
                switch (kernels, line.host) {
                case (.shared, let host?):
                    throw fail(path, "host=\(host): the hosts share one kernel, whose records name no host (or set `kernels: per_host`)")
                case (.perHost, nil):
                    throw fail(path, "name the kernel that writes the record: host=\(hosts.joined(separator: "|")) at the end")
                case (.perHost, let host?) where layout.hosts[host] == nil:
                    throw fail(path, "host=\(host): no such host (hosts: \(hosts.joined(separator: ", ")))")
                default: break
                }
            }
        }
    }

    /// The groups of hosts that share a kernel: every host together, or each alone.
    public var kernelGroups: [[String]] {
        kernels == .shared ? [hosts] : hosts.map { [$0] }
    }

    /// Whether `host` runs in enforcing mode: its own `enforcing`, else the scenario's.
    public func enforcing(host: String) -> Bool {
        hostPolicies[host]?.enforcing ?? enforcing
    }

    /// The security server of `host`'s kernel: the scenario's (``securityServer()``) when the hosts
    /// share one kernel; else its policy with the host's own rules, in the host's mode.
    public func securityServer(host: String) throws(PolicyLoadError) -> SecurityServer {
        guard kernels == .perHost, hostPolicies[host] != nil else { return try securityServer() }
        let (text, file) = try policyText(host: host)
        return try SecurityServer(policyText: text, file: file, enforcing: enforcing(host: host), booleans: booleans)
    }
}
