// `salabel doctor` in a real SELinux kernel (Debian's 6.1 kernel under QEMU, Tests/VM/README.md), on
// a healthy guest and on guests broken on purpose (Specs/manager/doctor.md). salabel runs inside the
// guest as the other VM tests run it (GuestSalabel). Four boots:
//
//   A. The echo example's policy (the embedded policy with network_peer_controls) plus a type stale_t,
//      enforcing, esp4 loaded, the kernel's own /boot/config in the guest, securityfs mounted; ns c
//      holds an SPD entry labeled ipsec_spd_t and an SA labeled kernel_t:
//        1. healthy: `doctor --netns c` prints one OK line and exits 0; --json has no finding;
//        2. drops: ns s sends ESP on an SPI ns c lacks: the doctor's xfrm-stat findings are exactly
//           the nonzero counters of ns c's /proc/net/xfrm_stat as `cat` shows them (XfrmInNoStates);
//        3. permissive (setenforce 0): selinux-enforcing, fix `setenforce 1`;
//        4. a stale label: an SA labeled stale_t, then the same policy without stale_t written to
//           /sys/fs/selinux/load: stale-sa-label names the SA's SPI and the delete.
//        5. NetLabel: a CIPSO mapping for 10.77.0.0/24 (netlabelctl, copied in) beside the labeled
//           SAs: a netlabel warning naming the mapping and the netlabelctl fix.
//   B. The same policy without `policycap network_peer_controls`, and `rmmod esp4`:
//      network-peer-controls (fix: the policycap statement) and ipsec-modules (fix: modprobe esp4).
//   C. `--kernel-arg lsm=lockdown,yama,apparmor,selinux`: apparmor wins, the kernel has no SELinux:
//      selinux-enabled and lsm-order, whose fix names an lsm= with selinux and without apparmor.
//   D. `--libreswan`, Debian's reference policy: pluto in ipsec_t with a conn labeled etc_t: the
//      libreswan findings (no domain may polmatch the label, pluto may not set it).
// Each boot fails loudly when QEMU or its packages are missing (VM.run throws), never skips.

import DecisionEngine
import Foundation
import Scenario
import Testing
import TestSupport
import VMHarness

private let harnessContext = "system_u:system_r:\(Scenario.harnessType):s0"

