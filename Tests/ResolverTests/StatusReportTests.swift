import DecisionEngine
import Foundation
import IPsecModel
import Resolver
import SecurityContexts
import Testing
import XfrmNetlink
import XfrmWire

/// `salabel status`'s report and change lines, on constructed mirror states (Specs/manager/status.md).
@Suite struct StatusReportTests {
    static let spd = try! SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023")
    static let client = try! SecurityContext(parsing: "system_u:system_r:echoclient_t:s0:c1,c5")
    static let bogus = try! SecurityContext(parsing: "system_u:system_r:no_such_t:s0")
    static let a6 = IPAddress("fd00::1")!, b6 = IPAddress("fd00::2")!
    static let a = IPAddress("10.0.0.1")!, b = IPAddress("10.0.0.2")!

    static func policy(_ ctx: SecurityContext?, _ src: IPAddress = a6, _ dst: IPAddress = b6, dir: PolicyDirection = .out) -> PolicyEntry {
        PolicyEntry(
            selector: TrafficSelector(source: IPPrefix(host: src), destination: IPPrefix(host: dst)), direction: dir, index: 8,
            templates: [PolicyTemplate(source: src, destination: dst)], securityContext: ctx)
    }

    /// The engine's verdict, faked: `no_such_t` is unknown.
    static let verdict: @Sendable (SecurityContext) -> StatusLabelVerdict = { c in
        c.type == "no_such_t" ? .unknown(reason: "type no_such_t is not defined") : .known
    }

    static var mirror: XfrmMirror {
        let sa1 = SecurityAssociation(source: a6, destination: b6, spi: 0x1001, reqid: 16389, securityContext: client)
        let sa2 = SecurityAssociation(source: b6, destination: a6, spi: 0x1002, reqid: 16389, securityContext: bogus)
        let plain = SecurityAssociation(source: a, destination: b, spi: 0x2001, reqid: 1)
        return XfrmMirror(
            sas: [sa1, sa2, plain], policies: [policy(spd), policy(nil, a, b), policy(spd, b6, a6, dir: .in)],
            acquires: [PendingAcquire(source: a6, destination: b6, proto: .esp, mode: .transport, reqid: 16390, label: client, sequence: 0x2a)])
    }

    @Test func reportListsLabeledEntriesSAsAndAcquires() {
        let sa1 = SADKey(destination: Self.b6, spi: 0x1001, proto: .esp)
        let report = StatusReport(
            mirror: Self.mirror, status: .synchronized, installers: [sa1: .process(pid: 812, name: "pluto", portID: 812)],
            labelCheck: .policy("embedded (test)"), verdict: Self.verdict)
        #expect(report.policies.map(\.label?.context) == [Self.spd, nil, Self.spd])
        #expect(report.unlabeledPolicies == 1)
        #expect(report.sas.map(\.sa.spi) == [0x1001, 0x1002, 0x2001])
        #expect(report.sas[0].installer == .process(pid: 812, name: "pluto", portID: 812))
        #expect(report.sas[1].installer == .beforeStatusStarted)
        #expect(report.sas[2].label == nil)
        #expect(report.acquires.count == 1)
        #expect(report.acquires[0].label?.context == Self.client)
        #expect(report.unknownLabels.map(\.context) == [Self.bogus])

        let text = report.lines.joined(separator: "\n")
        #expect(text.contains("status: synchronized"))
        #expect(text.contains("labels checked against embedded (test)"))
        #expect(text.contains("SPD entries: 3 (2 labeled)"))
        #expect(text.contains("dir out src fd00::1/128 dst fd00::2/128"))
        #expect(text.contains("security context system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023"))
        #expect(text.contains("esp spi 0x00001001 src fd00::1 dst fd00::2 transport reqid 16389"))
        #expect(text.contains("installed by pluto (pid 812, netlink port 812)"))
        #expect(text.contains("installed by before status started (installer unknown)"))
        #expect(text.contains("security context none (unlabeled)"))
        #expect(text.contains("flow context system_u:system_r:echoclient_t:s0:c1,c5"))
        #expect(text.contains("system_u:system_r:no_such_t:s0 (unknown to the policy: type no_such_t is not defined)"))
        #expect(text.contains("labels unknown to the policy: 1"))
    }

    @Test func reportJSONHasTheDocumentedFields() throws {
        let report = StatusReport(mirror: Self.mirror, status: .stale(.overflow), labelCheck: .policy("p"), verdict: Self.verdict)
        let o = report.json
        let data = try JSONSerialization.data(withJSONObject: o)
        let back = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(back["type"] as? String == "snapshot")
        #expect(back["status"] as? String == "stale")
        #expect(back["stale_reason"] as? String == "notifications were lost (ENOBUFS)")
        #expect(back["unlabeled_policies"] as? Int == 1)
        let policies = try #require(back["policies"] as? [[String: Any]])
        #expect((policies[0]["label"] as? [String: Any])?["context"] as? String == Self.spd.description)
        #expect(policies[1]["label"] == nil)
        #expect(policies[2]["dir"] as? String == "in")
        let sas = try #require(back["sas"] as? [[String: Any]])
        #expect((sas[0]["installed_by"] as? [String: Any])?["kind"] as? String == "before_status_started")
        #expect((sas[1]["label"] as? [String: Any])?["known"] as? Bool == false)
        #expect(sas[2]["label"] == nil)
        #expect(back["unknown_labels"] as? [String] == [Self.bogus.description])
        let acquires = try #require(back["acquires"] as? [[String: Any]])
        #expect((acquires[0]["label"] as? [String: Any])?["context"] as? String == Self.client.description)
        #expect(acquires[0]["reqid"] as? Int == 16390)
    }

