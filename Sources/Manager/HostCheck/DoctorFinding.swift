/// One thing `salabel doctor` found: what was seen on the host and how to fix it, or (severity
/// ``Severity/note``) a fact worth knowing that needs no fix.
public struct DoctorFinding: Sendable, Hashable {
    /// Which check found it; the raw value is the id printed and in JSON.
    public enum Check: String, Sendable, Hashable, CaseIterable {
        case selinuxEnabled = "selinux-enabled"
        case selinuxEnforcing = "selinux-enforcing"
        case lsmOrder = "lsm-order"
        case xfrmHook = "xfrm-lsm-hook"
        case modules = "ipsec-modules"
        case peerControls = "network-peer-controls"
        case alwaysCheckNetwork = "always-check-network"
        case spdLabel = "spd-label"
        case staleSALabel = "stale-sa-label"
        case xfrmStat = "xfrm-stat"
        case netlabel = "netlabel"
        case libreswan = "libreswan"
        case hostState = "host-state"
        case applyFiles = "apply-files"
    }

    /// How much it matters.
    public enum Severity: String, Sendable, Hashable, Comparable {
        /// Labeled IPsec cannot work (or is not enforced) until it is fixed.
        case error
        /// Something works differently than the setup most likely expects, or packets were dropped.
        case warning
        /// A fact, no fix needed; not counted as a finding (exit status 0).
        case note

        private var rank: Int {
            switch self {
            case .error: 0
            case .warning: 1
            case .note: 2
            }
        }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var check: Check
    public var severity: Severity
    /// What was seen, in one sentence (the file or value read).
    public var seen: String
    /// What it means for labeled IPsec on this host.
    public var meaning: String
    /// What to do: the file, command or boot parameter; nil for a note.
    public var fix: String?
    /// The object concerned, when there are several of a kind (a module, a label, a counter).
    public var subject: String?

    public init(check: Check, severity: Severity, seen: String, meaning: String, fix: String?, subject: String? = nil) {
        self.check = check
        self.severity = severity
        self.seen = seen
        self.meaning = meaning
        self.fix = fix
        self.subject = subject
    }

    /// Whether it counts as a finding (exit status 1): an error or a warning.
    public var isFinding: Bool { severity != .note }

    /// The block printed for people: `error [id] subject: seen`, the meaning, `fix: …`.
    public var lines: [String] {
        let head = "\(severity.rawValue) [\(check.rawValue)]" + (subject.map { " \($0)" } ?? "") + ": " + seen
        return [head] + (meaning.isEmpty ? [] : ["  " + meaning]) + (fix.map { ["  fix: " + $0] } ?? [])
    }

    /// The same as a JSON object: `id`, `severity`, `subject` (when there is one), `seen`, `meaning`, `fix`.
    public var json: [String: Any] {
        var out: [String: Any] = ["id": check.rawValue, "severity": severity.rawValue, "seen": seen, "meaning": meaning]
        if let fix { out["fix"] = fix }
        if let subject { out["subject"] = subject }
        return out
    }
}
