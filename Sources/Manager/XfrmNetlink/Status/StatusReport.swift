// `salabel status`: the live mirror (MirrorSync) as a report for people and scripts. The values and
// their wording are here, without I/O; StatusWatch carries them from a kernel (Specs/manager/status.md).

public import IPsecModel
public import Resolver
public import SecurityContexts

/// Whether a label is one the policy knows (the engine's `SecurityServer.validate`).
public enum StatusLabelVerdict: Sendable, Hashable {
    /// The policy resolves it: its user, role, type and MLS range are defined and compatible.
    case known
    /// The policy does not know it (the engine's reason: an undefined type, an MLS range beyond the
    /// user's, …).
    case unknown(reason: String)
    /// Not checked: no policy (``StatusLabelCheck/unchecked(reason:)`` says why).
    case unchecked
}

/// Whether the labels of a report were checked against a policy.
public enum StatusLabelCheck: Sendable, Hashable {
    /// Checked against this policy (its description: `running (/sys/fs/selinux/policy, …)`).
    case policy(String)
    /// Not checked, and why (SELinux not enabled and no `--policy`; the policy could not be loaded).
    case unchecked(reason: String)
}

/// A security context in a report, with the policy's verdict on it.
public struct StatusLabel: Sendable, Hashable {
    public var context: SecurityContext
    public var verdict: StatusLabelVerdict

    public init(_ context: SecurityContext, verdict: StatusLabelVerdict = .unchecked) {
        self.context = context
        self.verdict = verdict
    }
}

/// What is known of who installed an SA: the port id in its `XFRM_MSG_NEWSA` (or `UPDSA`)
/// notification — the kernel copies it from the request's own header (`xfrm_add_sa`:
/// `c.portid = nlh->nlmsg_pid`), as the requester wrote it, unchecked — and the process that owned a
/// `NETLINK_XFRM` socket bound to that port when the notification was read (/proc/net/netlink, then
/// /proc/PID/fd).
public enum SAInstaller: Sendable, Hashable {
    /// The SA was in the first dump: it was installed before `status` started, by whom is not known.
    case beforeStatusStarted
    /// The sending socket's owner, found through /proc while the socket was still open.
    case process(pid: Int32, name: String, portID: UInt32)
    /// Port id 0: the requester left `nlmsg_pid` 0 in its request (iproute2 does), so the
    /// notification names no sender.
    case portZero
    /// No open `NETLINK_XFRM` socket is bound to the port id (the requester closed it first, or wrote
    /// a port id that is not its socket's), or its owner could not be read: only the port id is known.
    case portOnly(portID: UInt32)
}

/// One snapshot of the SAD and SPD as `salabel status` shows it.
public struct StatusReport: Sendable {
    /// An SPD entry and its label (nil: unlabeled, it matches flows of every context).
    public struct SPDEntry: Sendable, Hashable {
        public var policy: PolicyEntry
        public var label: StatusLabel?
    }

    /// An SA (labeled or not) and who installed it, as far as is known.
    public struct SAEntry: Sendable, Hashable {
        public var sa: SecurityAssociation
        public var label: StatusLabel?
        public var installer: SAInstaller
    }

    /// An ACQUIRE not yet resolved: seen as an `XFRM_MSG_ACQUIRE` while watching, or a larval SA
    /// (SPI 0, the kernel's `XFRM_STATE_ACQ`) in the dump.
    public struct AcquireEntry: Sendable, Hashable {
        public var acquire: PendingAcquire
        /// The flow's context the ACQUIRE carried (labeled SPD entries only).
        public var label: StatusLabel?
    }

    /// Whether the mirror the report was made from is current.
    public var mirrorStatus: MirrorSync.Status
    /// The SPD entries, labeled or not, in the kernel's order.
    public var policies: [SPDEntry]
    /// How many of them carry no label.
    public var unlabeledPolicies: Int
    /// The installed SAs (larval ones are ``acquires``).
    public var sas: [SAEntry]
    public var acquires: [AcquireEntry]
    public var labelCheck: StatusLabelCheck

    /// A report of `mirror`.
    ///
    /// - Parameters:
    ///   - mirror: the SAD, SPD and pending ACQUIREs to report.
    ///   - status: whether the mirror is synchronized with the kernel.
    ///   - installers: who installed each SA seen arrive (by SAD key); an SA not in it was there
    ///     before (``SAInstaller/beforeStatusStarted``).
    ///   - labelCheck: whether labels were checked, and against what.
    ///   - verdict: the policy's verdict on a label (`.unchecked` without a policy).
    public init(
        mirror: XfrmMirror, status: MirrorSync.Status, installers: [SADKey: SAInstaller] = [:],
        labelCheck: StatusLabelCheck = .unchecked(reason: "no policy"),
        verdict: (SecurityContext) -> StatusLabelVerdict = { _ in .unchecked }
    ) {
        func label(_ c: SecurityContext?) -> StatusLabel? { c.map { StatusLabel($0, verdict: verdict($0)) } }
        mirrorStatus = status
        self.labelCheck = labelCheck
        policies = mirror.policies.map { SPDEntry(policy: $0, label: label($0.securityContext)) }
        unlabeledPolicies = mirror.policies.count(where: { $0.securityContext == nil })
        var sas: [SAEntry] = []
        var acquires = mirror.acquires.map { AcquireEntry(acquire: $0, label: label($0.label)) }
        for sa in mirror.sas {
            if sa.spi == 0 {
                // A larval SA (dumped while its ACQUIRE is pending) carries the flow's label
                // (xfrm_state_find → security_xfrm_state_alloc_acquire); one already seen as an
                // ACQUIRE event is not listed twice.
                guard !acquires.contains(where: { $0.acquire.source == sa.source && $0.acquire.destination == sa.destination && $0.acquire.proto == sa.proto })
                else { continue }
                acquires.append(
                    AcquireEntry(
                        acquire: PendingAcquire(
                            source: sa.source, destination: sa.destination, proto: sa.proto, mode: sa.mode, reqid: sa.reqid,
                            label: sa.securityContext, sequence: sa.sequence),
                        label: label(sa.securityContext)))
                continue
            }
            sas.append(SAEntry(sa: sa, label: label(sa.securityContext), installer: installers[SADKey(sa)] ?? .beforeStatusStarted))
        }
        self.sas = sas
        self.acquires = acquires
    }

    /// Labels the policy does not know, each once, in order of appearance.
    public var unknownLabels: [StatusLabel] {
        var seen = Set<SecurityContext>()
        let all = policies.compactMap(\.label) + sas.compactMap(\.label) + acquires.compactMap(\.label)
        return all.filter { if case .unknown = $0.verdict { return seen.insert($0.context).inserted } else { return false } }
    }
}
