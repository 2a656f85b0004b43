// Labeled SAs negotiated by a real IKE daemon between two hosts, each its own kernel: two guests of
// `scripts/vm pair` (Debian's 6.1 kernel, SELinux enforcing) joined by a link, each running libreswan
// 4.10's pluto in ipsec_t with a transport conn carrying `sec-label=` (Tests/VM/ike-host). Every fact is
// read from the kernels' own output: `ip xfrm`, the AVC records, pluto's log, and the server's
// `getpeercon`. Specs/kernel/two-hosts.md says what is verified here and why the policy needs rules.
// Without QEMU, the kernel or libreswan the tests fail (scripts/deps vm), never skip.

import Foundation
import Testing
import TestSupport
import VMHarness

@Suite("Two hosts: libreswan negotiates labeled SAs between two VMs", .serialized)
struct IKEPairVMTests {
    static let spd = "system_u:object_r:ipsec_spd_t:s0"
    static let client = "system_u:system_r:init_t:s0"

    /// A PSK made for this run, in a 0600 file under a fresh directory; the caller removes the directory.
    static func makePSK() throws -> (dir: URL, file: String, psk: String) {
        var bytes = [UInt8](repeating: 0, count: 24)
        let urandom = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? urandom.close() }
        bytes = [UInt8](try urandom.read(upToCount: bytes.count) ?? Data())
        #expect(bytes.count == 24)
        let psk = bytes.map { String(format: "%02x", $0) }.joined()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-ike-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = dir.appendingPathComponent("psk")
        FileManager.default.createFile(atPath: file.path, contents: Data(psk.utf8), attributes: [.posixPermissions: 0o600])
        return (dir, file.path, psk)
    }

    /// Debian's reference policy with Tests/VM/refpolicy-pluto.te (and `more`, paths under Tests/VM)
    /// inserted before its first `user` statement.
    static func policyWithPlutoRules(more: [String] = []) throws -> String {
        let conf = try String(contentsOfFile: try GuestSalabel.referencePolicyConf(), encoding: .utf8)
        let rules = try (["refpolicy-pluto.te"] + more).map {
            try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/VM/\($0)"), encoding: .utf8)
        }.joined(separator: "\n")
        guard let userLine = conf.range(of: "\nuser ") else {
            throw VMError.harnessFailed(status: -1, detail: "the decompiled reference policy has no user statement")
        }
        return String(conf[..<userLine.lowerBound]) + "\n" + rules + String(conf[userLine.lowerBound...])
    }

    static func lines(_ output: String, between begin: String, and end: String) -> String {
        guard let b = output.range(of: begin + "\n"), let e = output.range(of: end, range: b.upperBound..<output.endIndex) else { return "" }
        return String(output[b.upperBound..<e.lowerBound])
    }

    /// The two hosts negotiate on demand: the first packet of a flow from a domain that may polmatch the
    /// SPD label makes the kernel ACQUIRE with the flow's context, pluto negotiates a child SA for that
    /// label, both kernels install it, and the server's getpeercon reads it. A domain that may not
    /// polmatch the label (netutils_t) is not covered by the entry at all: its flow goes in the clear.
    @Test func onDemandChildSAsCarryTheFlowsContext() throws {
        let secret = try Self.makePSK()
        defer { try? FileManager.default.removeItem(at: secret.dir) }
        let policy = try Self.policyWithPlutoRules()
        let files: [(source: String, dest: String)] = [
            (repositoryRoot.appendingPathComponent("Tests/VM/ike-host").path, "/vm/files/ike-host"), (secret.file, "/vm/files/psk"),
        ]
        let dump = """
            echo "@@XFRM-STATE"; ike_xfrm_state; echo "@@XFRM-POLICY"; ip xfrm policy list | grep -A4 '^src 192'; echo "@@END"
            echo "@@PLUTO-LOG"; grep -E 'initiate on-demand|established|selinux|SELinux|FATAL' /run/pluto/pluto.log; echo "@@END"
            """
        let left = """
            . /vm/files/ike-host
            echo "enforce=$(cat /sys/fs/selinux/enforce)"
            ike_prepare 192.0.2.1 192.0.2.2 && echo "prepare=ok"
            ike_start_pluto
            /bin/ip xfrm monitor acquire > /tmp/acquire.log 2>&1 &
            monitor=$!
            sleep 1   # the monitor subscribes before the first flow
            # The peer answers once its pluto runs: the ping itself (kernel_t) is the first labeled flow.
            for i in $(seq 90); do ping -c1 -W1 192.0.2.2 >/dev/null 2>&1 && break; done
            echo "ping_at=$(ike_uptime)"
            t=$(ike_uptime)
            runcon -d \(Self.client) /bin/sh -c "echo hello | nc -w 20 192.0.2.2 4300"; echo "client=$?"
            echo "client_seconds=$(awk -v a=$t -v b=$(ike_uptime) 'BEGIN { print b - a }')"
            mkdir -p /run/cl && cp /bin/busybox /run/cl/nc && chcon system_u:object_r:netutils_exec_t:s0 /run/cl/nc
            runcon -d system_u:system_r:init_t:s0 runcon system_u:system_r:netutils_t:s0 /run/cl/nc -w 5 192.0.2.2 4301 </dev/null
            echo "netutils_client=$?"
            sleep 1
            kill $monitor
            echo "@@ACQUIRE"; cat /tmp/acquire.log; echo "@@END"
            \(dump)
            """
        let right = """
            . /vm/files/ike-host
            echo "enforce=$(cat /sys/fs/selinux/enforce)"
            ike_prepare 192.0.2.2 192.0.2.1 && echo "prepare=ok"
            ike_start_pluto
            /usr/libexec/ipsec/getpeercon_server 4300 > /tmp/server.out 2>&1 &
            /usr/libexec/ipsec/getpeercon_server 4301 > /tmp/server2.out 2>&1 &
            for i in $(seq 600); do grep -q 'connect(' /tmp/server.out && grep -q 'connect(' /tmp/server2.out && break; sleep 0.2; done
            sleep 2
            echo "server=$(grep -o 'connect([^)]*)' /tmp/server.out)"
            echo "server2=$(grep -o 'connect([^)]*)' /tmp/server2.out)"
            \(dump)
            """
        let r = try VM.runPair(
            left: VMSide(script: left, files: files, policyConf: policy, libreswan: true),
            right: VMSide(script: right, files: files, policyConf: policy, libreswan: true), timeout: 240)
        let l = r.left.keyValues, rv = r.right.keyValues
        let context = "left:\n\(r.left.output)\nright:\n\(r.right.output)"
        print(
            "IKEPairVMTests: pair wall time \(String(format: "%.1f", r.wallSeconds)) s, ping across at uptime \(l["ping_at"] ?? "?") s,"
                + " on-demand child SA + TCP connect \(l["client_seconds"] ?? "?") s")

        // Both kernels enforce; each pluto runs in ipsec_t and took the conn.
        for v in [l, rv] {
            #expect(v["enforce"] == "1", "\(context)")
            #expect(v["prepare"] == "ok", "\(context)")
            #expect(v["pluto_ctl"] == "yes" && v["pluto_context"] == "system_u:system_r:ipsec_t:s0", "\(context)")
            #expect(v["listen"] == "0" && v["addconn"] == "0", "\(context)")
        }
        // The ACQUIRE carried the flow's context, and pluto checked it with SELinux enabled.
        let leftLog = Self.lines(r.left.output, between: "@@PLUTO-LOG", and: "@@END")
        #expect(leftLog.contains("SELinux support is enabled in ENFORCING mode."), "\(context)")
        #expect(leftLog.contains("initiate on-demand for packet 192.0.2.1-TCP->192.0.2.2:4300 sec_label=\(Self.client)"), "\(context)")
        #expect(leftLog.contains("initiator established Child SA"), "\(context)")
        #expect(!leftLog.contains("FATAL"), "\(context)")
        // The kernel's own ACQUIRE messages: one for the ping's context, one for the client's, none for netutils_t.
        let acquires = Self.lines(r.left.output, between: "@@ACQUIRE", and: "@@END")
        let acquireMessages = acquires.components(separatedBy: "acquire ").dropFirst()
        #expect(acquireMessages.contains { $0.contains("security context \(Self.client)") }, "\(acquires)")
        #expect(acquireMessages.contains { $0.contains("security context system_u:system_r:kernel_t:s0") }, "\(acquires)")
        #expect(!acquires.contains("netutils_t"), "\(acquires)")
        // The client's connection went through, and the server's getpeercon saw the client's context.
        #expect(l["client"] == "0", "\(context)")
        #expect(rv["server"] == "connect(192.0.2.1,\(Self.client))", "\(context)")
        // Both kernels hold the negotiated SA pair with the flow's context, and the SPD entries keep the generic label.
        for (name, out) in [("left", r.left.output), ("right", r.right.output)] {
            let states = Self.lines(out, between: "@@XFRM-STATE", and: "@@END")
            let sas = states.components(separatedBy: "\nsrc ").map { $0.hasPrefix("src ") ? $0 : "src " + $0 }
            let labeled = sas.filter { $0.contains("security context \(Self.client)") }
            #expect(labeled.contains { $0.hasPrefix("src 192.0.2.1 dst 192.0.2.2") }, "\(name): \(states)")
            #expect(labeled.contains { $0.hasPrefix("src 192.0.2.2 dst 192.0.2.1") }, "\(name): \(states)")
            #expect(labeled.allSatisfy { $0.contains("mode transport") && $0.contains("rfc4106(gcm(aes))") }, "\(name): \(states)")
            let policies = Self.lines(out, between: "@@XFRM-POLICY", and: "@@END")
            #expect(policies.components(separatedBy: "security context \(Self.spd)").count == 3, "\(name): \(policies)")
            #expect(!states.contains(secret.psk) && !policies.contains(secret.psk))
        }
        // netutils_t may not polmatch ipsec_spd_t: the kernel says so, and its flow reached the server unlabeled.
        #expect(l["netutils_client"] == "0", "\(context)")
        #expect(rv["server2"] == "connect(192.0.2.1,NO_CONTEXT)", "\(context)")
        #expect(
            !r.left.avcLines(containing: ["denied", "{ polmatch }", "scontext=system_u:system_r:netutils_t:s0", "tcontext=\(Self.spd)"]).isEmpty,
            "\(r.left.avcLines)")
        // pluto met no denial under the added rules (its inherited descriptors aside, which the kernel closes).
        for side in [r.left, r.right] {
            let plutoDenials = side.denials.filter { $0.contains("scontext=system_u:system_r:ipsec_t:s0") && !$0.contains("tclass=fd") }
            #expect(plutoDenials.allSatisfy { $0.contains("tcontext=system_u:object_r:tmpfs_t:s0") }, "\(plutoDenials)")
        }
        // The key never shows.
        for side in [r.left, r.right] { #expect(!side.output.contains(secret.psk) && !side.dmesg.contains(secret.psk)) }
    }

    /// Debian's reference policy as it ships, enforcing: pluto in ipsec_t cannot open the audit socket
    /// and stops at start, so no labeled SA can be negotiated without added rules (Tests/VM/refpolicy-pluto.te).
    @Test func stockReferencePolicyStopsPlutoAtStart() throws {
        let secret = try Self.makePSK()
        defer { try? FileManager.default.removeItem(at: secret.dir) }
        let script = """
            . /vm/files/ike-host
            ike_prepare 192.0.2.1 192.0.2.2 && echo "prepare=ok"
            ike_start_pluto
            sleep 2
            echo "fatal=$(grep -o 'FATAL ERROR: .*' /run/pluto/pluto.log)"
            echo "alive=$(pidof pluto >/dev/null && echo yes || echo no)"
            """
        let r = try VM.run(
            script: script, files: [(repositoryRoot.appendingPathComponent("Tests/VM/ike-host").path, "/vm/files/ike-host"), (secret.file, "/vm/files/psk")],
            timeout: 180, libreswan: true)
        let v = r.keyValues
        #expect(v["prepare"] == "ok", "\(r.output)")
        #expect(v["fatal"] == "FATAL ERROR: audit_open() failed: Permission denied (errno 13)", "\(r.output)")
        #expect(v["alive"] == "no", "\(r.output)")
        #expect(
            !r.avcLines(containing: ["denied", "{ create }", "scontext=system_u:system_r:ipsec_t:s0", "tclass=netlink_audit_socket"]).isEmpty,
            "\(r.avcLines)")
        #expect(!r.output.contains(secret.psk) && !r.dmesg.contains(secret.psk))
    }
}
