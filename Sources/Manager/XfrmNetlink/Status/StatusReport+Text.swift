// The words of `salabel status`: a snapshot as lines, and one line per change with --watch.
// Specs/manager/status.md.

import IPsecModel
import Resolver
import XfrmManager

/// `0x0000c0de`: eight hex digits, as `ip xfrm` prints SPIs and sequence numbers.
func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

extension StatusLabel {
    /// `system_u:object_r:ipsec_spd_t:s0`, with ` (unknown to the policy: REASON)` when the policy does not know it.
    public var text: String {
        if case .unknown(let reason) = verdict { return "\(context) (unknown to the policy: \(reason))" }
        return context.description
    }
}

extension SAInstaller {
    /// `pluto (pid 812, netlink port 812)`, `before status started`, …
    public var text: String {
        switch self {
        case .beforeStatusStarted: "before status started (installer unknown)"
        case .process(let pid, let name, let port): "\(name) (pid \(pid), netlink port \(port))"
        case .portZero: "unknown (the request's netlink port id was 0)"
        case .portOnly(let port): "netlink port \(port) (no open socket has it)"
        }
    }
}

extension StatusReport {
    static func policyLines(_ p: PolicyEntry, _ label: StatusLabel?) -> [String] {
        var first = "\(p.isSocketPolicy ? "socket" : "dir") \(p.direction) \(XfrmFormatter.selectorText(p.selector)) priority \(p.priority) index \(p.index)"
        if p.action != .allow { first += " action \(p.action)" }
        var lines = [first]
        lines.append("    security context " + (label?.text ?? "none (unlabeled)"))
        for t in p.templates {
            lines.append("    tmpl \(t.proto) \(t.mode) src \(t.source) dst \(t.destination) reqid \(t.reqid)\(t.optional ? " level use" : "")")
        }
        return lines
    }

    static func saLines(_ sa: SecurityAssociation, _ label: StatusLabel?, installer: SAInstaller?) -> [String] {
        var lines = ["\(sa.proto) spi \(hex(sa.spi)) src \(sa.source) dst \(sa.destination) \(sa.mode) reqid \(sa.reqid)"]
        if sa.selector != TrafficSelector.any(sa.family) { lines.append("    sel \(XfrmFormatter.selectorText(sa.selector))") }
        lines.append("    security context " + (label?.text ?? "none (unlabeled)"))
        if let installer { lines.append("    installed by \(installer.text)") }
        return lines
    }

    static func acquireLines(_ a: AcquireEntry) -> [String] {
        var first = "\(a.acquire.proto) src \(a.acquire.source) dst \(a.acquire.destination) seq \(hex(a.acquire.sequence))"
        if let mode = a.acquire.mode { first += " \(mode)" }
        if let reqid = a.acquire.reqid { first += " reqid \(reqid)" }
        return [first, "    flow context " + (a.label?.text ?? "none (unlabeled SPD entry)")]
    }

    /// The snapshot for people: the mirror's status, the labeled SPD entries, the SAs, the pending
    /// ACQUIREs, and the labels the policy does not know.
    public var lines: [String] {
        var out = ["status: \(mirrorStatus)"]
        switch labelCheck {
        case .policy(let name): out.append("labels checked against \(name)")
        case .unchecked(let reason): out.append("labels not checked: \(reason)")
        }
        out.append("")
        out.append("SPD entries: \(policies.count) (\(policies.count - unlabeledPolicies) labeled)")
        for e in policies { out += Self.policyLines(e.policy, e.label).map { "  " + $0 } }
        out.append("SAs: \(sas.count)")
        for e in sas { out += Self.saLines(e.sa, e.label, installer: e.installer).map { "  " + $0 } }
        out.append("pending ACQUIREs: \(acquires.count)")
        for a in acquires { out += Self.acquireLines(a).map { "  " + $0 } }
        let unknown = unknownLabels
        if !unknown.isEmpty {
            out.append("labels unknown to the policy: \(unknown.count)")
            out += unknown.map { "  " + $0.text }
        }
        return out
    }
}

