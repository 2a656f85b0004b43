public import DecisionEngine
public import SecurityContexts
public import XfrmManager

/// What the kernel will check when libreswan installs an association's SAs and when its flows look
/// up the SPD entry (Specs/kernel/labeled-ipsec.md, §a), asked of the engine before anything is
/// written:
/// - the IKE daemon's domain must be allowed `association setcontext` on every label it installs:
///   the SPD entry's (`sec-label=`) and each flow label its child SAs will carry (`context`,
///   `reply_context`);
/// - each flow's context must be allowed `association polmatch` on the SPD label, or its first packet
///   raises no ACQUIRE and nothing is negotiated for it.
public struct IKELabelCheck: Sendable, Hashable, CustomStringConvertible {
    /// Which of the two checks.
    public enum Kind: String, Sendable, Hashable {
        /// The daemon installs an SA or SPD entry with the label.
        case daemonSetcontext = "setcontext"
        /// A flow with the association's context uses the SPD entry.
        case flowPolmatch = "polmatch"
    }

    /// The association's name.
    public var association: String
    public var kind: Kind
    /// The engine's decision, with the AVC record the kernel would write on a denial.
    public var authorization: Authorization

    public var granted: Bool { authorization.granted }

    /// One line for people: what is checked, and for a denial what follows from it.
    public var description: String {
        let what: String
        switch kind {
        case .daemonSetcontext:
            what = "the IKE daemon (\(authorization.source)) may set the label \(authorization.target)"
        case .flowPolmatch:
            what = "flows labeled \(authorization.source) may use the SPD entry labeled \(authorization.target)"
        }
        guard !granted else { return "\(association): \(what): yes" }
        let consequence =
            kind == .daemonSetcontext
            ? "the kernel will refuse the SA or SPD entry libreswan installs with it"
            : "such a flow raises no ACQUIRE, and nothing is negotiated for it"
        return "warning: \(association): \(what): no (\(authorization.reason)); \(consequence)"
    }

    /// The audit record the kernel would write for a denial (none when the policy does not audit it),
    /// without `pid=` and `comm=`: the daemon's process is not known here.
    public var record: AuditRecord? { granted ? nil : authorization.record }
}

/// The checks of ``IKELabelCheck`` for one host's IKE associations.
public enum IKELabelChecks {
    /// The default context of the IKE daemon (libreswan's pluto under the reference policy).
    public static let defaultDaemonContext = "system_u:system_r:ipsec_t:s0"

    /// Every check for the associations of `file` keyed by IKE that `host` takes part in, in file
    /// order: the daemon's `setcontext` on each distinct label, then each flow context's `polmatch`.
    public static func check(
        _ file: ApplyFile, host: String, daemon: SecurityContext, authorizer: AssociationAuthorizer
    ) -> [IKELabelCheck] {
        var out: [IKELabelCheck] = []
        for a in file.associations where a.between.0 == host || a.between.1 == host {
            guard case .ike = a.keying, let spd = a.policyContext else { continue }
            var flows = [a.context]
            if let r = a.replyContext, r != a.context { flows.append(r) }
            var labels: [SecurityContext] = []
            for l in [spd] + flows where !labels.contains(l) { labels.append(l) }
            for l in labels {
                out.append(
                    IKELabelCheck(
                        association: a.name, kind: .daemonSetcontext,
                        authorization: authorizer.setcontext(subject: daemon, label: l)))
            }
            for f in flows {
                out.append(IKELabelCheck(association: a.name, kind: .flowPolmatch, authorization: authorizer.polmatch(flow: f, policyLabel: spd)))
            }
        }
        return out
    }
}
