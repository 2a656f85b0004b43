// The running policy (Specs/engine/policy-sources.md) in a real SELinux kernel: Debian's 6.1 kernel
// under QEMU with the reference policy loaded (scripts/vm's default binary policy,
// /etc/selinux/default/policy/policy.33, in the guest at /etc/vm/policy), enforcing. In the guest,
// salabel reads /sys/fs/selinux/policy: `policy info --policy running` gives the counts seinfo gives
// for the file the harness loaded (seinfo runs on the host, on the same file), and the same as
// salabel reading that file; the file's size before and after the first open shows why it is read
// until end of file. A `trace --netns` with no --policy says it decides with the running policy
// (the predictions against the kernel are ResolverVMTests', with the same default).

import Foundation
import Testing
import TestSupport
import VMHarness

private let guestScript = #"""
    echo "me=$(cat /proc/self/attr/current)"
    echo "enforce=$(cat /sys/fs/selinux/enforce)"
    echo "stat_before=$(stat -c %s /sys/fs/selinux/policy)"
    echo "running=$($S policy info --policy running --json 2>&1 | tr -d '\n')"
    echo "running_rc=$?"
    echo "stat_after=$(stat -c %s /sys/fs/selinux/policy)"
    echo "loaded=$($S policy info --policy /etc/vm/policy --json 2>&1 | tr -d '\n')"
    # The same file named as a path: read through Foundation, not the system layer.
    echo "by_path=$($S policy info --policy /sys/fs/selinux/policy --json 2>&1 | tr -d '\n')"
    echo "text_first=$($S policy info --policy running 2>&1 | head -n 1)"
    # A live command with no --policy: two namespaces with one labeled SA pair, traced.
    ip netns add c && ip netns add s
    K=0x0102030405060708090a0b0c0d0e0f1011121314
    KT=system_u:system_r:kernel_t:s0
    SPD=system_u:object_r:ipsec_spd_t:s0
    for ns in c s; do
      $S xfrm state add --netns $ns src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x100 reqid 1 mode transport \
        aead 'rfc4106(gcm(aes))' $K 128 ctx $KT >/tmp/add.$ns 2>&1 || echo "add_failed=$ns"
    done
    echo "add_line=$(head -n 1 /tmp/add.c)"
    $S xfrm policy add --netns c src 10.77.0.1/32 dst 10.77.0.2/32 dir out ctx $SPD \
      tmpl src 10.77.0.1 dst 10.77.0.2 proto esp reqid 1 mode transport >/tmp/pol.c 2>&1; echo "pol_rc=$?"
    $S trace --netns c --peer-netns s --from $KT --to $KT --dport 7 --no-reply >/tmp/trace.txt 2>&1
    echo "trace_rc=$?"
    echo "trace_first=$(head -n 1 /tmp/trace.txt)"
    echo "trace_json=$($S trace --netns c --peer-netns s --from $KT --to $KT --dport 7 --no-reply --json 2>&1 | tr -d '\n')"
    echo "trace_embedded=$($S trace --netns c --peer-netns s --from $KT --to $KT --dport 7 --no-reply --policy embedded 2>&1 | head -n 1)"
    sed 's/^/| /' /tmp/trace.txt /tmp/add.c /tmp/pol.c
    exit 0
    """#

@Suite("The running policy, read from selinuxfs in a real SELinux kernel", .serialized)
struct RunningPolicyVMTests {
    static let loadedPolicy = "/etc/selinux/default/policy/policy.33"

    @Test func runningPolicyIsTheLoadedOne() throws {
        let binary = try GuestSalabel.binary()
        let result = try VM.run(
            script: "S=\(GuestSalabel.guestPath)\n" + guestScript, files: [(source: binary, dest: GuestSalabel.guestPath)], timeout: 300)
        let v = result.keyValues, log = result.output
        #expect(result.exitStatus == 0, "\(log)")
        #expect(v["enforce"] == "1", "\(log)")
        // The size is set when the kernel writes the policy out, at the first open.
        #expect(v["stat_before"] == "0", "\(log)")
        let size = try #require(Int(v["stat_after"] ?? ""), "\(log)")
        #expect(size > 1_000_000, "\(log)")

        let running = try #require(object(v["running"]), "policy info --policy running: \(v["running"] ?? "nil")")
        let loaded = try #require(object(v["loaded"]), "\(v["loaded"] ?? "nil")")
        let byPath = try #require(object(v["by_path"]), "\(v["by_path"] ?? "nil")")
        let counts = try #require(running["counts"] as? [String: Int])
        #expect(counts == loaded["counts"] as? [String: Int], "the running policy and the file loaded differ")
        #expect(counts == byPath["counts"] as? [String: Int], "read by path, the running policy differs")
        #expect(running["mls"] as? Bool == true && running["handle_unknown"] as? String == loaded["handle_unknown"] as? String)
        #expect(v["text_first"] == "Policy: running:/sys/fs/selinux/policy", "\(log)")

        // seinfo on the host, on the file the harness loaded.
        let theirs = try Self.seinfo(Self.loadedPolicy)
        for (label, key) in [
            ("Classes", "classes"), ("Types", "types"), ("Attributes", "attributes"), ("Users", "users"), ("Roles", "roles"),
            ("Booleans", "booleans"), ("Sensitivities", "sensitivities"), ("Categories", "categories"), ("Polcap", "policy_capabilities"),
            ("Portcon", "portcon"), ("Netifcon", "netifcon"),
        ] {
            #expect(
                theirs[label] != nil && theirs[label] == counts[key],
                "\(label): seinfo \(String(describing: theirs[label])), salabel \(String(describing: counts[key]))")
        }

        print(
            "guest: /sys/fs/selinux/policy stat size \(v["stat_before"] ?? "?") before the first open, \(size) after; "
                + "policy info --policy running: types \(counts["types"] ?? -1), attributes \(counts["attributes"] ?? -1), "
                + "booleans \(counts["booleans"] ?? -1), classes \(counts["classes"] ?? -1) (seinfo on \(Self.loadedPolicy): "
                + "types \(theirs["Types"] ?? -1), attributes \(theirs["Attributes"] ?? -1), booleans \(theirs["Booleans"] ?? -1), classes \(theirs["Classes"] ?? -1))"
        )
        print("guest: trace --netns c --peer-netns s: \(v["trace_first"] ?? "?")")

        // trace --netns with no --policy: the running policy, named in text and JSON.
        #expect(v["pol_rc"] == "0" && v["add_failed"] == nil, "\(log)")
        #expect(v["add_line"]?.hasPrefix("policy: running (/sys/fs/selinux/policy, version 33, MLS)") == true, "xfrm: \(log)")
        #expect(v["trace_first"] == "policy: running (/sys/fs/selinux/policy, version 33, MLS)", "\(log)")
        #expect(v["trace_rc"] == "0", "\(log)")
        let trace = try #require(object(v["trace_json"]), "\(v["trace_json"] ?? "nil")")
        let policy = trace["policy"] as? [String: Any]
        #expect(policy?["source"] as? String == "running" && policy?["version"] as? Int == 33 && policy?["form"] as? String == "binary", "\(trace)")
        #expect(trace["delivered"] as? Bool == true && trace["peer"] as? String == "system_u:system_r:kernel_t:s0", "\(trace)")
        #expect(v["trace_embedded"] == "policy: embedded (default-policy.conf, version 33, MLS)", "\(log)")
    }

    /// seinfo's "Label: N" pairs for a binary policy.
    static func seinfo(_ path: String) throws -> [String: Int] {
        let tool = URL(fileURLWithPath: "/usr/bin/seinfo")
        try #require(FileManager.default.isExecutableFile(atPath: tool.path), "seinfo is missing (scripts/deps test installs python3-setools)")
        let text = try runProcess(tool, [path], standardError: .discard).stdout
        var out: [String: Int] = [:]
        let pattern = try NSRegularExpression(pattern: #"([A-Za-z][A-Za-z. _]*?):\s+(\d+)"#)
        for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let label = String(text[Range(m.range(at: 1), in: text)!]).trimmingCharacters(in: .whitespaces)
            out[label] = Int(text[Range(m.range(at: 2), in: text)!])
        }
        return out
    }

    private func object(_ text: String?) -> [String: Any]? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
