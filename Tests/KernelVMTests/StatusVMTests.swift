// `salabel status` in a real SELinux kernel (Debian's 6.1 kernel with ESP, Debian's reference policy,
// enforcing; Tests/VM/README.md), against iproute2 in the same guest (Specs/manager/status.md). Two network
// namespaces joined by a veth pair, ns c (10.77.0.1) and ns s (10.77.0.2). In ns c:
//
//   - an SPD entry c→s labeled with the generic ipsec_spd_t, template reqid 7, and no SA for it;
//   - an SA s→c (SPI 0x200) labeled kernel_t, added before `status` starts;
//   - `status --netns c --json` (a snapshot), then `status --netns c --watch --json --count 5`, with
//     `ip -n c xfrm monitor` beside it, while
//       1. a kernel_t process in ns c sends a UDP datagram to ns s: no SA carries kernel_t, so the kernel
//          sends an ACQUIRE carrying the flow's context (Specs/kernel/labeled-ipsec.md §c.3, edge 17);
//       2. an SA c→s labeled kernel_t, SPI 0x100, reqid 7, is added with `ip xfrm state add … ctx …`;
//       3. a second one, SPI 0x101 (the rekey of 0x100: same endpoints, reqid and label);
//       4. both are deleted with `ip xfrm state del`;
//       5. an SA with `limit time-soft 2 limit time-hard 4` is added: soft EXPIRE, then hard EXPIRE;
//     then SIGTERM stops the watch (exit status 0).
//
// Checked: the snapshot's SPD entry and SA are those `ip xfrm policy`/`ip xfrm state` show, with their
// labels known to the running policy and the SA "before status started"; the watch records the ACQUIRE
// with kernel_t (as `ip xfrm monitor` shows it), the two NEWSAs (labels as `ip xfrm state` shows them,
// the second a rekey of the first, no installer named: iproute2's requests carry port id 0), the two DELSAs
// and the soft and hard EXPIREs (as `ip xfrm monitor` shows them), in order. The guest
// fails loudly when QEMU or its packages are missing (VM.run throws), never skips.

import Foundation
import Testing
import TestSupport
import VMHarness

private let kernelDomain = "system_u:system_r:kernel_t:s0"
private let spdLabel = "system_u:object_r:ipsec_spd_t:s0"

