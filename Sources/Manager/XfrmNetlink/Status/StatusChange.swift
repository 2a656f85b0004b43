// One change `salabel status --watch` reports: a kernel notification typed for the status view, or
// a fact about the mirror itself (synchronized, stale, resynchronized). Specs/manager/status.md.

public import IPsecModel
public import Resolver
public import SecurityContexts
import XfrmManager
public import XfrmWire

/// A change of the SAD, the SPD or the mirror, as `salabel status --watch` reports it.
public enum StatusChange: Sendable {
    /// `XFRM_MSG_ACQUIRE`: the kernel needs an SA for a flow; `label` is the flow's context.
    case acquire(StatusReport.AcquireEntry)
    /// `XFRM_MSG_NEWSA` (or `UPDSA`: `updated`); `replaces` is the SPI of an installed SA with the
    /// same endpoints, protocol, reqid and label, which this one is the rekey of.
    case saAdded(StatusReport.SAEntry, updated: Bool, replaces: UInt32?)
    /// `XFRM_MSG_DELSA`.
    case saDeleted(SecurityAssociation, label: StatusLabel?)
    /// `XFRM_MSG_EXPIRE`: soft (a rekey is due; the SA stays) or hard (the SA is gone).
    case saExpired(SecurityAssociation, label: StatusLabel?, hard: Bool)
    /// `XFRM_MSG_NEWPOLICY`/`UPDPOLICY`/`DELPOLICY`/`POLEXPIRE` (hard: removed).
    case policyAdded(PolicyEntry, label: StatusLabel?, updated: Bool)
    case policyDeleted(PolicyEntry, label: StatusLabel?)
    case policyExpired(PolicyEntry, label: StatusLabel?, hard: Bool)
    /// `XFRM_MSG_FLUSHSA` (the protocol) and `XFRM_MSG_FLUSHPOLICY`.
    case flushedSAs(IPsecProtocol)
    case flushedPolicies
    /// The mirror is known to miss changes (ENOBUFS, …): what is shown is not current until
    /// ``resynchronized(after:sas:policies:)``.
    case stale(MirrorSync.StaleReason)
    /// A fresh dump replaced the mirror after a loss.
    case resynchronized(after: MirrorSync.StaleReason?, sas: Int, policies: Int)
    /// A notification of another type (kept, not dropped).
    case other(XfrmMessageType, String)

    /// The change a notification makes, given the mirror before it.
    ///
    /// - Parameters:
    ///   - event: the notification.
    ///   - mirror: the mirror before the notification (where a deleted or expired SA's label is).
    ///   - installer: who sent a NEWSA/UPDSA (``SAInstaller``).
    ///   - verdict: the policy's verdict on a label.
    public init(
        _ event: XfrmEvent, before mirror: XfrmMirror, installer: SAInstaller,
        verdict: (SecurityContext) -> StatusLabelVerdict = { _ in .unchecked }
    ) {
        func label(_ c: SecurityContext?) -> StatusLabel? { c.map { StatusLabel($0, verdict: verdict($0)) } }
        // An EXPIRE carries the SA's id and lifetimes but no XFRMA_SEC_CTX (xfrm_user.c, build_expire):
        // the label is the mirror's, from when the SA was added.
        func mirrored(_ sa: SecurityAssociation) -> SecurityAssociation {
            guard sa.securityContext == nil, let known = mirror.sas.first(where: { SADKey($0) == SADKey(sa) }) else { return sa }
            var filled = sa
            filled.securityContext = known.securityContext
            return filled
        }
        switch event {
        case .sa(let type, let sa):
            if type == .delSA {
                let sa = mirrored(sa)
                self = .saDeleted(sa, label: label(sa.securityContext))
            } else {
                let old = mirror.sas.first {
                    $0.spi != sa.spi && $0.spi != 0 && $0.source == sa.source && $0.destination == sa.destination && $0.proto == sa.proto
                        && $0.reqid == sa.reqid && $0.securityContext == sa.securityContext
                }
                self = .saAdded(
                    StatusReport.SAEntry(sa: sa, label: label(sa.securityContext), installer: installer), updated: type == .updSA,
                    replaces: old?.spi)
            }
        case .policy(let type, let p):
            self =
                type == .delPolicy
                ? .policyDeleted(p, label: label(p.securityContext)) : .policyAdded(p, label: label(p.securityContext), updated: type == .updPolicy)
        case .acquire(let src, let dst, let proto, let seq, _, let policy, let ctx):
            let t = policy?.templates.first { $0.proto == proto }
            let pending = PendingAcquire(source: src, destination: dst, proto: proto, mode: t?.mode, reqid: t?.reqid, label: ctx?.context, sequence: seq)
            self = .acquire(StatusReport.AcquireEntry(acquire: pending, label: label(ctx?.context)))
        case .expire(let expired, let hard):
            let sa = mirrored(expired)
            self = .saExpired(sa, label: label(sa.securityContext), hard: hard)
        case .policyExpire(let p, let hard): self = .policyExpired(p, label: label(p.securityContext), hard: hard)
        case .flushSA(let proto): self = .flushedSAs(proto)
        case .flushPolicy: self = .flushedPolicies
        case .overflow: self = .stale(.overflow)
        case .other(let type, let why): self = .other(type, why)
        }
    }
}
