// The VM harness itself, against a real SELinux kernel with ESP (Debian's kernel under QEMU, see
// Tests/VM/README.md). Each test is one boot; each boot batches many checks and reports them as
// KEY=VALUE lines. Without QEMU or the kernel package the tests fail (scripts/deps vm), never skip.

import Foundation
import Testing
import TestSupport
import VMHarness

private let key128 = "0x0102030405060708090a0b0c0d0e0f1011121314"  // AES-128 key + 4-byte salt
private let spd = "system_u:object_r:ipsec_spd_t:s0"

@Suite("VM harness: a real SELinux kernel with ESP", .serialized)
struct HarnessSmokeTests {
    /// Debian's reference policy, enforcing: policy state, labeled SAs and policies through iproute2,
    /// an unknown context, denials for the init's domain and for a confined domain, a payload binary.
    @Test func referencePolicyEnforcing() throws {
        let payload = "/usr/bin/sha256sum"  // a dynamic ELF file: --file must bring its libraries
        let script = """
            A=192.0.2.1; B=192.0.2.2
            echo "enforce=$(cat /sys/fs/selinux/enforce)"
            echo "policyvers=$(cat /sys/fs/selinux/policyvers)"
            echo "mls=$(cat /sys/fs/selinux/mls)"
            echo "initcontext=$(cat /proc/self/attr/current)"
            echo "iproute2=$(ip -V 2>&1 | head -n 1)"

            # A labeled SA with AES-GCM, and one with AES-CBC + HMAC-SHA256.
            ip xfrm state add src $A dst $B proto esp spi 0x1000 reqid 1 mode transport \\
              aead 'rfc4106(gcm(aes))' \(key128) 128 ctx "\(spd)"
            echo "sa_gcm_add=$?"
            echo "sa_gcm_ctx=$(ip xfrm state get src $A dst $B proto esp spi 0x1000 | grep -c 'security context \(spd)')"
            ip xfrm state add src $A dst $B proto esp spi 0x1001 reqid 1 mode transport \\
              enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff \\
              auth-trunc 'hmac(sha256)' 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128 \\
              ctx "\(spd)"
            echo "sa_cbc_add=$?"
            # A labeled policy.
            ip xfrm policy add src $A/32 dst $B/32 dir out ctx "\(spd)" \\
              tmpl src $A dst $B proto esp reqid 1 mode transport
            echo "pol_add=$?"
            echo "pol_ctx=$(ip xfrm policy list dir out | grep -c 'security context \(spd)')"
            # A context the policy does not know: EINVAL, iproute2 exits 2.
            ip xfrm state add src $A dst $B proto esp spi 0x1002 mode transport \\
              aead 'rfc4106(gcm(aes))' \(key128) 128 ctx "system_u:object_r:salabel_no_such_t:s0" 2>/tmp/err
            echo "sa_unknown=$?"
            echo "sa_unknown_err=$(cat /tmp/err)"
            ip xfrm policy add src $A/32 dst $B/32 dir in ctx "system_u:object_r:salabel_no_such_t:s0" 2>/tmp/err
            echo "pol_unknown=$?"
            # A valid context the init's domain (kernel_t) may not set: EACCES and an AVC denial.
            ip xfrm state add src $A dst $B proto esp spi 0x1003 mode transport \\
              aead 'rfc4106(gcm(aes))' \(key128) 128 ctx "system_u:object_r:etc_t:s0" 2>/tmp/err
            echo "sa_etc=$?"
            echo "sa_etc_err=$(cat /tmp/err)"

            # A confined domain without association setcontext: ipsec_supervisor_t (strongSwan's
            # starter) has net_admin and netlink_xfrm_socket but no setcontext. kernel_t may only move
            # to init_t; init_t may exec-transition to ipsec_supervisor_t through its entrypoint type.
            refpolicy_label_libraries; echo "label_libs=$?"
            mkdir -p /run/supervisor && cp /bin/ip /run/supervisor/ip
            chcon system_u:object_r:ipsec_supervisor_exec_t:s0 /run/supervisor/ip; echo "label_ip=$?"
            echo "domain=$(runcon -d system_u:system_r:init_t:s0 cat /proc/self/attr/current)"
            runcon -d system_u:system_r:init_t:s0 runcon system_u:system_r:ipsec_supervisor_t:s0 \\
              /run/supervisor/ip xfrm state add src $A dst $B proto esp spi 0x1004 mode transport \\
              aead 'rfc4106(gcm(aes))' \(key128) 128 ctx "\(spd)"
            echo "supervisor_add=$?"
            ip xfrm state get src $A dst $B proto esp spi 0x1004 >/dev/null 2>&1
            echo "supervisor_sa_exists=$?"
            runcon -d system_u:system_r:init_t:s0 runcon system_u:system_r:ipsec_supervisor_t:s0 \\
              /run/supervisor/ip xfrm state list
            echo "supervisor_list=$?"
            echo "states=$(ip xfrm state | grep -c '^src')"

            # A payload file with its shared libraries.
            echo "payload=$(echo -n salabel | /opt/payload/sha256sum | cut -d' ' -f1)"
            """
        let clock = ContinuousClock()
        let start = clock.now
        let result = try VM.run(script: script, files: [(source: payload, dest: "/opt/payload/sha256sum")])
        let elapsed = clock.now - start
        print("VM boot with the reference policy: \(elapsed)")
        let v = result.keyValues
        #expect(result.exitStatus == 0, "\(result.output)")

        #expect(v["enforce"] == "1")
        #expect(v["policyvers"] == "33")
        #expect(v["mls"] == "1")
        #expect(v["initcontext"] == "system_u:system_r:kernel_t:s0")
        #expect(v["iproute2"]?.hasPrefix("ip utility, iproute2") == true, "busybox's ip ran instead of iproute2's")

        #expect(v["sa_gcm_add"] == "0")
        #expect(v["sa_gcm_ctx"] == "1")
        #expect(v["sa_cbc_add"] == "0")
        #expect(v["pol_add"] == "0")
        #expect(v["pol_ctx"] == "1")
        #expect(v["sa_unknown"] == "2")
        #expect(v["sa_unknown_err"] == "RTNETLINK answers: Invalid argument")
        #expect(v["pol_unknown"] == "2")
        #expect(v["sa_etc"] == "2")
        #expect(v["sa_etc_err"] == "RTNETLINK answers: Permission denied")
        #expect(
            result.avcLines(containing: [
                "avc:  denied  { setcontext }", "scontext=system_u:system_r:kernel_t:s0",
                "tcontext=system_u:object_r:etc_t:s0", "tclass=association", "permissive=0",
            ]).count == 1, "\(result.avcLines)")