    @Test func unlabeledUncheckedLabelIsNull() throws {
        let mirror = XfrmMirror(policies: [Self.policy(Self.spd)])
        let report = StatusReport(mirror: mirror, status: .synchronized, labelCheck: .unchecked(reason: "SELinux is not enabled"))
        #expect(report.lines.contains("labels not checked: SELinux is not enabled"))
        let data = try JSONSerialization.data(withJSONObject: report.json)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"known\":null"))
    }

    @Test func larvalSAInADumpIsAPendingAcquire() {
        var larval = SecurityAssociation(source: Self.a, destination: Self.b, spi: 0, reqid: 3, securityContext: Self.client)
        larval.sequence = 7
        let report = StatusReport(mirror: XfrmMirror(sas: [larval]), status: .synchronized)
        #expect(report.sas.isEmpty)
        #expect(report.acquires.map(\.acquire.sequence) == [7])
        #expect(report.acquires[0].label?.context == Self.client)
    }

    @Test func changesSayWhatHappened() {
        let old = SecurityAssociation(source: Self.a, destination: Self.b, spi: 0x10, reqid: 5, securityContext: Self.client)
        let new = SecurityAssociation(source: Self.a, destination: Self.b, spi: 0x11, reqid: 5, securityContext: Self.client)
        let mirror = XfrmMirror(sas: [old])
        let rekey = StatusChange(.sa(.newSA, new), before: mirror, installer: .portOnly(portID: 4242), verdict: Self.verdict)
        #expect(rekey.eventName == "XFRM_MSG_NEWSA")
        #expect(
            rekey.line
                == "sa-added esp spi 0x00000011 10.0.0.1 -> 10.0.0.2 reqid 5 ctx system_u:system_r:echoclient_t:s0:c1,c5 by netlink port 4242 (no open socket has it) (rekey of spi 0x00000010)"
        )
        #expect(rekey.json["rekey_of_spi"] as? Int == 0x10)
        #expect(rekey.json["change"] as? String == "sa_added")

        // An EXPIRE carries no label: the mirror's is shown.
        var bare = old
        bare.securityContext = nil
        let hard = StatusChange(.expire(bare, hard: true), before: mirror, installer: .portZero)
        #expect(hard.line.hasSuffix("ctx system_u:system_r:echoclient_t:s0:c1,c5 (removed)"), "\(hard.line)")

        let soft = StatusChange(.expire(old, hard: false), before: mirror, installer: .portZero)
        #expect(soft.line.hasPrefix("sa-expired soft esp spi 0x00000010"))
        #expect(soft.line.hasSuffix("(rekey due)"))
        #expect(soft.json["hard"] as? Bool == false)

        let larval = SecurityAssociation(source: Self.a, destination: Self.b, spi: 0, securityContext: Self.client)
        #expect(
            StatusChange(.expire(larval, hard: true), before: mirror, installer: .portZero).line
                == "acquire-expired esp 10.0.0.1 -> 10.0.0.2 flow ctx system_u:system_r:echoclient_t:s0:c1,c5")

        let del = StatusChange(.sa(.delSA, old), before: mirror, installer: .portZero)
        #expect(del.eventName == "XFRM_MSG_DELSA")
        #expect(del.json["change"] as? String == "sa_deleted")

        let acq = StatusChange(
            .acquire(
                source: Self.a6, destination: Self.b6, proto: .esp, sequence: 1, selector: nil, policy: Self.policy(Self.spd),
                label: .selinux(Self.client)), before: mirror, installer: .portZero)
        #expect(acq.line == "acquire esp fd00::1 -> fd00::2 seq 0x00000001 flow ctx system_u:system_r:echoclient_t:s0:c1,c5")
        #expect((acq.json["acquire"] as? [String: Any])?["src"] as? String == "fd00::1")

        let lost = StatusChange.stale(.overflow)
        #expect(lost.eventName == "ENOBUFS")
        #expect(lost.line.contains("resynchronizing"))
        let back = StatusChange.resynchronized(after: .overflow, sas: 2, policies: 3)
        #expect(back.line == "resynchronized after notifications were lost (ENOBUFS): 2 SAs, 3 SPD entries")
    }
}

/// The engine's verdict on labels, with the embedded policy (the one `--policy embedded` loads).
@Suite struct StatusLabelPolicyTests {
    @Test func embeddedPolicyKnowsItsLabelsAndNotOthers() throws {
        let policy = StatusLabelPolicy(try LoadedPolicy.loadWithoutKernel(.embedded)!)
        #expect(policy.verdict(try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")) == .known)
        guard case .unknown(let reason) = policy.verdict(try SecurityContext(parsing: "system_u:system_r:no_such_t:s0")) else {
            Issue.record("no_such_t is known")
            return
        }
        #expect(reason.contains("no_such_t"))
        guard case .policy(let name) = policy.check else { Issue.record("not checked"); return }
        #expect(name.contains("embedded"))
    }
}
