import Foundation
import Testing
import TestSupport

/// `salabel xfrm …`, `apply` and `keygen` end to end against this machine's kernel, in throwaway
/// network namespaces, with iproute2 as the independent reader. This kernel has XFRM but no ESP/AH
/// and no SELinux (Specs/manager/operations.md): policies install (their context is accepted and not
/// stored), SA adds are refused by the kernel. The real SELinux kernel is in KernelVMTests.
@Suite(.serialized)
struct XfrmCLITests {
    static let ip = URL(fileURLWithPath: "/usr/sbin/ip").path

    /// A fresh namespace for one test, deleted afterwards.
    final class Namespace {
        let name = "salabel-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        init() throws {
            try #require(getuid() == 0, "the xfrm CLI tests need root (network namespaces); run the suite as root")
            let r = try CLITests.run(URL(fileURLWithPath: XfrmCLITests.ip), ["netns", "add", name])
            try #require(r.status == 0, "ip netns add failed: \(r.stderr)")
        }
        deinit { _ = try? CLITests.run(URL(fileURLWithPath: XfrmCLITests.ip), ["netns", "del", name]) }

        func ip(_ args: String...) throws -> CLITests.Run { try ip(args) }

        func ip(_ args: [String]) throws -> CLITests.Run {
            try CLITests.run(URL(fileURLWithPath: XfrmCLITests.ip), ["-n", name] + args)
        }
    }

    static func salabel(_ args: [String], stdin: String? = nil) throws -> CLITests.Run {
        try CLITests.run(CLITests.binary, args, stdin: stdin)
    }

    static let spd = "system_u:object_r:ipsec_spd_t:s0"

    /// The echo association's apply file (client in `ns`, key file echo.keys beside it) in a fresh
    /// directory the caller removes.
    static func echoApplyFile(_ ns: Namespace) throws -> (dir: URL, file: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-apply-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("echo.yaml").path
        try """
        hosts:
          client: { address: 10.77.0.1, netns: \(ns.name) }
          server: { address: 10.77.0.2 }
        associations:
          - name: echo-client
            between: [client, server]
            context: \(client)
            policy_context: \(spd)
            selector: { proto: tcp, port: 7 }
        key_file: echo.keys
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return (dir, file)
    }
    static let client = "system_u:system_r:echoclient_t:s0"

    @Test func policiesRoundTripThroughTheKernel() throws {
        let ns = try Namespace()
        let add = try Self.salabel([
            "xfrm", "policy", "add", "--netns", ns.name, "--src", "10.0.0.1/32", "--dst", "10.0.0.2/32",
            "--proto", "tcp", "--dport", "7", "--dir", "out",
            "--tmpl-src", "10.0.0.1", "--tmpl-dst", "10.0.0.2", "--tmpl-proto", "esp", "--tmpl-mode", "transport",
        ])
        #expect(add.status == 0, "\(add.stderr)")
        // iproute2 reads back what salabel installed.
        let shown = try ns.ip("xfrm", "policy", "show")
        #expect(shown.stdout.contains("src 10.0.0.1/32 dst 10.0.0.2/32 proto tcp dport 7"))
        #expect(shown.stdout.contains("tmpl src 10.0.0.1 dst 10.0.0.2"))
        // salabel reads back what iproute2 installed.
        _ = try ns.ip("xfrm", "policy", "add", "src", "10.9.0.1", "dst", "10.9.0.2", "dir", "in", "priority", "5", "tmpl", "proto", "esp")
        let list = try Self.salabel(["xfrm", "policy", "list", "--netns", ns.name, "--json"])
        let entries = try #require(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == 2)
        #expect(entries.contains { ($0["priority"] as? Int) == 5 && ($0["dir"] as? String) == "in" })
        // Delete by selector; the kernel says ENOENT for one that is not there.
        let del = try Self.salabel(["xfrm", "policy", "delete", "--netns", ns.name, "src", "10.9.0.1", "dst", "10.9.0.2", "dir", "in"])
        #expect(del.status == 0, "\(del.stderr)")
        let again = try Self.salabel(["xfrm", "policy", "delete", "--netns", ns.name, "src", "10.9.0.1", "dst", "10.9.0.2", "dir", "in"])
        #expect(again.status == 1 && again.stderr.contains("ENOENT"))
        let flush = try Self.salabel(["xfrm", "policy", "flush", "--netns", ns.name])
        #expect(flush.status == 0)
        #expect(try ns.ip("xfrm", "policy", "show").stdout.isEmpty)
    }

    @Test func aDeniedLabelNeverReachesTheKernel() throws {
        let ns = try Namespace()
        let r = try Self.salabel([
            "xfrm", "policy", "add", "--netns", ns.name, "--as", Self.client, "--src", "10.0.0.1/32",
            "--dst", "10.0.0.2/32", "--dir", "out", "--context", Self.spd,
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("refused before reaching the kernel"))
        #expect(r.stderr.contains("avc:  denied  { setcontext } for  pid="))
        #expect(try ns.ip("xfrm", "policy", "show").stdout.isEmpty)
    }

    /// The kernel refuses the SA (no ESP here) after the engine allowed it: both sides are reported,
    /// with the kernel's own extended-ACK words.
    @Test func aKernelRefusalReportsBothSides() throws {
        let ns = try Namespace()
        let r = try Self.salabel([
            "xfrm", "state", "add", "--netns", ns.name, "src", "10.0.0.1", "dst", "10.0.0.2", "proto", "esp",
            "spi", "0x100", "aead", "rfc4106(gcm(aes))", "0x000102030405060708090a0b0c0d0e0f10111213", "128",
            "ctx", Self.client,
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("the kernel refused") && r.stderr.contains("the engine allowed setcontext on \(Self.client)"))
        // Keys never appear in what salabel prints.
        #expect(!r.stdout.contains("0001020304") && !r.stderr.contains("0001020304"))
    }

    /// This kernel has no SELinux: it accepts a label and stores none (Specs/manager/batch.md).
    /// salabel reads the entry back, sees the label gone, removes the entry and says why; iproute2
    /// shows that nothing is left. (iproute2 itself installs the entry, unlabeled, without a word.)
    @Test func aLabelTheKernelDropsIsRefused() throws {
        let ns = try Namespace()
        let r = try Self.salabel([
            "xfrm", "policy", "add", "--netns", ns.name, "--src", "10.0.0.1/32", "--dst", "10.0.0.2/32",
            "--dir", "out", "--context", Self.spd,
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("the kernel accepted the label \(Self.spd)") && r.stderr.contains("stored none"), "\(r.stderr)")
        #expect(r.stderr.contains("SELinux is not enabled in this kernel"))
        #expect(try ns.ip("xfrm", "policy", "show").stdout.isEmpty)
        // iproute2's own add of the same line goes through and the label is simply gone.
        _ = try ns.ip("xfrm", "policy", "add", "src", "10.0.0.1/32", "dst", "10.0.0.2/32", "dir", "out", "ctx", Self.spd)
        let shown = try ns.ip("xfrm", "policy", "show").stdout
        #expect(shown.contains("10.0.0.2/32") && !shown.contains("ctx"))
    }

    static func batchFile(_ text: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-batch-\(UUID().uuidString)").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// selinux-testsuite's ipsec-load, as an `ip xfrm` batch file (variables expanded). Its flushes
    /// run, then its labeled policies meet this kernel, which drops labels: the batch fails and the
    /// SPD is restored from the dump taken first, flushed entry included.
    @Test func batchRunsIproute2LinesAsOneTransaction() throws {
        let ns = try Namespace()
        _ = try ns.ip("xfrm", "policy", "add", "src", "10.9.0.1", "dst", "10.9.0.2", "dir", "in", "priority", "5")
        let before = try ns.ip("xfrm", "policy", "show").stdout
        let file = try Self.batchFile(
            """
            # ipsec-load, expanded
            ip xfrm policy flush
            ip xfrm state flush
            ip xfrm policy add src 127.0.0.1 dst 127.0.0.1 proto tcp dir out ctx "\(Self.spd)" tmpl proto ah mode transport level required
            ip xfrm policy add src ::1 dst ::1 proto udp dir out ctx "\(Self.spd)" tmpl proto ah mode transport level required
            ip xfrm state add src 127.0.0.1 dst 127.0.0.1 proto ah spi 0x200 ctx "\(Self.client)" auth sha1 0x0123456789012345678901234567890123456789
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Self.salabel(["xfrm", "batch", "--netns", ns.name, file])
        #expect(r.status == 1)
        #expect(r.stderr.contains("command 3 of 5 (line 4)") && r.stderr.contains("stored none"), "\(r.stderr)")
        #expect(r.stderr.contains("0 of 5 command(s) took effect; the state before the batch was restored"))
        #expect(try ns.ip("xfrm", "policy", "show").stdout == before)
        // A syntax error anywhere runs nothing.
        try "policy flush\npolicy add src 1.1.1.1 dst 2.2.2.2 dir sideways\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try Self.salabel(["xfrm", "batch", "--netns", ns.name, file])
        #expect(bad.status == 2 && bad.stderr.contains("line 2"))
        #expect(try ns.ip("xfrm", "policy", "show").stdout == before)
    }

    /// The adversary's case: line 3 of 7 is refused (EEXIST) while lines 4–7 travel in the same
    /// netlink batch and the kernel installs them. The transaction takes everything out again;
    /// --continue keeps what succeeded (ip -force); iproute2 reads the SPD each time.
    @Test func aRefusedLineLeavesNothingHalfApplied() throws {
        let ns = try Namespace()
        let lines = ["2", "3", "2", "4", "5", "6", "7"].map { "policy add src 10.0.0.1 dst 10.0.0.\($0) dir out priority 1" }
        let file = try Self.batchFile(lines.joined(separator: "\n") + "\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Self.salabel(["xfrm", "batch", "--netns", ns.name, file])
        #expect(r.status == 1)
        #expect(r.stderr.contains("command 3 of 7 (line 3)") && r.stderr.contains("EEXIST"), "\(r.stderr)")
        #expect(r.stderr.contains("0 of 7 command(s) took effect; the state before the batch was restored"))
        #expect(try ns.ip("xfrm", "policy", "show").stdout.isEmpty)
        let kept = try Self.salabel(["xfrm", "batch", "--continue", "--netns", ns.name, file])
        #expect(kept.status == 1)
        #expect(kept.stderr.contains("6 of 7 command(s) took effect"), "\(kept.stderr)")
        #expect(try ns.ip("xfrm", "policy", "show").stdout.components(separatedBy: "src 10.0.0.1/32").count - 1 == 6)
        // A flush early in the file is undone when a later line fails.
        let before = try ns.ip("xfrm", "policy", "show").stdout
        let flushing = try Self.batchFile("policy flush\npolicy add src 10.0.0.1 dst 10.0.0.8 dir out\npolicy add src 10.0.0.1 dst 10.0.0.8 dir out\n")
        defer { try? FileManager.default.removeItem(atPath: flushing) }
        let f = try Self.salabel(["xfrm", "batch", "--netns", ns.name, flushing])
        #expect(f.status == 1 && f.stderr.contains("command 3 of 3 (line 3)"))
        let after = try ns.ip("xfrm", "policy", "show").stdout
        #expect(Set(after.components(separatedBy: "src ")) == Set(before.components(separatedBy: "src ")))
    }

    @Test func monitorPrintsPolicyEvents() throws {
        let ns = try Namespace()
        let out = Pipe()
        let p = try startProcess(
            CLITests.binary, ["xfrm", "monitor", "--netns", ns.name, "--json", "--count", "2"],
            standardOutput: .pipe(out), standardError: .discard)
        Thread.sleep(forTimeInterval: 0.5)
        _ = try ns.ip("xfrm", "policy", "add", "src", "10.1.1.1", "dst", "10.1.1.2", "dir", "out", "priority", "9")
        _ = try ns.ip("xfrm", "policy", "flush")
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if p.isRunning { p.terminate() }
        let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["event"] as? String == "XFRM_MSG_NEWPOLICY")
        #expect((first["policy"] as? [String: Any])?["priority"] as? Int == 9)
        let second = try #require(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["event"] as? String == "XFRM_MSG_FLUSHPOLICY")
    }

    /// keygen writes a private key file; apply --dry-run plans the host's half without sending it;
    /// a real apply here stops at the first SA (no ESP in this kernel) and leaves nothing behind.
    @Test func keygenAndApply() throws {
        let ns = try Namespace()
        let (dir, file) = try Self.echoApplyFile(ns)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keygen = try Self.salabel(["keygen", file])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let keys = dir.appendingPathComponent("echo.keys").path
        #expect((try FileManager.default.attributesOfItem(atPath: keys)[.posixPermissions] as? Int) == 0o600)
        let dry = try Self.salabel(["apply", file, "--host", "client", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stdout.split(separator: "\n").filter { $0.hasPrefix("would ") }.count == 4)
        #expect(!dry.stdout.contains(try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\"")[1]))
        let real = try Self.salabel(["apply", file, "--host", "client"])
        #expect(real.status == 1)
        #expect(try ns.ip("xfrm", "state", "show").stdout.isEmpty)
        #expect(try ns.ip("xfrm", "policy", "show").stdout.isEmpty)
    }

    /// Entries a kernel without SELinux stored without their labels (here installed by iproute2 with
    /// `ctx`, which this kernel drops) are still the file's: `apply --remove` finds and deletes them,
    /// saying why, instead of "nothing to change".
    @Test func removeFindsEntriesStoredWithoutTheirLabel() throws {
        let ns = try Namespace()
        let (dir, file) = try Self.echoApplyFile(ns)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try Self.salabel(["keygen", file]).status == 0)
        for (dir, src, dst, port) in [("out", "10.77.0.1", "10.77.0.2", "dport"), ("in", "10.77.0.2", "10.77.0.1", "sport")] {
            let r = try ns.ip(
                "xfrm", "policy", "add", "src", "\(src)/32", "dst", "\(dst)/32", "proto", "tcp", port, "7", "dir", dir,
                "ctx", Self.spd, "tmpl", "src", src, "dst", dst, "proto", "esp", "mode", "transport")
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(!(try ns.ip("xfrm", "policy", "show").stdout.contains("ctx")))
        let removed = try Self.salabel(["apply", file, "--host", "client", "--remove"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stdout.contains("stored without its label \(Self.spd): this kernel drops labels"), "\(removed.stdout)")
        #expect(try ns.ip("xfrm", "policy", "show").stdout.isEmpty)
    }

    /// `salabel xfrm policy list` prints what `ip xfrm policy` prints for the same SPD (iproute2 is
    /// the reference; trailing blanks aside), here for entries of several shapes installed by ip.
    @Test func policyListReadsAsIproute2() throws {
        let ns = try Namespace()
        for line in [
            "src 10.0.0.1/32 dst 10.0.0.2/32 proto tcp dport 7 dir out priority 3 tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport",
            "src 10.1.0.0/16 dst 192.168.200.7/32 proto udp sport 4500 dir in tmpl src 1.2.3.4 dst 5.6.7.8 proto esp mode tunnel",
            "src ::1/128 dst 2001:db8::/64 proto ipv6-icmp type 135 dir fwd action block",
            "src 0.0.0.0/0 dst 0.0.0.0/0 dir out priority 100 mark 0x10 mask 0xff tmpl proto ah mode transport level use",
        ] {
            let r = try ns.ip(["xfrm", "policy", "add"] + line.split(separator: " ").map(String.init))
            #expect(r.status == 0, "ip xfrm policy add \(line): \(r.stderr)")
        }
        func normalized(_ text: String) -> [String] {
            text.split(separator: "\n").map { String($0).replacingOccurrences(of: " +$", with: "", options: .regularExpression) }
        }
        let ours = try Self.salabel(["xfrm", "policy", "list", "--netns", ns.name])
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(normalized(ours.stdout) == normalized(try ns.ip("xfrm", "policy").stdout))
    }

    /// A namespace that does not exist is named, with how to create it, for every xfrm command.
    @Test func aMissingNamespaceIsNamed() throws {
        let name = "salabel-nosuch-\(getpid())"
        for args in [["xfrm", "policy", "list"], ["xfrm", "state", "flush"], ["xfrm", "monitor", "--count", "1"]] {
            let r = try Self.salabel(args + ["--netns", name])
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("the network namespace \(name)") && r.stderr.contains("ip netns add \(name)"), "\(args): \(r.stderr)")
        }
    }
}
