// `salabel demo` on a kernel that can carry it (Debian's 6.1 kernel under QEMU, Tests/VM/README.md):
// booted with the demo scenario's policy (the embedded policy and the harness domain the demo runs
// in), enforcing, it must choose the kernel's data plane, say so, make every path behave as the
// policy intends with the kernel's own AVC records, name the running policy it decides with, and leave
// no namespace behind.

import Foundation
import Scenario
import Testing
import TestSupport
import VMHarness

@Suite(.serialized) struct DemoKernelVMTests {
    @Test func demoUsesTheKernelDataPlaneWhenItCan() throws {
        let yaml = try String(contentsOf: repositoryRoot.appendingPathComponent("Sources/Scenario/ScenarioDemo/Resources/demo.yaml"), encoding: .utf8)
        let scenario = try Scenario(yaml: yaml, file: "demo.yaml")
        let policy = try scenario.policyText(harness: true).text
        let binary = try GuestSalabel.binary()
        // The crypto instances and esp4 are made on first use by kernel threads the policy does not
        // provide for: one SA of each algorithm while the boot is permissive (as the scenario runner does).
        let script = """
            S=\(GuestSalabel.guestPath)
            ip netns add warm && ip -n warm xfrm state add src 10.9.9.1 dst 10.9.9.2 proto esp spi 0x10 mode transport \\
              aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 \\
              && ip -n warm xfrm state add src 10.9.9.1 dst 10.9.9.2 proto esp spi 0x11 mode transport \\
              enc 'cbc(aes)' 0x0102030405060708090a0b0c0d0e0f10 auth-trunc 'hmac(sha256)' 0x0102030405060708090a0b0c0d0e0f100102030405060708090a0b0c0d0e0f10 128
            echo "warm=$?"
            ip netns del warm
            echo 1 > /sys/fs/selinux/enforce
            $S demo > /tmp/demo.out 2>&1
            echo "demo_rc=$?"
            echo 0 > /sys/fs/selinux/enforce
            echo "leftover=$(ls /run/netns 2>/dev/null | grep -c salabel-demo)"
            sed 's/^/| /' /tmp/demo.out
            """
        let result = try VM.run(
            script: script, files: [(source: binary, dest: GuestSalabel.guestPath)], policyConf: policy,
            enforcing: false, timeout: 300, contexts: ["system_u:system_r:\(Scenario.harnessType):s0"])
        let v = result.keyValues, out = result.output
        print(out.split(separator: "\n").filter { $0.hasPrefix("| ") }.joined(separator: "\n"))
        #expect(v["warm"] == "0", "\(out)")
        #expect(v["demo_rc"] == "0", "\(out)")
        #expect(out.contains("| data plane: the kernel's"), "\(out)")
        #expect(out.contains("under the loaded policy (enforcing)"), "\(out)")
        // The policy the kernel decides with, read from selinuxfs (Specs/engine/policy-sources.md).
        #expect(out.contains("| policy: running (/sys/fs/selinux/policy, version 33, MLS)"), "\(out)")
        #expect(
            out.contains(
                "avc:  denied { recv } scontext=system_u:system_r:echoserver_t:s0 tcontext=system_u:system_r:echo_other_t:s0 tclass=peer permissive=0"),
            "\(out)")
        #expect(
            out.contains("avc:  denied { recv } scontext=system_u:system_r:echoserver_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=peer permissive=0"),
            "\(out)")
        #expect(out.contains("acquire: client: echo_u:system_r:echoclient_t:s0"), "\(out)")
        #expect(out.contains("All 4 paths behave as the embedded policy intends, in the kernel"), "\(out)")
        #expect(v["leftover"] == "0", "\(out)")
    }
}
