import Foundation
import Testing
import TestSupport

/// `salabel status` against this machine's kernel, in throwaway network namespaces, with iproute2
/// (`ip xfrm policy`) as the independent reader (Specs/manager/status.md). This kernel stores SPD
/// entries but no SAs (no ESP) and drops the context of an entry (no SELinux): the labels, SAs and
/// ACQUIREs are checked in the VM (KernelVMTests/StatusVMTests).
@Suite(.serialized)
struct StatusCLITests {
    typealias Namespace = XfrmCLITests.Namespace

    /// `ip xfrm policy`'s entries as (selector, direction, context): the selector line without its
    /// trailing blank, `dir X`, and `security context X` if the entry has one.
    static func iprouteEntries(_ text: String) -> Set<[String]> {
        var out = Set<[String]>()
        var current: [String] = []
        func flush() {
            if current.count >= 2 { out.insert(current.count == 2 ? current + [""] : current) }
            current = []
        }
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if !raw.hasPrefix("\t") {
                flush()
                current = [line]
            } else if line.hasPrefix("dir ") {
                current.insert(String(line.split(separator: " ")[1]), at: min(1, current.count))
            } else if line.hasPrefix("security context ") {
                current.append(String(line.dropFirst("security context ".count)))
            }
        }
        flush()
        return out
    }

    /// `salabel status`'s entries, from its text: `dir X SELECTOR priority …` and the context line.
    static func statusEntries(_ text: String) -> Set<[String]> {
        var out = Set<[String]>()
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for (i, line) in lines.enumerated() where line.hasPrefix("dir ") {
            let words = line.split(separator: " ", maxSplits: 2)
            guard words.count == 3, let range = words[2].range(of: " priority ") else { continue }
            let ctx = lines[i + 1].dropFirst("security context ".count)
            out.insert([String(words[2][..<range.lowerBound]), String(words[1]), ctx == "none (unlabeled)" ? "" : String(ctx)])
        }
        return out
    }

    @Test func snapshotShowsTheEntriesIprouteShows() throws {
        let ns = try Namespace()
        for args in [
            ["src", "10.1.0.1/32", "dst", "10.1.0.2/32", "proto", "udp", "dport", "4500", "dir", "out", "ctx", XfrmCLITests.spd],
            ["src", "fd00::1/128", "dst", "fd00::2/128", "dir", "in", "ctx", "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023"],
            ["src", "10.2.0.0/16", "dst", "10.3.0.0/16", "proto", "tcp", "sport", "7", "dir", "fwd"],
        ] {
            let r = try ns.ip(["xfrm", "policy", "add"] + args + ["tmpl", "proto", "esp", "mode", "transport"])
            try #require(r.status == 0, "ip xfrm policy add: \(r.stderr)")
        }
        let reference = Self.iprouteEntries(try ns.ip("xfrm", "policy").stdout)
        try #require(reference.count == 3)
        let status = try XfrmCLITests.salabel(["status", "--netns", ns.name])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(Self.statusEntries(status.stdout) == reference)
        #expect(status.stdout.contains("status: synchronized"))
        #expect(status.stdout.contains("SAs: 0"))

        let json = try XfrmCLITests.salabel(["status", "--netns", ns.name, "--json"])
        let lines = json.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let o = try CLITests.json(String(lines[0]))
        #expect(o["type"] as? String == "snapshot")
        #expect(o["status"] as? String == "synchronized")
        let policies = try #require(o["policies"] as? [[String: Any]])
        #expect(Set(policies.compactMap { $0["dir"] as? String }) == Set(reference.map { $0[1] }))
        #expect(o["label_check"] != nil)
    }

    @Test func watchSeesAnAddAndADeleteAsTheyHappen() throws {
        let ns = try Namespace()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-status-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let watch = try startProcess(
            CLITests.binary, ["status", "--netns", ns.name, "--watch", "--json", "--count", "2", "--duration", "30"], input: .null,
            standardOutput: .file(out), standardError: .discard)
        defer { if watch.isRunning { watch.terminate() } }
        // The snapshot comes after the subscription: what follows it is seen.
        try #require(try Self.waitFor(out) { $0.contains("\"type\":\"snapshot\"") }, "no snapshot")
        let add = ["src", "10.4.0.1/32", "dst", "10.4.0.2/32", "proto", "udp", "dport", "53", "dir", "out"]
        #expect(try ns.ip(["xfrm", "policy", "add"] + add + ["tmpl", "proto", "esp"]).status == 0)
        #expect(try ns.ip(["xfrm", "policy", "del", "src", "10.4.0.1/32", "dst", "10.4.0.2/32", "proto", "udp", "dport", "53", "dir", "out"]).status == 0)
        watch.waitUntilExit()
        #expect(watch.terminationStatus == 0)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map { try CLITests.json(String($0)) }
        try #require(lines.count == 3)
        #expect(lines[1]["event"] as? String == "XFRM_MSG_NEWPOLICY")
        #expect(lines[1]["change"] as? String == "policy_added")
        #expect(((lines[1]["policy"] as? [String: Any])?["selector"] as? [String: Any])?["src"] as? String == "10.4.0.1/32")
        #expect(lines[2]["event"] as? String == "XFRM_MSG_DELPOLICY")
        #expect(((lines[2]["policy"] as? [String: Any])?["selector"] as? [String: Any])?["dport"] as? Int == 53)
    }

    @Test func sigtermStopsTheWatchCleanly() throws {
        let ns = try Namespace()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-status-\(UUID().uuidString)")
        let err = out.appendingPathExtension("err")
        defer { for f in [out, err] { try? FileManager.default.removeItem(at: f) } }
        let watch = try startProcess(
            CLITests.binary, ["status", "--netns", ns.name, "--watch", "--duration", "30"], input: .null, standardOutput: .file(out),
            standardError: .file(err))
        defer { if watch.isRunning { watch.terminate() } }
        try #require(try Self.waitFor(out) { $0.contains("status: synchronized") }, "no snapshot")
        watch.terminate()  // SIGTERM
        watch.waitUntilExit()
        #expect(watch.terminationReason == .exit && watch.terminationStatus == 0)
        #expect(try String(contentsOf: err, encoding: .utf8).contains("status: stopped (SIGTERM)"))
    }

    @Test func aMissingNamespaceIsAnError() throws {
        let r = try XfrmCLITests.salabel(["status", "--netns", "salabel-no-such-ns-\(getpid())"])
        #expect(r.status == 2)
        #expect(!r.stderr.isEmpty)
        let bad = try XfrmCLITests.salabel(["status", "--count", "3"])
        #expect(bad.status == 2 && bad.stderr.contains("--count and --duration go with --watch"))
    }

    /// Polls `file` (every 50 ms, at most 10 s) until `done` holds for its text.
    static func waitFor(_ file: URL, _ done: (String) -> Bool) throws -> Bool {
        for _ in 0..<200 {
            if let text = try? String(contentsOf: file, encoding: .utf8), done(text) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
}
