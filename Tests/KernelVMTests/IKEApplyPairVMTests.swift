// Issue 15's proof with salabel driving libreswan: two guests of `scripts/vm pair` (Debian's 6.1
// kernel, SELinux enforcing), each running libreswan 4.10's pluto in ipsec_t with no conn of its own;
// `salabel apply FILE --host left|right` writes salabel.conf and salabel.secrets and loads them with
// `ipsec auto`. The PSK comes from `salabel keygen`, run once on the build host; the key file goes to
// both guests with `files:` and is never printed. The policy is Debian's reference policy with
// Tests/VM/refpolicy-pluto.te and the echo domains of Tests/VM/refpolicy-echo.te. Every fact is read
// from the kernels' own output: `ip xfrm`, the AVC records, pluto's log, and the probes' getpeercon.
// Specs/kernel/two-hosts.md (section 6) says what is verified and why. Without QEMU, the kernel or
// libreswan the test fails (scripts/deps vm), never skips.

import Foundation
import Testing
import TestSupport
import VMHarness

@Suite("Two hosts: salabel apply writes and loads libreswan's conns in both VMs", .serialized)
struct IKEApplyPairVMTests {
    static let spd = "system_u:object_r:ipsec_spd_t:s0"
    static let client = "system_u:system_r:echoclient_t:s0"
    static let server = "system_u:system_r:echoserver_t:s0"
    static let other = "system_u:system_r:echo_other_t:s0"

    static let applyFile = """
        # Issue 15 in two VMs: the echo client on left, the echo server on right, keyed by libreswan.
        hosts:
          left: { address: 192.0.2.1 }
          right: { address: 192.0.2.2 }
        keying: ike
        # The guest's busybox is root_t, which ipsec_t may not execute: no updown script. Child SAs
        # last 30 s and are replaced 8-16 s before that (libreswan's rekeyfuzz doubles the margin at most).
        ike: { updown: false, salifetime: 30, rekeymargin: 8, ikelifetime: 40 }
        associations:
          - name: echo
            between: [left, right]
            context: \(client)
            reply_context: \(server)
            policy_context: \(spd)
            selector: { proto: tcp, port: 7 }
        key_file: ike.keys
        """

    /// The apply file and its key file made by `salabel keygen` (the guest build of salabel, which
    /// runs on the build host too) in a fresh 0700 directory; `psk` is the key's hex digits, kept
    /// only to assert that no output shows them. The caller removes the directory.
    static func applyFileWithKeys(salabel: String) throws -> (dir: URL, yaml: String, keys: String, psk: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-ike-apply-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let yaml = dir.appendingPathComponent("ike.yaml").path
        try Data(applyFile.utf8).write(to: URL(fileURLWithPath: yaml))
        let run = try runProcess(URL(fileURLWithPath: salabel), ["keygen", yaml], input: .null, currentDirectory: dir, standardError: .standardOutput)
        let (status, log) = (run.status, run.stdout)
        let keys = dir.appendingPathComponent("ike.keys").path
        let text = (try? String(contentsOfFile: keys, encoding: .utf8)) ?? ""
        guard status == 0, let range = text.range(of: "0x[0-9a-fA-F]{64}", options: .regularExpression) else {
            throw VMError.harnessFailed(status: status, detail: "salabel keygen wrote no PSK (status \(status))")
        }
        let psk = String(text[range].dropFirst(2))
        guard !log.lowercased().contains(psk.lowercased()) else {
            throw VMError.harnessFailed(status: status, detail: "salabel keygen printed the key")
        }
        return (dir, yaml, keys, psk)
    }

    static func section(_ output: String, _ name: String) -> String { IKEPairVMTests.lines(output, between: "@@\(name)", and: "@@END") }

    /// The SAs of an `ip xfrm state` dump, each from its `src` line.
    static func sas(_ states: String) -> [String] {
        states.components(separatedBy: "\nsrc ").map { $0.hasPrefix("src ") ? $0 : "src " + $0 }.filter { $0.hasPrefix("src 192") }
    }

    /// The SPIs of the SAs labeled `label`, by direction ("src A dst B").
    static func spis(_ states: String, label: String) -> Set<String> {
        Set(
            sas(states).filter { $0.range(of: "security context \(label)\\s", options: .regularExpression) != nil }.compactMap { sa in
                guard let r = sa.range(of: "spi 0x[0-9a-f]+", options: .regularExpression) else { return nil }
                return String(sa.prefix { $0 != "\n" }) + " " + sa[r]
            })
    }

