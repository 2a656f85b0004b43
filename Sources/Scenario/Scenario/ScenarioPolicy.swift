public import DecisionEngine
import Foundation

extension Scenario {
    /// The domain the kernel runner itself runs in (Specs/scenarios/README.md, "The kernel run"):
    /// declared only in the policy the VM loads, permissive, in no attribute of the scenario's
    /// policy (only in ``harnessAnyAttribute``, which the IKE daemons' harness rules alone name),
    /// named by no rule of the scenario, so that it changes no decision the scenario is about.
    public static let harnessType = "salabel_harness_t"

    /// The attribute of every type of the VM's policy, the target of the IKE daemons' harness rules
    /// (``ikeDaemonRules(daemonTypes:types:classes:)``).
    public static let harnessAnyAttribute = "salabel_harness_any"

    /// The classes of labeled networking, which the IKE daemons' harness rules leave to the
    /// scenario's policy: what pluto's domain may do there is what a scenario is about.
    public static let labeledNetworkingClasses: Set<String> = ["association", "peer", "packet", "netif", "node"]

    /// The statements the kernel runner adds to a scenario's policy: its domain, and a
    /// `type_transition` so that the files it creates (`/run/netns/…` on the guest's unlabeled
    /// tmpfs) carry its own type; otherwise each new file's `filesystem { associate }`, whose
    /// subject is the file's label, would be enforced. One rule has another source: the kernel's
    /// own threads (the `kernel` initial SID's type) may fork, since kthreadd starts workers for
    /// the xfrm and crypto code whenever it needs them, and a scenario's policy rarely says so;
    /// no scenario is about that permission.
    public static func harnessRules(fileType: String, kernelType: String) -> String {
        """
        # salabel scenario harness (kernel runs only): the runner's own domain.
        type \(harnessType);
        role system_r types \(harnessType);
        permissive \(harnessType);
        type_transition \(harnessType) \(fileType):{ dir file lnk_file sock_file fifo_file } \(harnessType);
        # The kernel's threads start workers.
        allow \(kernelType) self:process fork;
        """
    }

    /// The harness rules for the domains pluto runs in (`ike_daemon`, VM policy only): pluto needs
    /// files, its sockets, capabilities, selinuxfs (`security compute_av`), signals, keys, netlink
    /// … that no scenario is about. Every type of the policy (`types`, and the harness's own, whose
    /// files and descriptors pluto meets) joins ``harnessAnyAttribute``, and each daemon type may
    /// do everything to it in every class of `classes` except ``labeledNetworkingClasses``
    /// (`setcontext` on SA labels, the peer checks on IKE's own packets, `netif`/`node` stay the
    /// scenario's rules). `checkpolicy` takes no `*` or `~` type set in an `allow` rule, hence the
    /// attribute.
    public static func ikeDaemonRules(daemonTypes: [String], types: [String], classes: [String]) -> String {
        let members = Set(types + [harnessType]).sorted()
        let allowed = classes.filter { !labeledNetworkingClasses.contains($0) }
        var lines = [
            "# salabel scenario harness (kernel runs only): what pluto needs besides labeled networking.",
            "attribute \(harnessAnyAttribute);",
        ]
        lines += members.map { "typeattribute \($0) \(harnessAnyAttribute);" }
        lines += Set(daemonTypes).sorted().map { "allow \($0) \(harnessAnyAttribute):{ \(allowed.joined(separator: " ")) } *;" }
        return lines.joined(separator: "\n")
    }

    /// The policy.conf text the scenario runs under: its policy with `policy_rules` (and, for the
    /// VM's kernel, ``harnessRules(fileType:kernelType:)`` and, when the scenario ``usesIKE``,
    /// ``ikeDaemonRules(daemonTypes:types:classes:)`` over the types and classes of `compiled`,
    /// the scenario's policy as compiled without the harness, compiled here when nil) inserted
    /// before the first `user` statement, where the policy language's type-enforcement part ends.
    /// `file` names the result in errors. `harnessTypes` are the types of the policy's `file` and
    /// `kernel` initial SIDs, for ``harnessRules(fileType:kernelType:)``. With `host`, the host's
    /// own `policy_rules` follow the scenario's (hosts on kernels of their own). The scenario's
    /// `policy_capabilities` are applied first (their `policycap` statements removed or added), for every host.
    public func policyText(
        host: String? = nil, harness: Bool = false, harnessTypes: (file: String, kernel: String) = ("unlabeled_t", "kernel_t"),
        compiled: PolicyDB? = nil
    ) throws(PolicyLoadError) -> (text: String, file: String) {
        let base: String, file: String
        switch policy {
        case .embedded:
            base = String(decoding: EmbeddedPolicy.bytes, as: UTF8.self)
            file = EmbeddedPolicy.fileName
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw .io("cannot read policy file \(path)") }
            base = String(decoding: data, as: UTF8.self)
            file = path
        }
        let capabilities = applyingCapabilities(to: base)
        var added: [String] = []
        if let rules = capabilities.added { added.append(rules) }
        if let policyRules { added.append("# policy_rules of scenario \(name)\n" + policyRules) }
        if let host, let rules = hostPolicies[host]?.rules { added.append("# policy_rules of host \(host) of scenario \(name)\n" + rules) }
        if harness { added.append(Self.harnessRules(fileType: harnessTypes.file, kernelType: harnessTypes.kernel)) }
        if harness && usesIKE {
            let db: PolicyDB
            if let compiled {
                db = compiled
            } else if let host {
                db = try securityServer(host: host).policy
            } else {
                db = try securityServer().policy
            }
            added.append(
                Self.ikeDaemonRules(
                    daemonTypes: ikeDaemons.values.map(\.type),
                    types: db.types.filter { !$0.isAttribute }.map(\.name),
                    classes: db.classes.filter { $0.isDefined && $0.allPermissions != 0 }.map(\.name)))
        }
        guard !added.isEmpty else { return (capabilities.text, file) }
        guard let text = PolicyConfRules.adding(added.joined(separator: "\n"), to: capabilities.text) else {
            throw .io("\(file): no `user` statement to insert the scenario's rules before")
        }
        return (text, "\(file) + \(name) policy_rules")
    }
}
