// The data plane's local socket on a kernel that runs SELinux (Debian's 6.1 kernel under QEMU,
// Tests/VM/README.md): a context stated at BIND or ADDSA must be the caller's own, which only the
// kernel knows (`SO_PEERSEC`, read through libselinux's `getpeercon_raw`). The callers are moved
// into their domains with `runcon -d`; the boot is permissive so that the policy's rules for Unix
// sockets play no part: the check under test is salabel's, and the labels are the kernel's either way.

import Foundation
import Scenario
import Testing
import TestSupport
import VMHarness

@Suite(.serialized) struct LocalSocketPeerVMTests {
    @Test func aStatedContextMustBeTheCallersOwn() throws {
        let yaml = try String(contentsOf: repositoryRoot.appendingPathComponent("Sources/Scenario/ScenarioDemo/Resources/demo.yaml"), encoding: .utf8)
        let policy = try Scenario(yaml: yaml, file: "demo.yaml").policyText(harness: true).text
        let binary = try GuestSalabel.binary()
        let client = "system_u:system_r:echoclient_t:s0", other = "system_u:system_r:echo_other_t:s0"
        let manager = "system_u:system_r:ipsec_mgmt_t:s0"
        let script = """
            S=\(GuestSalabel.guestPath)
            cd /tmp
            cat > echo.yaml <<'EOF'
            hosts:
              client: { address: 10.77.0.1 }
              server: { address: 10.77.0.2 }
            associations:
              - { name: echo, between: [client, server], context: \(client),
                  reply_context: system_u:system_r:echoserver_t:s0, policy_context: system_u:object_r:ipsec_spd_t:s0,
                  selector: { proto: udp, port: 7 } }
            key_file: echo.keys
            EOF
            $S keygen echo.yaml >/dev/null; echo "keygen=$?"
            $S dataplane run echo.yaml --host client --control /tmp/c.sock --bind 127.0.0.1 --esp-port 4600 \\
              --clear-port 4601 --peer server=127.0.0.1:4610:4611 > /tmp/host.log 2>&1 &
            for i in $(seq 100); do [ -S /tmp/c.sock ] && break; sleep 0.1; done
            send() { runcon -d "$1" $S dataplane send --control /tmp/c.sock --as "$2" --port 0 --to 10.77.0.2 --dport 7 hello; }
            send \(client) \(client) > own.out 2>&1; echo "own=$?"
            send \(client) \(other) > other.out 2>&1; echo "other=$?"
            send \(client) \(client)-s0 > range.out 2>&1; echo "range=$?"
            SA="src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x9000 mode transport aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128 ctx \(client)"
            runcon -d \(client) $S dataplane sa add --control /tmp/c.sock --as \(manager) $SA > forged.out 2>&1; echo "forged=$?"
            runcon -d \(manager) $S dataplane sa add --control /tmp/c.sock --as \(manager) $SA > manager.out 2>&1; echo "manager=$?"
            kill %1; wait
            for f in own other range forged manager; do sed "s/^/$f| /" $f.out; done
            sed 's/^/host| /' /tmp/host.log
            """
        let result = try VM.run(
            script: script, files: [(source: binary, dest: GuestSalabel.guestPath)], policyConf: policy,
            enforcing: false, timeout: 240, contexts: ["system_u:system_r:\(Scenario.harnessType):s0"])
        let v = result.keyValues, out = result.output
        func lines(_ tag: String) -> String {
            out.split(separator: "\n").filter { $0.hasPrefix("\(tag)| ") }.map { String($0.dropFirst(tag.count + 2)) }.joined(separator: "\n")
        }
        #expect(v["keygen"] == "0", "\(out)")
        // The caller states its own context: the datagram is sealed on the SA of that label.
        #expect(v["own"] == "0" && lines("own").hasPrefix("sent esp spi=0x"), "\(out)")
        #expect(lines("own").contains("label=\(client)"), "\(out)")
        // Another domain's context, stated by echoclient_t: refused before anything is bound.
        #expect(v["other"] == "1", "\(out)")
        #expect(
            lines("other").hasPrefix("refused: EACCES: ") && lines("other").contains("the stated context \(other) is not the caller's (\(client))"), "\(out)")
        // `s0-s0` is how a range states `s0`: the same SID, so the same context.
        #expect(v["range"] == "0" && lines("range").hasPrefix("sent esp spi=0x"), "\(out)")
        // A key manager's context stated by a client: no SA, whatever setcontext would have said.
        #expect(v["forged"] == "1" && lines("forged").contains("the stated context \(manager) is not the caller's (\(client))"), "\(out)")
        #expect(v["manager"] == "0" && lines("manager").hasPrefix("ok: ADDSA dst 10.77.0.2 proto esp spi 0x9000"), "\(out)")
        #expect(lines("host").contains("SA added by \(manager)"), "\(out)")
        #expect(!lines("host").contains("SA added by \(client)"), "\(out)")
    }
}
