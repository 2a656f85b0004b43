import Foundation
public import IPsecModel
public import XfrmManager
import LinuxSystem
import NetlinkProtocol
import NetlinkSocket
public import XfrmWire

/// One notification of the kernel's xfrm multicast groups, typed.
public enum XfrmEvent: Sendable {
    /// NEWSA, UPDSA, DELSA.
    case sa(XfrmMessageType, SecurityAssociation)
    /// NEWPOLICY, UPDPOLICY, DELPOLICY.
    case policy(XfrmMessageType, PolicyEntry)
    /// ACQUIRE: the kernel needs an SA for a flow; `label` is the flow's context (labeled policies only).
    case acquire(
        source: IPAddress, destination: IPAddress, proto: IPsecProtocol, sequence: UInt32, selector: TrafficSelector?,
        policy: PolicyEntry?, label: XfrmSecurityLabel?)
    /// EXPIRE, soft or hard.
    case expire(SecurityAssociation, hard: Bool)
    /// POLEXPIRE, soft or hard.
    case policyExpire(PolicyEntry, hard: Bool)
    /// FLUSHSA (with the protocol) or FLUSHPOLICY.
    case flushSA(IPsecProtocol)
    case flushPolicy
    /// The receive queue overflowed (`ENOBUFS`): notifications were lost. The monitor then dumps
    /// the tables afresh and reports what it found.
    case overflow(resynchronized: (sas: Int, policies: Int)?)
    /// Another message, or one that could not be decoded (kept, not dropped).
    case other(XfrmMessageType, String)

    /// A line (or lines) for people, close to `ip xfrm monitor`.
    public func text(showKeys: Bool = false) -> String {
        switch self {
        case .sa(let t, let sa):
            let verb = t == .delSA ? "Deleted " : t == .updSA ? "Updated " : ""
            return verb + XfrmFormatter.text(sa, showKeys: showKeys)
        case .policy(let t, let p):
            let verb = t == .delPolicy ? "Deleted " : t == .updPolicy ? "Updated " : ""
            return verb + XfrmFormatter.text(p)
        case .acquire(let src, let dst, let proto, let seq, let sel, let pol, let label):
            var lines = ["acquire proto \(proto)", "\tsrc \(src) dst \(dst)", "\tseq 0x\(String(seq, radix: 16))"]
            if let sel { lines.append("\tsel " + XfrmFormatter.selectorText(sel)) }
            if let label { lines.append("\tsecurity context \(label)") }
            if let pol { lines.append("\tpolicy dir \(pol.direction) index \(pol.index)" + (pol.securityContext.map { " ctx \($0)" } ?? "")) }
            return lines.joined(separator: "\n")
        case .expire(let sa, let hard):
            return "Expired \(hard ? "hard" : "soft")\n" + XfrmFormatter.text(sa, showKeys: showKeys)
        case .policyExpire(let p, let hard):
            return "Policy expired \(hard ? "hard" : "soft")\n" + XfrmFormatter.text(p)
        case .flushSA(let proto): return "Flushed state proto \(proto)"
        case .flushPolicy: return "Flushed policy"
        case .overflow(let r):
            return "overflow: the receive queue overran and notifications were lost"
                + (r.map { "; resynchronized: \($0.sas) SAs, \($0.policies) policies" } ?? "")
        case .other(let t, let why): return "\(t): \(why)"
        }
    }

    /// A JSON-ready dictionary (one per line with `--json`); `event` is the kernel's message name
    /// (`XFRM_MSG_NEWPOLICY`, …), or `ENOBUFS` for an overflow.
    public func json(showKeys: Bool = false) -> [String: Any] {
        switch self {
        case .sa(let t, let sa): return ["event": t.description, "sa": XfrmFormatter.json(sa, showKeys: showKeys)]
        case .policy(let t, let p): return ["event": t.description, "policy": XfrmFormatter.json(p)]
        case .acquire(let src, let dst, let proto, let seq, let sel, _, let label):
            var o: [String: Any] = ["event": "XFRM_MSG_ACQUIRE", "src": src.description, "dst": dst.description, "proto": proto.description, "seq": Int(seq)]
            if let sel { o["selector"] = XfrmFormatter.json(sel) }
            if let label { o["context"] = label.description }
            return o
        case .expire(let sa, let hard): return ["event": "XFRM_MSG_EXPIRE", "hard": hard, "sa": XfrmFormatter.json(sa, showKeys: showKeys)]
        case .policyExpire(let p, let hard): return ["event": "XFRM_MSG_POLEXPIRE", "hard": hard, "policy": XfrmFormatter.json(p)]
        case .flushSA(let proto): return ["event": "XFRM_MSG_FLUSHSA", "proto": proto.description]
        case .flushPolicy: return ["event": "XFRM_MSG_FLUSHPOLICY"]
        case .overflow(let r):
            var o: [String: Any] = ["event": "ENOBUFS"]
            if let r { o["resynchronized"] = ["sas": r.sas, "policies": r.policies] }
            return o
        case .other(let t, let why): return ["event": t.description, "note": why]
        }
    }