private let statusGuestScript = #"""
    C=10.77.0.1; SV=10.77.0.2
    KT=system_u:system_r:kernel_t:s0
    SPD=system_u:object_r:ipsec_spd_t:s0
    K1=0x0102030405060708090a0b0c0d0e0f1011121314
    K2=0x1112131415161718191a1b1c1d1e1f2021222324
    AEAD='rfc4106(gcm(aes))'
    inns() { ns=$1; shift; /bin/ip netns exec "$ns" "$@"; }
    waitfor() { i=0; while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 240 ]; do sleep 0.5; i=$((i + 1)); done; }
    show() { p=$1; shift; for f in "$@"; do tr -d '\000' < "$f" | sed "s/^/$p| /"; done; }
    echo "me=$(cat /proc/self/attr/current)"
    ip netns add c && ip netns add s && ip link add vc netns c type veth peer name vs netns s \
      && ip -n c addr add $C/24 dev vc && ip -n s addr add $SV/24 dev vs \
      && ip -n c link set lo up && ip -n s link set lo up && ip -n c link set vc up && ip -n s link set vs up
    echo "net=$?"
    ip -n c xfrm policy add src $C/32 dst $SV/32 dir out ctx $SPD tmpl src $C dst $SV proto esp reqid 7 mode transport
    echo "policy_rc=$?"
    ip -n c xfrm state add src $SV dst $C proto esp spi 0x200 reqid 8 mode transport aead "$AEAD" $K2 128 ctx $KT
    echo "before_rc=$?"
    $S status --netns c --json >/tmp/snap.json 2>/tmp/snap.err
    echo "snap_rc=$?"
    echo "snap=$(head -n 1 /tmp/snap.json)"
    ip -n c xfrm policy | sed 's/^/ref-policy| /'
    ip -n c xfrm state | sed 's/^/ref-before| /'

    ip -n c xfrm monitor >/tmp/mon.txt 2>&1 &
    mon=$!
    $S status --netns c --watch --json --duration 120 >/tmp/watch.json 2>/tmp/watch.err &
    watch=$!
    waitfor /tmp/watch.json snapshot
    sleep 1
    # 1. a kernel_t flow on the labeled path: ACQUIRE carrying kernel_t.
    inns c $S probe udp-send --dst $SV --port 7001 --message status >/tmp/send.out 2>&1
    echo "send_rc=$?"
    waitfor /tmp/watch.json XFRM_MSG_ACQUIRE
    ip -n c xfrm state | sed 's/^/ref-larval| /'
    # 2, 3. the SA for it, and its rekey.
    ip -n c xfrm state add src $C dst $SV proto esp spi 0x100 reqid 7 mode transport aead "$AEAD" $K1 128 ctx $KT
    echo "add_rc=$?"
    ip -n c xfrm state add src $C dst $SV proto esp spi 0x101 reqid 7 mode transport aead "$AEAD" $K1 128 ctx $KT
    echo "rekey_rc=$?"
    ip -n c xfrm state | sed 's/^/ref-added| /'
    # 4. both deleted.
    ip -n c xfrm state del src $C dst $SV proto esp spi 0x100; echo "del_rc=$?"
    ip -n c xfrm state del src $C dst $SV proto esp spi 0x101; echo "del2_rc=$?"
    # 5. an SA with a short lifetime: soft EXPIRE (a rekey is due), then hard EXPIRE.
    ip -n c xfrm state add src $C dst $SV proto esp spi 0x102 reqid 7 mode transport aead "$AEAD" $K1 128 ctx $KT \
      limit time-soft 2 limit time-hard 4
    echo "short_rc=$?"
    waitfor /tmp/watch.json '"hard":true'
    sleep 1
    # SIGTERM ends the watch cleanly.
    kill -TERM $watch; wait $watch; echo "watch_rc=$?"
    echo "watch_err=$(tr '\n' ' ' </tmp/watch.err)"
    sleep 1; kill $mon 2>/dev/null; wait $mon 2>/dev/null
    n=0; while read -r line; do echo "w$n=$line"; n=$((n + 1)); done </tmp/watch.json
    echo "watch_lines=$n"
    show mon /tmp/mon.txt
    show err /tmp/snap.err /tmp/watch.err /tmp/send.out
    exit 0
    """#

@Suite("salabel status against a real SELinux kernel", .serialized)
struct StatusVMTests {
    @Test func statusFollowsAcquireSAsAndDeletes() throws {
        let binary = try GuestSalabel.binary()
        let clock = ContinuousClock()
        let start = clock.now
        let result = try VM.run(
            script: "S=\(GuestSalabel.guestPath)\n" + statusGuestScript, files: [(source: binary, dest: GuestSalabel.guestPath)],
            timeout: 400)
        print("VM run with the status checks: \(clock.now - start)")
        let v = result.keyValues, log = result.output
        #expect(result.exitStatus == 0, "\(log)")
        #expect(v["me"] == kernelDomain, "\(log)")
        for key in ["net", "policy_rc", "before_rc", "snap_rc", "add_rc", "rekey_rc", "del_rc", "del2_rc", "short_rc", "watch_rc"] {
            #expect(v[key] == "0", "\(key): \(log)")
        }
        func block(_ prefix: String) -> String {
            log.split(separator: "\n").filter { $0.hasPrefix("\(prefix)| ") }.map { String($0.dropFirst(prefix.count + 2)) }.joined(separator: "\n")
        }

        // The snapshot, against ip xfrm policy / ip xfrm state.
        let snap = try #require(object(v["snap"]), "\(log)")
        #expect(snap["status"] as? String == "synchronized")
        #expect((snap["label_check"] as? [String: Any])?["policy"] != nil, "SELinux is enabled: labels are checked")
        let policies = try #require(snap["policies"] as? [[String: Any]])
        #expect(policies.count == block("ref-policy").split(separator: "\n").filter { !$0.hasPrefix("\t") && !$0.isEmpty }.count)
        let policy = try #require(policies.first)
        #expect(block("ref-policy").contains("security context \(spdLabel)"))
        #expect((policy["label"] as? [String: Any])?["context"] as? String == spdLabel)
        #expect((policy["label"] as? [String: Any])?["known"] as? Bool == true)
        let sas = try #require(snap["sas"] as? [[String: Any]])
        #expect(sas.count == 1 && sas.first?["spi"] as? Int == 0x200)
        #expect(block("ref-before").contains("spi 0x00000200") && block("ref-before").contains("security context \(kernelDomain)"))
        #expect((sas.first?["label"] as? [String: Any])?["context"] as? String == kernelDomain)
        #expect((sas.first?["installed_by"] as? [String: Any])?["kind"] as? String == "before_status_started")

        // The watch: a snapshot, then the changes in order, until SIGTERM.
        let count = Int(v["watch_lines"] ?? "") ?? 0
        let lines = (0..<count).compactMap { object(v["w\($0)"]) }
        try #require(lines.count >= 9, "\(log)")
        #expect(lines[0]["type"] as? String == "snapshot")
        #expect(
            lines[1..<9].map { $0["event"] as? String } == [
                "XFRM_MSG_ACQUIRE", "XFRM_MSG_NEWSA", "XFRM_MSG_NEWSA", "XFRM_MSG_DELSA", "XFRM_MSG_DELSA",
                "XFRM_MSG_NEWSA", "XFRM_MSG_EXPIRE", "XFRM_MSG_EXPIRE",
            ], "\(log)")
        #expect(v["watch_err"]?.contains("status: stopped") != true, "--json writes no stop line")

        // 1. the ACQUIRE carries the flow's label, as ip xfrm monitor shows it.
        let acquire = try #require(lines[1]["acquire"] as? [String: Any])
        #expect((acquire["label"] as? [String: Any])?["context"] as? String == kernelDomain)
        #expect(acquire["src"] as? String == "10.77.0.1" && acquire["dst"] as? String == "10.77.0.2")
        #expect(acquire["reqid"] as? Int == 7)
        let monitor = block("mon")
        let monitorAcquire = monitor.components(separatedBy: "acquire proto esp").dropFirst().first ?? ""
        #expect(monitorAcquire.contains("security context \(kernelDomain)"), "ip xfrm monitor: \(monitor)")
        #expect(block("ref-larval").contains("security context \(kernelDomain)"), "the larval SA: \(block("ref-larval"))")

        // 2, 3. the SAs, labeled as ip xfrm state shows them; the second is the rekey of the first.
        let added = block("ref-added")
        for (i, spi) in [(2, 0x100), (3, 0x101)] {
            let sa = try #require(lines[i]["sa"] as? [String: Any])
            #expect(sa["spi"] as? Int == spi)
            #expect((sa["label"] as? [String: Any])?["context"] as? String == kernelDomain)
            #expect(added.contains("spi 0x\(String(format: "%08x", spi)) reqid 7"), "\(added)")
            // iproute2 leaves nlmsg_pid 0 in its requests, and the kernel copies it into the NEWSA.
            #expect((sa["installed_by"] as? [String: Any])?["kind"] as? String == "port_zero", "\(sa)")
        }
        #expect(lines[2]["rekey_of_spi"] == nil)
        #expect(lines[3]["rekey_of_spi"] as? Int == 0x100)
        #expect(added.components(separatedBy: "security context \(kernelDomain)").count - 1 == 3, "\(added)")

        // 4. the deletions, as ip xfrm monitor saw them.
        #expect((lines[4]["sa"] as? [String: Any])?["spi"] as? Int == 0x100)
        #expect((lines[5]["sa"] as? [String: Any])?["spi"] as? Int == 0x101)
        #expect(monitor.components(separatedBy: "Deleted src 10.77.0.1 dst 10.77.0.2").count - 1 == 2, "\(monitor)")

        // 5. the short-lived SA: soft, then hard EXPIRE, as ip xfrm monitor saw them.
        #expect((lines[6]["sa"] as? [String: Any])?["spi"] as? Int == 0x102)
        #expect(lines[7]["change"] as? String == "sa_expired" && lines[7]["hard"] as? Bool == false, "\(lines[7])")
        #expect(lines[8]["change"] as? String == "sa_expired" && lines[8]["hard"] as? Bool == true, "\(lines[8])")
        #expect((lines[8]["sa"] as? [String: Any])?["spi"] as? Int == 0x102)
        #expect(((lines[8]["sa"] as? [String: Any])?["label"] as? [String: Any])?["context"] as? String == kernelDomain)
        #expect(monitor.components(separatedBy: "Expired").count - 1 >= 2, "ip xfrm monitor: \(monitor)")
    }

    private func object(_ text: String?) -> [String: Any]? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
