public import Scenario

/// What the host asks the guest to run: each scenario file with its compiled policy (the
/// scenario's policy and the harness rules, `checkpolicy` output), and the policies its reload
/// steps load.
public struct GuestPlan: Codable, Sendable {
    /// One scenario of the run.
    public struct Entry: Codable, Sendable {
        /// The scenario's name on the host (the guest's copy has another file name).
        public var name: String
        /// The scenario file, in the guest.
        public var file: String
        /// The binary policy, in the guest.
        public var policy: String
        /// Every boolean of the policy with the value the scenario runs with. The kernel keeps
        /// boolean values across a policy reload (`security_preserve_bools`), so the runner sets
        /// them all, not only the scenario's.
        public var booleans: [String: Bool]
        /// The host this guest plays, for a scenario whose hosts have kernels of their own (one
        /// guest of a pair each); nil: every host, as namespaces of this kernel.
        public var host: String?
        /// The policies the scenario's reload steps load, each with the rules it was compiled from.
        public var reloads: [Reload]?

        /// An entry; `host` for one guest of a pair.
        public init(name: String, file: String, policy: String, booleans: [String: Bool], host: String? = nil, reloads: [Reload]? = nil) {
            self.name = name
            self.file = file
            self.policy = policy
            self.booleans = booleans
            self.host = host
            self.reloads = reloads
        }
    }

    /// The binary policy of a reload step (``ScenarioStep/Action/reload(_:)``), in the guest: the
    /// scenario's policy with the step's rules in place of its `policy_rules`, and the harness rules.
    public struct Reload: Codable, Sendable {
        /// The step's rules (nil: none), which the runner matches to find the step's policy.
        public var policyRules: String?
        /// The binary policy, in the guest.
        public var policy: String

        public init(policyRules: String?, policy: String) {
            self.policyRules = policyRules
            self.policy = policy
        }
    }

    /// Which guest of a pair this plan is for (`scripts/vm pair`): left leads, reports every
    /// step's outcome, and makes the keys both sides use.
    public enum Side: String, Codable, Sendable {
        case left, right
    }
    public var scenarios: [Entry]
    /// Seconds to wait after a step for the kernel's audit records (kauditd prints them
    /// asynchronously) and ACQUIREs.
    public var settle: Double
    /// Also write the harness's own diagnostics on standard error (`--verbose`): what the kernel
    /// logged while pluto started, and each pluto's log when it is stopped.
    public var verbose: Bool?
    /// Set for the guests of a pair: their scenarios' hosts have kernels of their own, and the two
    /// runners play each step together over the peer channel (``GuestRunner``, GuestRunner+Pair.swift).
    public var side: Side?

    /// A plan; `side` for a guest of a pair.
    public init(scenarios: [Entry], settle: Double, verbose: Bool? = nil, side: Side? = nil) {
        self.scenarios = scenarios
        self.settle = settle
        self.verbose = verbose
        self.side = side
    }
}

/// One line of the guest's report: `@@outcome {json}`.
public struct GuestReport: Codable, Sendable {
    public var scenario: String
    /// The step's index, or nil for a scenario that could not be prepared.
    public var step: Int?
    public var outcome: StepOutcome?
    public var error: String?
    public static let prefix = "@@outcome "
}