        #expect(v["label_libs"] == "0")
        #expect(v["label_ip"] == "0")
        #expect(v["domain"] == "system_u:system_r:init_t:s0")
        #expect(v["supervisor_add"] == "2")  // EACCES
        #expect(v["supervisor_sa_exists"] == "2")  // nothing was created
        #expect(v["supervisor_list"] == "0")  // dumps need no setcontext
        #expect(v["states"] == "2")
        #expect(
            result.avcLines(containing: [
                "avc:  denied  { setcontext }", "scontext=system_u:system_r:ipsec_supervisor_t:s0",
                "tcontext=\(spd)", "tclass=association", "permissive=0",
            ]).count == 1, "\(result.avcLines)")
        // The init's own SA with ipsec_spd_t was allowed: no denial names it as the source.
        #expect(result.avcLines(containing: ["scontext=system_u:system_r:kernel_t:s0", "tcontext=\(spd)"]).isEmpty)

        #expect(v["payload"] == "62ef5edf60d65f69fb3b151306079791b42ccadb2a2e3354a23e153313cd96a3")  // sha256("salabel")
    }

    /// salabel's embedded policy compiled from its policy.conf, permissive: the loaded policy is that one
    /// (a refpolicy type is unknown to it), denials are audited with permissive=1, the status comes back.
    @Test func embeddedPolicyPermissive() throws {
        let conf = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf"),
            encoding: .utf8)
        let script = """
            A=192.0.2.1; B=192.0.2.2
            echo "enforce=$(cat /sys/fs/selinux/enforce)"
            echo "mls=$(cat /sys/fs/selinux/mls)"
            echo "initcontext=$(cat /proc/self/attr/current)"
            ip xfrm state add src $A dst $B proto esp spi 0x2000 mode transport \\
              aead 'rfc4106(gcm(aes))' \(key128) 128 ctx "system_u:object_r:ipsec_spd_t:s3:c0.c15"
            echo "sa_spd=$?"
            ip xfrm state add src $A dst $B proto esp spi 0x2001 mode transport \\
              aead 'rfc4106(gcm(aes))' \(key128) 128 ctx "system_u:object_r:echo_port_t:s0"
            echo "sa_port=$?"
            ip xfrm state add src $A dst $B proto esp spi 0x2002 mode transport \\
              aead 'rfc4106(gcm(aes))' \(key128) 128 ctx "system_u:object_r:ipsec_supervisor_exec_t:s0" 2>/dev/null
            echo "sa_refpolicy_type=$?"
            exit 7
            """
        let result = try VM.run(script: script, files: [], policyConf: conf, enforcing: false)
        let v = result.keyValues
        #expect(result.exitStatus == 7, "\(result.output)")
        #expect(v["enforce"] == "0")
        #expect(v["mls"] == "1")
        #expect(v["initcontext"] == "system_u:system_r:kernel_t:s0-s3:c0.c15")
        #expect(v["sa_spd"] == "0")
        #expect(v["sa_port"] == "0")  // permissive: allowed, but audited
        #expect(v["sa_refpolicy_type"] == "2")
        #expect(
            result.avcLines(containing: [
                "avc:  denied  { setcontext }", "tcontext=system_u:object_r:echo_port_t:s0", "tclass=association", "permissive=1",
            ]).count == 1, "\(result.avcLines)")
    }
}
