public import DecisionEngine
import Foundation

extension Scenario {
    /// The domain the kernel runner itself runs in (Specs/scenarios/README.md, "The kernel run"):
    /// declared only in the policy the VM loads, permissive, in no attribute, named by no rule of
    /// the scenario, so that it changes no decision the scenario is about.
    public static let harnessType = "salabel_harness_t"

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

    /// The policy.conf text the scenario runs under: its policy with `policy_rules` (and, for the
    /// VM's kernel, ``harnessRules(fileType:kernelType:)``) inserted before the first `user` statement, where the policy
    /// language's type-enforcement part ends. `file` names the result in errors.
    /// `harnessTypes` are the types of the policy's `file` and `kernel` initial SIDs, for
    /// ``harnessRules(fileType:kernelType:)``.
    public func policyText(harness: Bool = false, harnessTypes: (file: String, kernel: String) = ("unlabeled_t", "kernel_t")) throws(PolicyLoadError) -> (
        text: String, file: String
    ) {
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
        var added: [String] = []
        if let policyRules { added.append("# policy_rules of scenario \(name)\n" + policyRules) }
        if harness { added.append(Self.harnessRules(fileType: harnessTypes.file, kernelType: harnessTypes.kernel)) }
        guard !added.isEmpty else { return (base, file) }
        var lines = base.components(separatedBy: "\n")
        guard let at = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("user ") }) else {
            throw .io("\(file): no `user` statement to insert the scenario's rules before")
        }
        lines.insert(contentsOf: added.joined(separator: "\n").components(separatedBy: "\n"), at: at)
        return (lines.joined(separator: "\n"), "\(file) + \(name) policy_rules")
    }
}
