// The JSON of `salabel status --json`: one object per snapshot ("type": "snapshot") and per change
// ("type": "event"). The field names are stable and documented in Specs/manager/status.md.

import Foundation
import IPsecModel
import Resolver
import XfrmManager

extension StatusLabel {
    /// `{"context": …, "known": true|false|null, "reason": …}` (`known` null: not checked).
    public var json: [String: Any] {
        var o: [String: Any] = ["context": context.description]
        switch verdict {
        case .known: o["known"] = true
        case .unknown(let reason):
            o["known"] = false
            o["reason"] = reason
        case .unchecked: o["known"] = NSNull()
        }
        return o
    }
}

extension SAInstaller {
    /// `{"kind": "process", "pid": …, "name": …, "port_id": …}`; kinds: `before_status_started`,
    /// `process`, `port_zero`, `port_only`.
    public var json: [String: Any] {
        switch self {
        case .beforeStatusStarted: ["kind": "before_status_started"]
        case .process(let pid, let name, let port): ["kind": "process", "pid": Int(pid), "name": name, "port_id": Int(port)]
        case .portZero: ["kind": "port_zero", "port_id": 0]
        case .portOnly(let port): ["kind": "port_only", "port_id": Int(port)]
        }
    }
}

extension MirrorSync.Status {
    /// `synchronized`, `unsynchronized`, `stale`.
    public var jsonName: String {
        switch self {
        case .synchronized: "synchronized"
        case .unsynchronized: "unsynchronized"
        case .stale: "stale"
        }
    }
}

extension StatusReport {
    static func json(_ a: AcquireEntry) -> [String: Any] {
        var o: [String: Any] = [
            "src": a.acquire.source.description, "dst": a.acquire.destination.description, "proto": a.acquire.proto.description,
            "seq": Int(a.acquire.sequence),
        ]
        if let m = a.acquire.mode { o["mode"] = m.description }
        if let r = a.acquire.reqid { o["reqid"] = Int(r) }
        if let l = a.label { o["label"] = l.json }
        return o
    }

    /// An SA entry with who installed it (`installed_by`).
    static func json(_ e: SAEntry) -> [String: Any] {
        var s = json(e.sa, e.label)
        s["installed_by"] = e.installer.json
        return s
    }

    static func json(_ sa: SecurityAssociation, _ label: StatusLabel?) -> [String: Any] {
        var o = XfrmFormatter.json(sa)  // no keys
        o.removeValue(forKey: "context")
        if let label { o["label"] = label.json }
        return o
    }

    static func json(_ p: PolicyEntry, _ label: StatusLabel?) -> [String: Any] {
        var o = XfrmFormatter.json(p)
        o.removeValue(forKey: "context")
        if let label { o["label"] = label.json }
        return o
    }

    /// The snapshot as one JSON-ready object (`"type": "snapshot"`).
    public var json: [String: Any] {
        var o: [String: Any] = [
            "type": "snapshot", "status": mirrorStatus.jsonName,
            "policies": policies.map { Self.json($0.policy, $0.label) }, "unlabeled_policies": unlabeledPolicies,
            "sas": sas.map(Self.json),
            "acquires": acquires.map(Self.json),
            "unknown_labels": unknownLabels.map { $0.context.description },
        ]
        if case .stale(let r) = mirrorStatus { o["stale_reason"] = r.description }
        switch labelCheck {
        case .policy(let name): o["label_check"] = ["policy": name]
        case .unchecked(let reason): o["label_check"] = ["unchecked": reason]
        }
        return o
    }
}

extension StatusChange {
    /// The change as one JSON-ready object: `"type": "event"`, `"event"` (``eventName``), `"change"`
    /// (a stable name: `acquire`, `sa_added`, `sa_deleted`, `sa_expired`, `policy_added`,
    /// `policy_deleted`, `policy_expired`, `sas_flushed`, `policies_flushed`, `stale`,
    /// `resynchronized`, `other`) and the fields of what changed.
    public var json: [String: Any] {
        var o: [String: Any] = ["type": "event", "event": eventName]
        switch self {
        case .acquire(let a):
            o["change"] = "acquire"
            o["acquire"] = StatusReport.json(a)
        case .saAdded(let e, let updated, let replaces):
            o["change"] = "sa_added"
            o["updated"] = updated
            o["sa"] = StatusReport.json(e)
            if let replaces { o["rekey_of_spi"] = Int(replaces) }
        case .saDeleted(let s, let l):
            o["change"] = "sa_deleted"
            o["sa"] = StatusReport.json(s, l)
        case .saExpired(let s, let l, let hard):
            o["change"] = "sa_expired"
            o["hard"] = hard
            o["sa"] = StatusReport.json(s, l)
        case .policyAdded(let p, let l, let updated):
            o["change"] = "policy_added"
            o["updated"] = updated
            o["policy"] = StatusReport.json(p, l)
        case .policyDeleted(let p, let l):
            o["change"] = "policy_deleted"
            o["policy"] = StatusReport.json(p, l)
        case .policyExpired(let p, let l, let hard):
            o["change"] = "policy_expired"
            o["hard"] = hard
            o["policy"] = StatusReport.json(p, l)
        case .flushedSAs(let proto):
            o["change"] = "sas_flushed"
            o["proto"] = proto.description
        case .flushedPolicies: o["change"] = "policies_flushed"
        case .stale(let r):
            o["change"] = "stale"
            o["reason"] = r.description
        case .resynchronized(let after, let sas, let policies):
            o["change"] = "resynchronized"
            if let after { o["after"] = after.description }
            o["sas"] = sas
            o["policies"] = policies
        case .other(let t, let why):
            o["change"] = "other"
            o["note"] = why
            o["message_type"] = Int(t.rawValue)
        }
        return o
    }
}
