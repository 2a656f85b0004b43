import Foundation
import Testing
import TestSupport

/// The `salabel` command end to end: exit statuses, text and JSON, batch mode, booleans,
/// permissive mode, and audit records that audit2allow/audit2why read unchanged.
struct CLITests {
    /// The built `salabel` next to the test bundle.
    static let binary: URL = {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: dir.appendingPathComponent("salabel").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("salabel")
    }()

    typealias Run = ProcessResult

    /// Runs a program to its end, `stdin` (or nothing) on its standard input.
    static func run(_ executable: URL, _ args: [String], stdin: String? = nil) throws -> Run {
        try runProcess(executable, args, input: .text(stdin ?? ""))
    }

    static func salabel(_ args: String..., stdin: String? = nil) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "salabel is not built at \(binary.path)")
        return try run(binary, args, stdin: stdin)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static let client = "system_u:system_r:echoclient_t:s0"
    static let spd = "system_u:object_r:ipsec_spd_t:s0"
    static let other = "system_u:system_r:echo_other_t:s0"

    @Test func grantedCheckExitsZero() throws {
        let r = try Self.salabel("policy", "check", Self.client, Self.spd, "association", "polmatch")
        #expect(r.status == 0)
        #expect(r.stdout == "granted { polmatch }\n")
    }

    @Test func deniedCheckExitsOneWithTheAVCRecord() throws {
        let r = try Self.salabel("policy", "check", Self.client, Self.other, "association", "sendto")
        #expect(r.status == 1)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "denied { sendto } (TERULE)")
        #expect(lines.last?.hasPrefix("avc:  denied  { sendto } for  pid=") == true)
        #expect(lines.last?.hasSuffix("comm=\"salabel\" scontext=\(Self.client) tcontext=\(Self.other) tclass=association permissive=0") == true)
    }

    @Test func errorsExitTwoWithAPreciseMessage() throws {
        let bad = try Self.salabel("policy", "check", "system_u:system_r:nope_t:s0", Self.spd, "association", "polmatch")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("unknown type nope_t"))
        let cls = try Self.salabel("policy", "check", Self.client, Self.spd, "nosuchclass", "x")
        #expect(cls.status == 2 && cls.stderr.contains("unknown class \"nosuchclass\""))
        let perm = try Self.salabel("policy", "check", Self.client, Self.spd, "association", "fly")
        #expect(perm.status == 2 && perm.stderr.contains("unknown permission \"fly\""))
        let missing = try Self.salabel("policy", "info", "--policy", "/nonexistent/policy.conf")
        #expect(missing.status == 2 && missing.stderr.contains("cannot read policy file /nonexistent/policy.conf"))
    }

    @Test func computeAVInJSON() throws {
        let r = try Self.salabel("policy", "compute-av", "--json", Self.client, Self.client, "association")
        #expect(r.status == 0)
        let obj = try Self.json(r.stdout)
        #expect(obj["allowed"] as? [String] == ["sendto"])
        #expect(obj["auditallow"] as? [String] == [])
        #expect(obj["auditdeny"] as? [String] == ["sendto", "recvfrom", "setcontext", "polmatch"])
        let err = try Self.salabel("policy", "compute-av", "--json", "not a context", Self.client, "association")
        #expect(err.status == 2)
        #expect(try Self.json(err.stdout)["error"] is String)
    }

    @Test func batchAnswersOneLinePerQueryAndExitsWithTheWorst() throws {
        let input = """
            # comment lines and blank lines are skipped

            \(Self.client) \(Self.spd) association polmatch
            \(Self.client) \(Self.other) association sendto
            \(Self.client) bad:ctx association sendto
            """
        let r = try Self.salabel("policy", "check", "--batch", "--json", stdin: input)
        #expect(r.status == 2)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(try Self.json(lines[0])["granted"] as? Bool == true)
        #expect(try Self.json(lines[1])["granted"] as? Bool == false)
        #expect(try Self.json(lines[2])["error"] is String)
    }

    @Test func booleansChangeDecisions() throws {
        let unlabeled = "system_u:object_r:unlabeled_t:s0"
        let server = "system_u:system_r:echoserver_t:s0"
        let off = try Self.salabel("policy", "check", server, unlabeled, "peer", "recv")
        let on = try Self.salabel("policy", "check", "--bool", "echo_allow_unlabeled=true", server, unlabeled, "peer", "recv")
        #expect(off.status == 1 && on.status == 0)
        let badBool = try Self.salabel("policy", "check", "--bool", "no_such_bool=1", server, unlabeled, "peer", "recv")
        #expect(badBool.status == 2 && badBool.stderr.contains("unknown boolean no_such_bool"))
    }

    @Test func permissiveModeGrantsAndReportsTheDenial() throws {
        let r = try Self.salabel("policy", "check", "--permissive", Self.client, Self.other, "association", "sendto")
        #expect(r.status == 0)
        #expect(r.stdout.contains("not enforced: permissive mode"))
        #expect(r.stdout.contains("permissive=1"))
    }

    @Test func transitions() throws {
        let r = try Self.salabel("policy", "transition", Self.client, Self.spd, "tcp_socket")
        #expect(r.status == 0 && r.stdout == "\(Self.client)\n")
        let bad = try Self.salabel("policy", "transition", "--kind", "sideways", Self.client, Self.spd, "file")
        #expect(bad.status != 0)
    }

    @Test func demoDecisionsAreAsIntended() throws {
        let r = try Self.salabel("demo", "--decisions")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("All 9 decisions are as the embedded policy intends"))
    }

    /// Each decision of `demo --decisions` as text (title, question, verdict, AVC record) and as a
    /// JSON line.
    @Test func demoDecisionsInTextAndJSON() throws {
        let text = try Self.salabel("demo", "--decisions").stdout
        #expect(text.contains("\n1. key manager labels the client's SA\n"))
        #expect(text.contains("\n   association { setcontext }  system_u:system_r:ipsec_mgmt_t:s0 -> system_u:system_r:echoclient_t:s0\n   GRANTED: allowed\n"))
        #expect(text.contains("\n9. client tries to label an SA itself\n"))
        let r = try Self.salabel("demo", "--decisions", "--json")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(r.status == 0 && lines.count == 9)
        let first = try Self.json(lines[0])
        #expect(first["step"] as? Int == 1 && first["permission"] as? String == "setcontext" && first["granted"] as? Bool == true)
        let last = try Self.json(lines[8])
        #expect(last["granted"] as? Bool == false && (last["avc"] as? String)?.contains("denied  { setcontext }") == true)
    }

    /// The README's main command: real ESP between two hosts (namespaces as root, loopback ports
    /// with --loopback), the echo with the labels each side sees, then the refused paths with the
    /// AVC records the engine writes for them; it cleans up after itself.
    @Test(.serialized, arguments: [["demo", "--loopback"], ["demo"]])
    func demoCarriesTheEchoAndRefusesTheRest(_ args: [String]) throws {
        // Its own namespaces only (tests of other suites run demos at the same time).
        let demo = try DemoNamespaceTests.Demo(args)
        demo.process.waitUntilExit()
        let r = Run(status: demo.process.terminationStatus, stdout: demo.stdout, stderr: demo.stderr)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("data plane: userspace ESP in UDP (RFC 3948)"))
        #expect(r.stdout.contains("peer label system_u:system_r:echoclient_t:s0\n"))
        #expect(r.stdout.contains("client: reply \"hello over a labeled SA\", peer label system_u:system_r:echoserver_t:s0\n"))
        #expect(
            r.stdout.contains(
                "avc:  denied  { recv } for  scontext=system_u:system_r:echoserver_t:s0 tcontext=system_u:system_r:echo_other_t:s0 tclass=peer permissive=0"))
        #expect(
            r.stdout.contains(
                "avc:  denied  { recv } for  scontext=system_u:system_r:echoserver_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=peer permissive=0"))
        #expect(r.stdout.contains("ACQUIRE seq 1 10.77.0.1 → 10.77.0.2 proto esp mode transport reqid 0 ctx echo_u:system_r:echoclient_t:s0"))
        #expect(r.stdout.contains("server: dropped it: ESP: replayed"))
        #expect(r.stdout.contains("All 5 paths behave as the embedded policy intends"))
        if args == ["demo"] && geteuid() == 0 { #expect(r.stdout.contains("hosts: network namespaces salabel-demo-")) }
        #expect(try DemoNamespaceTests.namespaces(of: demo.pid).isEmpty, "the demo left network namespaces behind")
    }

    /// Examples/association-check, the library used from a small program.
    @Test func exampleProgram() throws {
        let example = Self.binary.deletingLastPathComponent().appendingPathComponent("association-check")
        let r = try Self.run(example, [])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("polmatch: granted — allowed\nsendto: granted — allowed\nsetcontext: denied — denied (TERULE)\n"))
    }

    /// The AVC records salabel prints are read by audit2allow and audit2why (policycoreutils), and
    /// audit2why's verdict matches salabel's own reason for each denial.
    @Test func auditToolsReadTheRecords() throws {
        let audit2why = URL(fileURLWithPath: "/usr/bin/audit2why"), audit2allow = URL(fileURLWithPath: "/usr/bin/audit2allow")
        try #require(
            FileManager.default.isExecutableFile(atPath: audit2why.path), "audit2why is missing (scripts/deps test installs policycoreutils-python-utils)")
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-cli-\(UUID().uuidString).33").path
        defer { try? FileManager.default.removeItem(atPath: binary) }
        let compile = try Self.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-c", "33", "-o", binary, conf])
        try #require(compile.status == 0, "\(compile.stderr)")

        // A TE denial and an MLS constraint denial.
        let cases: [(String, String, String, String, expectedStage: String, audit2why: String)] = [
            (Self.client, Self.other, "association", "sendto", "TERULE", "Missing type enforcement (TE) allow rule"),
            ("system_u:system_r:echoclient_t:s3", "system_u:object_r:ipsec_spd_t:s0-s2:c0.c7", "association", "polmatch", "CONSTRAINT", "Constraint DENIED"),
        ]
        for c in cases {
            let r = try Self.salabel("policy", "check", "--json", c.0, c.1, c.2, c.3)
            let obj = try Self.json(r.stdout)
            #expect(obj["reasons"] as? [String] == [c.expectedStage])
            let avc = try #require(obj["avc"] as? String)
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-avc-\(UUID().uuidString).log").path
            defer { try? FileManager.default.removeItem(atPath: log) }
            try "type=AVC msg=audit(1700000000.123:42): \(avc)\n".write(toFile: log, atomically: true, encoding: .utf8)
            let why = try Self.run(audit2why, ["-p", binary, "-i", log])
            #expect(why.status == 0 && why.stdout.contains(c.audit2why), "\(why.stdout)\(why.stderr)")
            if c.expectedStage == "TERULE" {
                let allow = try Self.run(audit2allow, ["-p", binary, "-i", log])
                #expect(allow.stdout.contains("allow echoclient_t echo_other_t:association sendto;"), "\(allow.stdout)")
            }
        }
    }

    /// `policy info` counts match seinfo (setools, reading the binary checkpolicy compiled from the
    /// same source).
    @Test func infoCountsMatchSeinfo() throws {
        let seinfo = URL(fileURLWithPath: "/usr/bin/seinfo")
        try #require(FileManager.default.isExecutableFile(atPath: seinfo.path), "seinfo is missing (scripts/deps test installs python3-setools)")
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-info-\(UUID().uuidString).33").path
        defer { try? FileManager.default.removeItem(atPath: binary) }
        _ = try Self.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-c", "33", "-o", binary, conf])
        let theirs = try Self.run(seinfo, [binary])
        let ours = try Self.json(try Self.salabel("policy", "info", "--json").stdout)
        let counts = try #require(ours["counts"] as? [String: Int])
        // seinfo prints "Label:   N" pairs, two to a line.
        var seinfoCounts: [String: Int] = [:]
        let pattern = try NSRegularExpression(pattern: #"([A-Za-z][A-Za-z. _]*?):\s+(\d+)"#)
        let text = theirs.stdout
        for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let label = String(text[Range(m.range(at: 1), in: text)!]).trimmingCharacters(in: .whitespaces)
            seinfoCounts[label] = Int(text[Range(m.range(at: 2), in: text)!])
        }
        func seinfoCount(_ label: String) -> Int? { seinfoCounts[label] }
        for (label, key) in [
            ("Classes", "classes"), ("Types", "types"), ("Attributes", "attributes"), ("Users", "users"),
            ("Roles", "roles"), ("Booleans", "booleans"), ("Sensitivities", "sensitivities"),
            ("Categories", "categories"), ("Polcap", "policy_capabilities"),
            ("Initial SIDs", "initial_sids"), ("Portcon", "portcon"), ("Netifcon", "netifcon"),
        ] {
            #expect(seinfoCount(label) == counts[key], "\(label): seinfo \(String(describing: seinfoCount(label))), salabel \(String(describing: counts[key]))")
        }
    }
}