extension StatusChange {
    /// The kernel's message name of the change (`XFRM_MSG_NEWSA`, …), `ENOBUFS` for a loss, and
    /// `RESYNC` for a fresh dump.
    public var eventName: String {
        switch self {
        case .acquire: "XFRM_MSG_ACQUIRE"
        case .saAdded(_, let updated, _): updated ? "XFRM_MSG_UPDSA" : "XFRM_MSG_NEWSA"
        case .saDeleted: "XFRM_MSG_DELSA"
        case .saExpired: "XFRM_MSG_EXPIRE"
        case .policyAdded(_, _, let updated): updated ? "XFRM_MSG_UPDPOLICY" : "XFRM_MSG_NEWPOLICY"
        case .policyDeleted: "XFRM_MSG_DELPOLICY"
        case .policyExpired: "XFRM_MSG_POLEXPIRE"
        case .flushedSAs: "XFRM_MSG_FLUSHSA"
        case .flushedPolicies: "XFRM_MSG_FLUSHPOLICY"
        case .stale(let r): r == .overflow ? "ENOBUFS" : "STALE"
        case .resynchronized: "RESYNC"
        case .other(let t, _): t.description
        }
    }

    /// One line for people (the first word says what happened; no line breaks).
    public var line: String {
        func ctx(_ l: StatusLabel?) -> String { l.map { " ctx \($0.text)" } ?? " unlabeled" }
        func sa(_ s: SecurityAssociation) -> String { "\(s.proto) spi \(hex(s.spi)) \(s.source) -> \(s.destination) reqid \(s.reqid)" }
        func pol(_ p: PolicyEntry) -> String {
            "\(p.isSocketPolicy ? "socket" : "dir") \(p.direction) \(XfrmFormatter.selectorText(p.selector)) index \(p.index)"
        }
        switch self {
        case .acquire(let a):
            return "acquire \(a.acquire.proto) \(a.acquire.source) -> \(a.acquire.destination) seq \(hex(a.acquire.sequence)) flow"
                + ctx(a.label)
        case .saAdded(let e, let updated, let replaces):
            return "\(updated ? "sa-updated" : "sa-added") \(sa(e.sa))\(ctx(e.label)) by \(e.installer.text)"
                + (replaces.map { " (rekey of spi \(hex($0)))" } ?? "")
        case .saDeleted(let s, let l): return "sa-deleted \(sa(s))\(ctx(l))"
        case .saExpired(let s, let l, let hard) where s.spi == 0:
            // A larval SA's hard expiry: its ACQUIRE went unanswered (net.core.xfrm_acq_expires).
            return "acquire-expired \(s.proto) \(s.source) -> \(s.destination) flow\(ctx(l))\(hard ? "" : " (soft)")"
        case .saExpired(let s, let l, let hard):
            return hard ? "sa-expired hard \(sa(s))\(ctx(l)) (removed)" : "sa-expired soft \(sa(s))\(ctx(l)) (rekey due)"
        case .policyAdded(let p, let l, let updated): return "\(updated ? "policy-updated" : "policy-added") \(pol(p))\(ctx(l))"
        case .policyDeleted(let p, let l): return "policy-deleted \(pol(p))\(ctx(l))"
        case .policyExpired(let p, let l, let hard): return "policy-expired \(hard ? "hard" : "soft") \(pol(p))\(ctx(l))"
        case .flushedSAs(let proto): return "sas-flushed proto \(proto)"
        case .flushedPolicies: return "policies-flushed"
        case .stale(let r): return "stale: \(r); resynchronizing (a fresh dump follows)"
        case .resynchronized(let after, let sas, let policies):
            return "resynchronized" + (after.map { " after \($0)" } ?? "") + ": \(sas) SAs, \(policies) SPD entries"
        case .other(let t, let why): return "other \(t): \(why)"
        }
    }
}