    /// The one JSON object of a section (`trace --json`).
    static func object(_ text: String) -> [String: Any]? {
        guard let start = text.firstIndex(of: "{") else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text[start...].utf8)) as? [String: Any]
    }

    /// An SPI written in hex (`0x0000abcd` by iproute2, `0xabcd` by salabel) as a number.
    static func spiValue(_ text: Substring) -> UInt32? { UInt32(text.drop { $0 != "x" }.dropFirst(), radix: 16) }

    /// The context of a status object's `label` (`{"context": C, …}`).
    static func labelContext(_ object: [String: Any]?) -> String? { (object?["label"] as? [String: Any])?["context"] as? String }

    /// The JSON events of a probe's output.
    static func events(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// One pair boot for every case: salabel writes and loads the conns on both hosts; echoclient_t's
    /// connection gets a child SA with its label on both kernels, and each side's getpeercon reads the
    /// other's label; echo_other_t gets a child SA of its own that the server's kernel refuses (`peer
    /// recv`); the child SAs (salifetime 30 s) are replaced under the same labels and carry a new
    /// connection; `apply --remove` takes the conns, SPD entries and SAs away.
    @Test func salabelApplyDrivesLibreswanOnBothHosts() throws {
        let salabel = try GuestSalabel.binary()
        let keyed = try Self.applyFileWithKeys(salabel: salabel)
        defer { try? FileManager.default.removeItem(at: keyed.dir) }
        let policy = try IKEPairVMTests.policyWithPlutoRules(more: ["refpolicy-echo.te"])
        let files: [(source: String, dest: String)] = [
            (repositoryRoot.appendingPathComponent("Tests/VM/ike-host").path, "/vm/files/ike-host"),
            (repositoryRoot.appendingPathComponent("Tests/VM/ike-apply-pair").path, "/vm/files/ike-apply-pair"), (salabel, GuestSalabel.guestPath),
            (keyed.yaml, "/vm/files/ike.yaml"), (keyed.keys, "/vm/files/ike.keys"),
        ]
        // The scripts are Tests/VM/ike-apply-pair's (runnable by hand with scripts/vm pair).
        let left = ". /vm/files/ike-host; . /vm/files/ike-apply-pair; ike_apply_left"
        let right = ". /vm/files/ike-host; . /vm/files/ike-apply-pair; ike_apply_right"
        let r = try VM.runPair(
            left: VMSide(script: left, files: files, policyConf: policy, libreswan: true),
            right: VMSide(script: right, files: files, policyConf: policy, libreswan: true), timeout: 300)
        let l = r.left.keyValues, rv = r.right.keyValues
        let context = "left:\n\(r.left.output)\nright:\n\(r.right.output)"
        print(
            "IKEApplyPairVMTests: pair wall time \(String(format: "%.1f", r.wallSeconds)) s, salabel build \(GuestSalabel.buildDuration),"
                + " echoclient_t connect with on-demand child SAs \(l["client_seconds"] ?? "?") s, apply --remove \(l["remove_seconds"] ?? "?") s")

        // Both kernels enforce; pluto runs in ipsec_t; salabel wrote and loaded the conn (label checks strict).
        for (name, v, out) in [("left", l, r.left.output), ("right", rv, r.right.output)] {
            #expect(v["enforce"] == "1" && v["prepare"] == "ok", "\(context)")
            #expect(v["pluto_ctl"] == "yes" && v["pluto_context"] == "system_u:system_r:ipsec_t:s0", "\(context)")
            #expect(v["apply"] == "0", "\(name): \(Self.section(out, "APPLY"))")
            let applied = Self.section(out, "APPLY")
            for step in ["--rereadsecrets", "--config /run/ipsec/ipsec.d/salabel.conf --add salabel-echo", "--route salabel-echo"] {
                #expect(applied.contains("ran /usr/sbin/ipsec auto --ctlsocket /run/pluto/pluto.ctl \(step)"), "\(name): \(applied)")
            }
            #expect(v["secrets_mode"] == "600", "\(context)")
            let conf = Self.section(out, "CONF")
            #expect(conf.contains("conn salabel-echo") && conf.contains("sec-label=\(Self.spd)"), "\(name): \(conf)")
            #expect(conf.contains("leftupdown=%disabled"), "\(name): \(conf)")
            #expect(conf.contains("salifetime=30s") && conf.contains("rekeymargin=8s") && conf.contains("ikelifetime=40s"), "\(name): \(conf)")
            // Loaded and routed: the two SPD entries of the conn carry the generic label.
            let loaded = Self.section(out, "LOADED-POLICY")
            #expect(loaded.components(separatedBy: "security context \(Self.spd)").count == 3, "\(name): \(loaded)")
            #expect(loaded.contains("src 192.0.2.1/32 dst 192.0.2.2/32 proto 6 dport 7"), "\(name): \(loaded)")
            #expect(loaded.contains("src 192.0.2.2/32 dst 192.0.2.1/32 proto 6 sport 7"), "\(name): \(loaded)")
        }
        // (a) echoclient_t: the kernel's ACQUIRE carries the client's context; pluto negotiated on it.
        let acquires = Self.section(r.left.output, "ACQUIRE").components(separatedBy: "acquire ").dropFirst()
        #expect(acquires.contains { $0.contains("security context \(Self.client)") && $0.contains("dport 7") }, "\(acquires)")
        let leftLog = Self.section(r.left.output, "PLUTO-LOG")
        #expect(leftLog.contains("SELinux support is enabled in ENFORCING mode."), "\(leftLog)")
        #expect(leftLog.contains("initiate on-demand for packet 192.0.2.1-TCP->192.0.2.2:7 sec_label=\(Self.client)"), "\(leftLog)")
        #expect(leftLog.contains("initiator established Child SA"), "\(leftLog)")
        // The server's reply (its SYN-ACK, in echoserver_t) made the right kernel ACQUIRE in its turn.
        let rightLog = Self.section(r.right.output, "PLUTO-LOG")
        #expect(rightLog.contains("initiate on-demand for packet 192.0.2.2"), "\(rightLog)")
        #expect(rightLog.contains("sec_label=\(Self.server)"), "\(rightLog)")
        #expect(l["client"] == "0", "\(Self.section(r.left.output, "CLIENT"))")
        // The server's getpeercon is the client's context, and the client's is the server's reply SA label.
        let accepted = Self.events(Self.section(r.right.output, "SERVER")).filter { $0["event"] as? String == "accepted" }
        #expect(accepted.count == 1 && accepted.first?["peer"] as? String == Self.client, "\(Self.section(r.right.output, "SERVER"))")
        #expect(accepted.first?["message"] as? String == "hello", "\(Self.section(r.right.output, "SERVER"))")
        let connected = Self.events(Self.section(r.left.output, "CLIENT")).first { $0["event"] as? String == "connected" }
        #expect(connected?["peer"] as? String == Self.server, "\(Self.section(r.left.output, "CLIENT"))")
        #expect(connected?["echo"] as? String == "hello", "\(Self.section(r.left.output, "CLIENT"))")
        // Both kernels hold SA pairs labeled with the client's and with the server's context.
        for (name, out) in [("left", r.left.output), ("right", r.right.output)] {
            let sas = Self.sas(Self.section(out, "CASES-STATE"))
            for label in [Self.client, Self.server, Self.other] {
                let labeled = sas.filter { $0.range(of: "security context \(label)\\s", options: .regularExpression) != nil }
                #expect(labeled.contains { $0.hasPrefix("src 192.0.2.1 dst 192.0.2.2") }, "\(name) \(label): \(sas)")
                #expect(labeled.contains { $0.hasPrefix("src 192.0.2.2 dst 192.0.2.1") }, "\(name) \(label): \(sas)")
                #expect(labeled.allSatisfy { $0.contains("mode transport") }, "\(name) \(label): \(sas)")
            }
        }
        // salabel's predictions agree with the kernel and pluto. Before any negotiation, trace (live
        // SAD/SPD, the running policy, the apply file) predicts the ACQUIRE with the client's context
        // and names the conn pluto then used; after it, the flow goes out on an SA pair labeled with
        // its context, one the kernel holds; status lists the SPD entries and SAs with their labels.
        let traceBefore = Self.object(Self.section(r.left.output, "TRACE-BEFORE"))
        #expect(l["trace_before"] == "1" && traceBefore?["outcome"] as? String == "acquire", "\(Self.section(r.left.output, "TRACE-BEFORE"))")
        #expect(traceBefore?["acquire_label"] as? String == Self.client, "\(Self.section(r.left.output, "TRACE-BEFORE"))")
        let predicted = (traceBefore?["ike"] as? [[String: Any]])?.first
        #expect(predicted?["conn"] as? String == "salabel-echo" && predicted?["label"] as? String == Self.client, "\(String(describing: predicted))")
        #expect(leftLog.contains("\"salabel-echo\""), "pluto's log names the conn salabel predicted: \(leftLog)")
        let traceAfter = Self.object(Self.section(r.left.output, "TRACE-AFTER"))
        #expect(traceAfter?["outcome"] as? String == "protected", "\(Self.section(r.left.output, "TRACE-AFTER"))")
        let sentOn = ((traceAfter?["steps"] as? [[String: Any]])?.first?["verdict"] as? String) ?? ""
        #expect(sentOn.hasSuffix("labeled \(Self.client)"), "\(sentOn)")
        let tracedSPI = sentOn.split(separator: " ").first { $0.hasPrefix("0x") }.flatMap(Self.spiValue)
        let kernelSPIs = Self.spis(Self.section(r.left.output, "CASES-STATE"), label: Self.client).filter { $0.hasPrefix("src 192.0.2.1 dst 192.0.2.2 ") }
            .compactMap { $0.split(separator: " ").last.flatMap(Self.spiValue) }
        #expect(tracedSPI != nil && kernelSPIs.contains(tracedSPI!), "traced \(sentOn), kernel \(kernelSPIs)")
        let snapshot = Self.events(Self.section(r.left.output, "STATUS")).first { $0["type"] as? String == "snapshot" }
        #expect(l["status"] == "0" && snapshot?["status"] as? String == "synchronized", "\(Self.section(r.left.output, "STATUS"))")
        let statusSAs = Set(((snapshot?["sas"] as? [[String: Any]]) ?? []).compactMap { Self.labelContext($0) })
        #expect(statusSAs.isSuperset(of: [Self.client, Self.server, Self.other]), "\(statusSAs)")
        let statusPolicies = ((snapshot?["policies"] as? [[String: Any]]) ?? []).compactMap { Self.labelContext($0) }
        #expect(statusPolicies.filter { $0 == Self.spd }.count >= 2, "\(statusPolicies)")
        // (b) echo_other_t: its own ACQUIRE and child SA (above), and the server's kernel refuses its packets.
        #expect(acquires.contains { $0.contains("security context \(Self.other)") }, "\(acquires)")
        #expect(leftLog.contains("sec_label=\(Self.other)"), "\(leftLog)")
        #expect(l["other"] != "0", "\(Self.section(r.left.output, "OTHER"))")
        #expect(Self.events(Self.section(r.left.output, "OTHER")).contains { $0["event"] as? String == "error" }, "\(Self.section(r.left.output, "OTHER"))")
        let refused = r.right.avcLines(containing: ["denied", "{ recv }", "scontext=\(Self.server)", "tcontext=\(Self.other)", "tclass=peer"])
        #expect(!refused.isEmpty, "\(r.right.avcLines)")
        #expect(refused.allSatisfy { $0.contains("permissive=0") }, "\(refused)")
        // (c) Rekey: 36 s after the first connection the left kernel holds an echoclient_t SA pair again,
        // with none of the first SPIs: pluto replaced the SAs (salifetime 30 s) under the same label.
        let before = Self.spis(Self.section(r.left.output, "CASES-STATE"), label: Self.client)
        let after = Self.spis(Self.section(r.left.output, "REKEYED-STATE"), label: Self.client)
        let rekeyLog = Self.section(r.left.output, "PLUTO-LOG2")
        #expect(after.contains { $0.hasPrefix("src 192.0.2.1 dst 192.0.2.2 ") }, "\(after)\n\(rekeyLog)")
        #expect(after.contains { $0.hasPrefix("src 192.0.2.2 dst 192.0.2.1 ") }, "\(after)\n\(rekeyLog)")
        #expect(after.isDisjoint(with: before), "before: \(before)\nafter: \(after)\n\(rekeyLog)")
        // pluto says so: a CREATE_CHILD_SA rekey of the first child SA (#2, echoclient_t's) on the IKE SA
        // (the initiator rekeys, in every run so far; "responder rekeyed" if the peer's timer came first).
        #expect(rekeyLog.contains("rekeyed Child SA #2 using #1"), "\(rekeyLog)")
        // The IKE SA itself (ikelifetime 40 s, the same 8-16 s margin: 24-32 s after it was
        // established, after the child rekeys) is rekeyed too; whichever end started it, both log
        // "initiator|responder rekeyed IKE SA #1" (libreswan 4.10, ikev2_parent.c), and the new
        // connection below runs on children of the new IKE SA with the same labels.
        #expect(rekeyLog.contains("rekeyed IKE SA #1"), "\(rekeyLog)")
        // status --watch saw it happen: a new echoclient_t SA named as the rekey of an old one.
        let watched = Self.events(Self.section(r.left.output, "WATCH"))
        let rekeys = watched.filter { $0["change"] as? String == "sa_added" && $0["rekey_of_spi"] != nil }
        #expect(
            l["watch"] == "0" && rekeys.contains { Self.labelContext($0["sa"] as? [String: Any]) == Self.client }, "\(Self.section(r.left.output, "WATCH"))")
        // Who installed them: pluto 4.10 leaves nlmsg_pid 0 in its requests (programs/pluto/kernel_xfrm.c
        // never sets it), so the kernel's NEWSA names no sender and status says port_zero, as for
        // iproute2 (Specs/manager/status.md, "Who installed an SA").
        let installers = Set(rekeys.compactMap { (($0["sa"] as? [String: Any])?["installed_by"] as? [String: Any])?["kind"] as? String })
        #expect(installers == ["port_zero"], "\(Self.section(r.left.output, "WATCH"))")
        #expect(!Self.spis(Self.section(r.right.output, "REKEYED-STATE"), label: Self.client).isDisjoint(with: after), "\(context)")
        // The rekeyed SAs carry a new connection: both ends read the same labels as before.
        let again = Self.events(Self.section(r.left.output, "CLIENT2")).first { $0["event"] as? String == "connected" }
        #expect(
            l["client2"] == "0" && again?["peer"] as? String == Self.server && again?["echo"] as? String == "again", "\(Self.section(r.left.output, "CLIENT2"))"
        )
        let accepted2 = Self.events(Self.section(r.right.output, "SERVER2")).filter { $0["event"] as? String == "accepted" }
        #expect(accepted2.count == 2 && accepted2.allSatisfy { $0["peer"] as? String == Self.client }, "\(Self.section(r.right.output, "SERVER2"))")
        // (d) apply --remove: the conn, its SPD entries and its SAs are gone on left; the peer's SAs went
        // with the IKE SA's deletion, and its own --remove took its SPD entries.
        #expect(l["remove"] == "0", "\(Self.section(r.left.output, "REMOVE"))")
        #expect(Self.section(r.left.output, "REMOVE").contains("ran /usr/sbin/ipsec auto --ctlsocket /run/pluto/pluto.ctl --delete salabel-echo"), "\(context)")
        #expect(l["files_left"] == "0", "\(context)")
        #expect(Self.sas(Self.section(r.left.output, "REMOVED-STATE")).isEmpty, "\(Self.section(r.left.output, "REMOVED-STATE"))")
        #expect(!Self.section(r.left.output, "REMOVED-POLICY").contains("security context"), "\(context)")
        #expect(Self.sas(Self.section(r.right.output, "PEER-REMOVED-STATE")).isEmpty, "\(Self.section(r.right.output, "PEER-REMOVED-STATE"))")
        #expect(rv["remove"] == "0", "\(context)")
        #expect(!Self.section(r.right.output, "REMOVED-POLICY").contains("security context"), "\(context)")
        // No enforcing domain met another denial: pluto's search of a tmpfs root (Specs/kernel/two-hosts.md
        // section 4) and the refusal above aside, and the init's descriptors (tclass=fd); echo_other_t is permissive.
        for (name, side) in [("left", r.left), ("right", r.right)] {
            let unexpected = side.denials.filter {
                !$0.contains("permissive=1") && !$0.contains("tclass=fd")
                    && !($0.contains("{ search }") && $0.contains("scontext=system_u:system_r:ipsec_t:s0")
                        && $0.contains("tcontext=system_u:object_r:tmpfs_t:s0"))
                    && !($0.contains("{ recv }") && $0.contains("scontext=\(Self.server)") && $0.contains("tcontext=\(Self.other)"))
            }
            #expect(unexpected.isEmpty, "\(name): \(unexpected)")
        }
        // The key never shows.
        for side in [r.left, r.right] {
            #expect(!side.output.lowercased().contains(keyed.psk.lowercased()) && !side.dmesg.lowercased().contains(keyed.psk.lowercased()))
        }
    }
}