    /// Types a kernel notification.
    public init(_ m: XfrmMessage) {
        do {
            switch m.type {
            case .newSA, .updSA, .delSA:
                if let sa = try m.securityAssociation() { self = .sa(m.type, sa); return }
            case .newPolicy, .updPolicy, .delPolicy:
                if let p = try m.policyEntry() { self = .policy(m.type, p); return }
            case .acquire:
                if case .acquire(let q, _) = m.body {
                    let family = q.policy.selector.family == 10 ? IPAddress.Family.inet6 : .inet
                    let dst = try q.id.daddr.ipAddress(family: family.rawValue)
                    let src = try q.saddr.ipAddress(family: family.rawValue)
                    self = .acquire(
                        source: src, destination: dst, proto: IPsecProtocol(rawValue: q.id.proto), sequence: q.seq,
                        selector: try? q.selector.trafficSelector(), policy: try? m.policyEntry(), label: m.label)
                    return
                }
            case .expire:
                if case .expire(let e, _) = m.body, let sa = try m.securityAssociation() { self = .expire(sa, hard: e.hard != 0); return }
            case .polExpire:
                if case .policyExpire(let e, _) = m.body, let p = try m.policyEntry() { self = .policyExpire(p, hard: e.hard != 0); return }
            case .flushSA:
                if case .flushSA(let f, _, _) = m.body { self = .flushSA(IPsecProtocol(rawValue: f.proto)); return }
            case .flushPolicy:
                self = .flushPolicy
                return
            default: break
            }
            self = .other(m.type, "not decoded")
        } catch {
            self = .other(m.type, "cannot be decoded: \(error)")
        }
    }
}

/// `XFRMNLGRP_*` multicast groups.
public enum XfrmGroup: UInt32, CaseIterable, Sendable {
    case acquire = 1, expire = 2, sa = 3, policy = 4
}

/// Watches a kernel's xfrm notifications (`salabel xfrm monitor`).
public final class XfrmMonitor {
    private let connection: NetlinkConnection
    private let kernel: NetlinkXfrmKernel?

    /// Joins `groups` in the caller's network namespace or `netns`.
    public init(netns: String? = nil, groups: [XfrmGroup] = XfrmGroup.allCases) throws(XfrmKernelError) {
        let namespace = netns.map(NetworkNamespace.init(nameOrPath:))
        do {
            connection = try NetlinkConnection(protocol: .xfrm, namespace: namespace, receiveTimeout: nil)
            for g in groups { try connection.join(group: g.rawValue) }
            kernel = try NetlinkXfrmKernel(netns: netns)
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
    }

    /// Calls `body` with each event until it returns `false`. After an overflow, the tables are
    /// dumped afresh (on a second socket) and the event says how many SAs and policies there are.
    public func run(_ body: (XfrmEvent) -> Bool) throws(XfrmKernelError) {
        do {
            try connection.monitor { notification in
                switch notification {
                case .overflow:
                    let counts = try? (kernel?.allSAs().count ?? 0, kernel?.allPolicies().count ?? 0)
                    return body(.overflow(resynchronized: counts.map { (sas: $0.0, policies: $0.1) }))
                case .message(let message, _):
                    do { return body(XfrmEvent(try XfrmMessage(decoding: message))) } catch {
                        return body(.other(XfrmMessageType(rawValue: message.header.type.rawValue), "cannot be decoded: \(error)"))
                    }
                }
            }
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
    }
}