/// The guest's setup: namespaces c and s, ns c's labeled SPD entry and SA (labels as in the script's
/// variables); the crypto is made once while the boot is permissive, then enforcing.
private let setup = #"""
    C=10.77.0.1; SV=10.77.0.2
    K1=0x0102030405060708090a0b0c0d0e0f1011121314
    AEAD='rfc4106(gcm(aes))'
    mkdir -p /sys/kernel/security; mount -t securityfs -o ro securityfs /sys/kernel/security
    ip netns add c && ip netns add s && ip link add vc netns c type veth peer name vs netns s \
      && ip -n c addr add $C/24 dev vc && ip -n s addr add $SV/24 dev vs \
      && ip -n c link set lo up && ip -n s link set lo up && ip -n c link set vc up && ip -n s link set vs up
    echo "net=$?"
    ip -n c xfrm policy add src $C/32 dst $SV/32 dir out ctx system_u:object_r:ipsec_spd_t:s0 tmpl src $C dst $SV proto esp reqid 7 mode transport
    echo "policy_rc=$?"
    doctor() { $S doctor --netns c --json >/tmp/$1.json 2>/tmp/$1.err; echo "$1_rc=$?"; echo "$1=$(cat /tmp/$1.json)"; sed "s/^/$1-err| /" /tmp/$1.err; }

    """#

private func object(_ text: String?) -> [String: Any]? {
    guard let text, let data = text.data(using: .utf8) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

private func findings(_ json: [String: Any]?) -> [[String: Any]] { json?["findings"] as? [[String: Any]] ?? [] }

/// The host's copy of the guest kernel's build configuration (the kernel scripts/vm boots).
private func kernelConfig() throws -> (path: String, release: String) {
    let boot = try FileManager.default.contentsOfDirectory(atPath: "/boot")
    let release = try #require(boot.filter { $0.hasPrefix("vmlinuz-") }.sorted().last).dropFirst("vmlinuz-".count)
    return ("/boot/config-\(release)", String(release))
}

@Suite("salabel doctor against a real SELinux kernel", .serialized)
struct DoctorVMTests {
    @Test func healthyThenDropsPermissiveAndAStaleLabel() throws {
        let base = try Scenario.echoExample().policyText(harness: true).text
        let withStale = try #require(PolicyConfRules.adding("type stale_t, domain;", to: base))
        // The reload: the same policy without stale_t, compiled here with checkpolicy (MLS).
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-doctor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try base.write(to: work.appendingPathComponent("reload.conf"), atomically: true, encoding: .utf8)
        let compiled = try runProcess(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["checkpolicy", "-M", "-c", "33", "-o", work.appendingPathComponent("reload.33").path, work.appendingPathComponent("reload.conf").path],
            input: .null)
        try #require(compiled.status == 0, "checkpolicy: \(compiled.stdout)\(compiled.stderr)")
        let config = try kernelConfig()
        let script =
            "S=\(GuestSalabel.guestPath)\n" + setup + #"""
                ip -n c xfrm state add src $SV dst $C proto esp spi 0x200 reqid 8 mode transport aead "$AEAD" $K1 128 ctx system_u:system_r:kernel_t:s0
                echo "sa_rc=$?"
                setenforce 1
                $S doctor --netns c >/tmp/text.out 2>&1; echo "text_rc=$?"; sed 's/^/text| /' /tmp/text.out
                doctor healthy
                # 2. ESP from ns s on SPI 0x300, which ns c does not have.
                ip -n s xfrm policy add src $SV/32 dst $C/32 dir out tmpl src $SV dst $C proto esp reqid 9 mode transport
                ip -n s xfrm state add src $SV dst $C proto esp spi 0x300 reqid 9 mode transport aead "$AEAD" $K1 128
                ip netns exec s $S probe udp-send --dst $C --port 7001 --message doctor >/tmp/send.out 2>&1; echo "send_rc=$?"
                sleep 1
                ip netns exec c cat /proc/net/xfrm_stat | sed 's/^/stat| /'
                doctor drops
                # 3. permissive.
                setenforce 0; doctor permissive; setenforce 1
                # 4. a stale label.
                ip -n c xfrm state add src $SV dst $C proto esp spi 0x400 reqid 8 mode transport aead "$AEAD" $K1 128 ctx system_u:system_r:stale_t:s0
                echo "stale_sa_rc=$?"
                size=$(stat -c %s /opt/salabel/reload.33)
                dd if=/opt/salabel/reload.33 of=/sys/fs/selinux/load bs="$size" count=1 2>/dev/null; echo "reload_rc=$?"
                ip -n c xfrm state | sed 's/^/state| /'
                doctor stale
                # 5. NetLabel: CIPSO on the wire for 10.77.0.0/24, beside the labeled SAs.
                netlabelctl cipsov4 add pass doi:16 tags:1 && netlabelctl map del default \
                  && netlabelctl map add default address:10.77.0.0/24 protocol:cipsov4,16 \
                  && netlabelctl map add default address:0.0.0.0/0 protocol:unlbl && netlabelctl map add default address:::/0 protocol:unlbl
                echo "cipso_rc=$?"
                doctor netlabel
                # The guest's init (kernel_t, which this policy does not provide for) prints the results: permissive again.
                setenforce 0
                exit 0
                """#
        let result = try VM.run(
            script: script,
            files: [
                (source: try GuestSalabel.binary(), dest: GuestSalabel.guestPath), (source: config.path, dest: "/boot/config-\(config.release)"),
                (source: work.appendingPathComponent("reload.33").path, dest: "/opt/salabel/reload.33"),
                (source: "/usr/sbin/netlabelctl", dest: "/usr/sbin/netlabelctl"),
            ],
            policyConf: withStale, enforcing: false, timeout: 400, contexts: [harnessContext])
        let v = result.keyValues, log = result.output
        #expect(result.exitStatus == 0, "\(log)")
        for key in ["net", "policy_rc", "sa_rc", "send_rc", "stale_sa_rc", "reload_rc", "cipso_rc"] { #expect(v[key] == "0", "\(key): \(log)") }
        func block(_ prefix: String) -> [String] {
            log.split(separator: "\n").filter { $0.hasPrefix("\(prefix)| ") }.map { String($0.dropFirst(prefix.count + 2)) }
        }

        // 1. healthy: one OK line, exit 0; JSON without a finding.
        #expect(v["text_rc"] == "0", "\(log)")
        #expect(block("text") == ["OK: nothing to fix for labeled IPsec (netns c)"], "\(log)")
        let healthy = try #require(object(v["healthy"]), "\(log)")
        #expect(v["healthy_rc"] == "0" && healthy["ok"] as? Bool == true && findings(healthy).isEmpty, "\(log)")
        // Its notes: kernel_t and the echo domains may polmatch ipsec_spd_t (the policy's allow rules).
        let notes = healthy["notes"] as? [[String: Any]] ?? []
        #expect(
            notes.contains { ($0["seen"] as? String)?.contains("may polmatch its label: echo_other_t, echoclient_t, echoserver_t, kernel_t") == true },
            "\(notes)")

        // 2. the drop counters, against ns c's /proc/net/xfrm_stat.
        let nonzero = block("stat").compactMap { line -> String? in
            let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return w.count == 2 && w[1] != "0" ? String(w[0]) : nil
        }
        #expect(nonzero.contains("XfrmInNoStates"), "\(block("stat"))")
        let drops = findings(object(v["drops"])).filter { $0["id"] as? String == "xfrm-stat" }
        #expect(drops.compactMap { $0["subject"] as? String } == nonzero, "\(log)")
        #expect(v["drops_rc"] == "1")

        // 3. permissive.
        let permissive = findings(object(v["permissive"])).first { $0["id"] as? String == "selinux-enforcing" }
        #expect(permissive?["severity"] as? String == "error", "\(log)")
        #expect((permissive?["fix"] as? String)?.hasPrefix("setenforce 1") == true, "\(log)")
        #expect(v["permissive_rc"] == "1")

        // 4. the stale label: the SA is still there with its label, the policy no longer knows it.
        #expect(block("state").contains { $0.contains("security context system_u:system_r:stale_t:s0") }, "\(block("state"))")
        let stale = findings(object(v["stale"])).filter { $0["id"] as? String == "stale-sa-label" }
        #expect(stale.count == 1 && stale.first?["subject"] as? String == "SPI 0x400", "\(log)")
        #expect((stale.first?["fix"] as? String)?.contains("ip xfrm state delete src 10.77.0.2 dst 10.77.0.1 proto esp spi 0x400") == true, "\(log)")
        #expect(v["stale_rc"] == "1")

        // 5. NetLabel's CIPSO mapping beside the labeled SAs (0x200, and the stale 0x400).
        let netlabel = findings(object(v["netlabel"])).first { $0["id"] as? String == "netlabel" }
        #expect(netlabel?["severity"] as? String == "warning", "\(log)")
        #expect((netlabel?["seen"] as? String)?.contains("domain DEFAULT address 10.77.0.0/24: CIPSO, DOI = 16") == true, "\(log)")
        #expect((netlabel?["fix"] as? String)?.contains("netlabelctl map add default address:ADDR protocol:unlbl") == true, "\(log)")
    }

    @Test func peerControlsOffAndEsp4Removed() throws {
        let base = try Scenario.echoExample().policyText(harness: true).text
        let withoutPeerControls = base.replacingOccurrences(of: "\npolicycap network_peer_controls;", with: "\n")
        try #require(withoutPeerControls != base)
        let config = try kernelConfig()
        let script =
            "S=\(GuestSalabel.guestPath)\n" + setup + #"""
                setenforce 1
                rmmod esp4; echo "rmmod_rc=$?"
                echo "esp4_sys=$(ls -d /sys/module/esp4 2>/dev/null | wc -l)"
                echo "peer_cap=$(cat /sys/fs/selinux/policy_capabilities/network_peer_controls)"
                doctor broken
                setenforce 0
                exit 0
                """#
        let result = try VM.run(
            script: script,
            files: [(source: try GuestSalabel.binary(), dest: GuestSalabel.guestPath), (source: config.path, dest: "/boot/config-\(config.release)")],
            policyConf: withoutPeerControls, enforcing: false, timeout: 300, contexts: [harnessContext])
        let v = result.keyValues, log = result.output
        #expect(v["rmmod_rc"] == "0" && v["esp4_sys"] == "0" && v["peer_cap"] == "0", "\(log)")
        let found = findings(object(v["broken"]))
        #expect(v["broken_rc"] == "1", "\(log)")
        let peer = found.first { $0["id"] as? String == "network-peer-controls" }
        #expect((peer?["fix"] as? String)?.contains("`policycap network_peer_controls;`") == true, "\(log)")
        let modules = found.filter { $0["id"] as? String == "ipsec-modules" }
        #expect(modules.compactMap { $0["subject"] as? String } == ["esp4"], "\(log)")
        #expect((modules.first?["fix"] as? String)?.hasPrefix("modprobe esp4") == true, "\(log)")
        // Nothing else is broken on this guest.
        #expect(Set(found.compactMap { $0["id"] as? String }) == ["network-peer-controls", "ipsec-modules"], "\(log)")
    }

    @Test func anotherLSMFirst() throws {
        let config = try kernelConfig()
        let script = #"""
            mkdir -p /sys/kernel/security; mount -t securityfs -o ro securityfs /sys/kernel/security
            echo "lsm=$(cat /sys/kernel/security/lsm)"
            echo "selinuxfs=$(ls -d /sys/fs/selinux 2>/dev/null | wc -l)"
            /opt/salabel/salabel doctor --json >/tmp/d.json 2>/tmp/d.err; echo "d_rc=$?"; echo "d=$(cat /tmp/d.json)"
            sed 's/^/err| /' /tmp/d.err
            exit 0
            """#
        let result = try VM.run(
            script: script,
            files: [(source: try GuestSalabel.binary(), dest: GuestSalabel.guestPath), (source: config.path, dest: "/boot/config-\(config.release)")],
            timeout: 300, kernelArguments: ["lsm=lockdown,yama,apparmor,selinux"])
        let v = result.keyValues, log = result.output
        // The kernel's own list: apparmor, no selinux (the first exclusive LSM wins).
        let lsm = try #require(v["lsm"], "\(log)")
        #expect(lsm.contains("apparmor") && !lsm.contains("selinux"), "\(log)")
        #expect(v["selinuxfs"] == "0", "\(log)")
        #expect(v["d_rc"] == "1", "\(log)")
        let found = findings(object(v["d"]))
        let order = found.first { $0["id"] as? String == "lsm-order" }
        #expect((order?["seen"] as? String)?.hasPrefix("apparmor is the active exclusive LSM and selinux is not in the LSM order (\(lsm),") == true, "\(log)")
        let fix = try #require(order?["fix"] as? String, "\(log)")
        #expect(fix.hasPrefix("boot with lsm=") && fix.contains("instead of lsm=lockdown,yama,apparmor,selinux"), "\(fix)")
        let asked = fix.dropFirst("boot with lsm=".count).prefix { $0 != " " }.split(separator: ",")
        #expect(asked.contains("selinux") && !asked.contains("apparmor"), "\(fix)")
        #expect(found.contains { $0["id"] as? String == "selinux-enabled" && ($0["fix"] as? String)?.contains("security=selinux") == true }, "\(log)")
    }

    /// libreswan (`--libreswan`, Debian's reference policy with Tests/VM/refpolicy-pluto.te): pluto
    /// started in ipsec_t as IKEPairVMTests starts it, its one conn labeled etc_t. Expected by hand from
    /// Debian's policy.33 (`sesearch -A -c association -p polmatch -t etc_t` finds no rule;
    /// `sesearch -A -c association -p setcontext -s ipsec_t` gives ipsec_t setcontext on `domain` and
    /// `ipsec_spd_type` only) and refpolicy-pluto.te (no association rule): no domain may polmatch the
    /// label, and pluto's domain may not set it. The doctor reads the conn with the guest's readwriteconf.
    @Test func libreswanConnNoDomainMayPolmatch() throws {
        let secret = try IKEPairVMTests.makePSK()
        defer { try? FileManager.default.removeItem(at: secret.dir) }
        let label = "system_u:object_r:etc_t:s0"
        let script = """
            . /vm/files/ike-host
            ike_prepare 192.0.2.1 192.0.2.2 \(label) && echo "prepare=ok"
            ike_start_pluto
            echo "pid_file=$(cat /run/pluto/pluto.pid 2>/dev/null)"
            \(GuestSalabel.guestPath) doctor --ipsec-conf /run/ipsec/ipsec.conf --json >/tmp/d.json 2>/tmp/d.err; echo "d_rc=$?"; echo "d=$(cat /tmp/d.json)"
            sed 's/^/err| /' /tmp/d.err
            exit 0
            """
        let result = try VM.run(
            script: script,
            files: [
                (source: try GuestSalabel.binary(), dest: GuestSalabel.guestPath),
                (source: repositoryRoot.appendingPathComponent("Tests/VM/ike-host").path, dest: "/vm/files/ike-host"),
                (source: secret.file, dest: "/vm/files/psk"),
            ],
            policyConf: try IKEPairVMTests.policyWithPlutoRules(), enforcing: false, timeout: 300, libreswan: true)
        let v = result.keyValues, log = result.output
        #expect(v["prepare"] == "ok" && v["pluto_ctl"] == "yes", "\(log)")
        #expect(v["pluto_context"] == "system_u:system_r:ipsec_t:s0", "\(log)")
        #expect(v["d_rc"] == "1", "\(log)")
        let conn = findings(object(v["d"])).filter { $0["id"] as? String == "libreswan" }
        #expect(conn.allSatisfy { $0["subject"] as? String == "conn labeled" }, "\(conn)")
        #expect(conn.contains { $0["seen"] as? String == "no local domain may polmatch its sec-label \(label)" }, "\(log)")
        #expect(conn.contains { ($0["seen"] as? String)?.hasPrefix("pluto's domain ipsec_t may not set its sec-label \(label)") == true }, "\(log)")
        #expect(conn.count == 2, "\(conn)")
        #expect(!log.contains(secret.psk) && !result.dmesg.contains(secret.psk))
    }
}
