import Foundation
import Testing
import TestSupport

/// `salabel why` (Specs/resolver/why.md) against audit userspace's own reading of the same records:
/// audit2allow writes the allow rule for a TE denial, audit2why says whether a TE rule, a boolean
/// or a constraint denied it, both on the binary checkpolicy compiles from the embedded policy's
/// source. The SAD/SPD is the embedded echo example's (Specs/scenarios/echo.yaml).
struct WhyCLITests {
    static let server = "system_u:system_r:echoserver_t:s0"

    static func avc(_ perm: String, _ s: String, _ t: String, _ cls: String) -> String {
        "avc:  denied  { \(perm) } for  pid=7 comm=\"probe\" scontext=\(s) tcontext=\(t) tclass=\(cls) permissive=0"
    }

    /// Records of each kind, and what audit2why says caused each.
    static let cases: [(avc: String, stages: [String], audit2why: String)] = [
        (avc("recv", server, CLITests.other, "peer"), ["TERULE"], "Missing type enforcement (TE) allow rule"),
        (avc("polmatch", CLITests.other, "system_u:object_r:ipsec_restricted_spd_t:s0", "association"), ["TERULE"], "Missing type enforcement (TE) allow rule"),
        (avc("sendto", CLITests.client, CLITests.other, "association"), ["TERULE"], "Missing type enforcement (TE) allow rule"),
        (avc("recv", server, "system_u:object_r:unlabeled_t:s0", "peer"), ["TERULE"], "The boolean echo_allow_unlabeled was set incorrectly"),
        (
            avc("polmatch", "system_u:system_r:echoclient_t:s3", "system_u:object_r:ipsec_spd_t:s0-s2:c0.c7", "association"), ["CONSTRAINT"],
            "Constraint DENIED"
        ),
    ]

    @Test func whyAgreesWithAudit2allowAndAudit2why() throws {
        let audit2why = URL(fileURLWithPath: "/usr/bin/audit2why"), audit2allow = URL(fileURLWithPath: "/usr/bin/audit2allow")
        try #require(
            FileManager.default.isExecutableFile(atPath: audit2why.path), "audit2why is missing (scripts/deps test installs policycoreutils-python-utils)")
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-why-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = dir.appendingPathComponent("policy.33").path
        let compile = try CLITests.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-c", "33", "-o", binary, conf])
        try #require(compile.status == 0, "\(compile.stderr)")

        let log = Self.cases.enumerated().map { "type=AVC msg=audit(1700000000.\(100 + $0.offset):\($0.offset)): \($0.element.avc)" }.joined(separator: "\n")
        let why = try CLITests.salabel("why", "--json", stdin: log + "\n")
        #expect(why.status == 0, "\(why.stderr)")
        let records = try #require(try CLITests.json(why.stdout)["records"] as? [[String: Any]])
        try #require(records.count == Self.cases.count)
        for (c, r) in zip(Self.cases, records) {
            let file = dir.appendingPathComponent("one.log").path
            try "type=AVC msg=audit(1700000000.123:42): \(c.avc)\n".write(toFile: file, atomically: true, encoding: .utf8)
            let policy = try #require(r["policy"] as? [String: Any])
            #expect(policy["denial_stages"] as? [String] == c.stages, "\(c.avc)")
            let theirs = try CLITests.run(audit2why, ["-p", binary, "-i", file])
            #expect(theirs.stdout.contains(c.audit2why), "\(theirs.stdout)")
            let fixes = try #require(r["fixes"] as? [[String: Any]])
            if c.stages == ["TERULE"] {
                // audit2allow's rule, word for word.
                let allow = try CLITests.run(audit2allow, ["-p", binary, "-i", file])
                let rule = try #require(fixes.first { $0["kind"] as? String == "allow_rule" }?["rule"] as? String)
                #expect(allow.stdout.split(separator: "\n").contains { $0 == rule }, "salabel: \(rule)\naudit2allow:\n\(allow.stdout)")
            }
            if c.audit2why.hasPrefix("The boolean") {
                #expect(
                    fixes.contains { $0["kind"] as? String == "boolean" && $0["name"] as? String == "echo_allow_unlabeled" && $0["value"] as? Bool == true })
            }
            if c.stages == ["CONSTRAINT"] {
                #expect(
                    fixes.contains {
                        $0["kind"] as? String == "constraint" && ($0["statement"] as? String)?.hasPrefix("mlsconstrain association { polmatch }") == true
                    })
            }
        }
    }

    @Test func aRuleANeverallowForbidsIsSaidSo() throws {
        // The embedded policy: neverallow echo_domain { ipsec_spd_type domain unlabeled_t }:association setcontext.
        let why = try CLITests.salabel("why", "--json", stdin: Self.avc("setcontext", CLITests.client, CLITests.client, "association") + "\n")
        let record = try #require((try CLITests.json(why.stdout)["records"] as? [[String: Any]])?.first)
        let fix = try #require((record["fixes"] as? [[String: Any]])?.first)
        #expect(fix["neverallow"] as? String == "violates" && (fix["why"] as? String)?.contains("neverallow violated") == true)
        #expect((record["check"] as? [String: Any])?["id"] as? String == "C1–C4")
    }

    @Test func exitStatuses() throws {
        // Another class: printed, not explained: 1.
        let other = try CLITests.salabel("why", stdin: Self.avc("read", CLITests.client, "system_u:object_r:unlabeled_t:s0", "file") + "\n")
        #expect(other.status == 1 && other.stdout.contains("not explained: file { read } is not a check of labeled networking"))
        // No record: 1, said on stderr.
        let none = try CLITests.salabel("why", stdin: "nothing here\n")
        #expect(none.status == 1 && none.stderr.contains("no AVC record in the input"))
        // A malformed record: its line on stderr, 2; the good ones are still explained.
        let bad = try CLITests.salabel("why", stdin: Self.cases[0].avc + "\navc:  denied  { recv } for  scontext=a:b:c tclass=peer\n")
        #expect(bad.status == 2 && bad.stderr.contains("line 2: no tcontext=") && bad.stdout.contains("check: peer checks"))
        // A record this policy allows is not explained away.
        let allowed = try CLITests.salabel("why", stdin: Self.avc("recv", Self.server, CLITests.client, "peer") + "\n")
        #expect(allowed.status == 1 && allowed.stdout.contains("this policy allows it"))
    }
}
