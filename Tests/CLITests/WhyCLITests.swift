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
        // The kernel's own D2 check compares a flow with an SA of its own label: audit2allow writes `self`.
        (
            avc("sendto", "system_u:system_r:ipsec_mgmt_t:s0", "system_u:system_r:ipsec_mgmt_t:s0", "association"), ["TERULE"],
            "Missing type enforcement (TE) allow rule"
        ),
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
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-why-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try Self.compiledEmbeddedPolicy(in: dir)

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

    /// Constraint denials, each with the comparisons `why` must find failing (in the order written)
    /// and, for the levels, what decides them (worked out by hand from the levels' definitions,
    /// security/selinux/ss/mls_types.h: `mls_level_dom`).
    static let constraintCases: [(avc: String, failing: [Bool], explanations: [String])] = [
        (
            avc("polmatch", "system_u:system_r:echoclient_t:s1:c1,c5", "system_u:object_r:ipsec_spd_t:s0-s0:c0.c3", "association"), [false, true],
            ["h1 and h2 are incomparable (sensitivity s1 is above s0; h1 lacks c0,c2.c3; h2 lacks c5)"]
        ),
        (
            avc("polmatch", CLITests.client, "system_u:object_r:ipsec_spd_t:s1-s2", "association"), [true, false],
            ["l1 is dominated by l2 and differs from it (sensitivity s0 is below s1)"]
        ),
        (
            avc("recv", server, "system_u:system_r:echoclient_t:s2:c1", "peer"), [true, false, true, true],
            [
                "l1 = s0, l2 = s2:c1: l1 is dominated by l2 and differs from it (sensitivity s0 is below s2; l1 lacks c1)",
                "t1 = echoserver_t is in mlsnetreadtoclr",
            ]
        ),
        (
            avc("sendto", CLITests.client, "system_u:system_r:echoclient_t:s1", "association"), [true, true, true, false, true],
            ["t2 = echoclient_t is not in unlabeled_t"]
        ),
    ]

    /// `why` evaluates a failing constraint comparison by comparison; libsepol's reason buffer
    /// (`sepol_compute_av_reason_buffer`, which audit2why prints) marks each comparison that failed
    /// with `-Fail-`: the two agree on every comparison.
    @Test func constraintComparisonsAgreeWithLibsepol() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-why-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try Self.compiledEmbeddedPolicy(in: dir)
        for c in Self.constraintCases {
            let file = dir.appendingPathComponent("one.log").path
            try "type=AVC msg=audit(1700000000.123:42): \(c.avc)\n".write(toFile: file, atomically: true, encoding: .utf8)
            let why = try CLITests.salabel("why", "--json", file)
            let record = try #require((try CLITests.json(why.stdout)["records"] as? [[String: Any]])?.first)
            let constraint = try #require((record["fixes"] as? [[String: Any]])?.first { $0["kind"] as? String == "constraint" }, "\(why.stdout)")
            let terms = try #require(constraint["terms"] as? [[String: Any]])
            #expect(terms.map { $0["holds"] as? Bool == false } == c.failing, "\(c.avc): \(terms)")
            let explanations = terms.compactMap { $0["explanation"] as? String }
            for e in c.explanations { #expect(explanations.contains { $0.hasSuffix(e) }, "\(e) in \(explanations)") }

            // libsepol's own marks: the innermost parentheses of its constraint line are the comparisons.
            let theirs = try CLITests.run(URL(fileURLWithPath: "/usr/bin/audit2why"), ["-p", binary, "-i", file]).stdout
            let line = try #require(theirs.split(separator: "\n").first { $0.contains("Constraint DENIED") }, "\(theirs)")
            let leaves = line.matches(of: /\(([^()]+)\)/).map { String($0.output.1) }
            #expect(leaves.map { $0.hasSuffix("-Fail-") } == c.failing, "libsepol: \(line)")
        }
    }

    /// A typebounds denial: echo_child_t, bounded by echoclient_t, is allowed polmatch on
    /// ipsec_spd_t by its TE rule, but a constraint refuses echoclient_t, so the kernel masks the
    /// child's permission too (`type_attribute_bounds_av`; checkpolicy's bounds check looks at TE
    /// rules only and compiles it). audit2why calls it a typebounds violation; `why` says which
    /// bounding type is refused, at which stage, and the bounding type's own fix.
    @Test func boundsDenialNamesTheBoundingType() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-why-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var text = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf"), encoding: .utf8)
        let users = try #require(text.range(of: "\nuser "))
        text.insert(
            contentsOf: "\ntype echo_child_t;\nrole system_r types echo_child_t;\ntypebounds echoclient_t echo_child_t;\n"
                + "allow echo_child_t ipsec_spd_t:association polmatch;\n", at: users.lowerBound)
        let firstUser = try #require(text.range(of: "\nuser "))
        let sids = try #require(text.range(of: "\nsid ", range: firstUser.upperBound..<text.endIndex))
        text.insert(contentsOf: "\nconstrain association { polmatch } ( t1 != echoclient_t );\n", at: sids.lowerBound)
        let conf = dir.appendingPathComponent("bounds.conf").path, binary = dir.appendingPathComponent("bounds.33").path
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        let compile = try CLITests.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-c", "33", "-o", binary, conf])
        try #require(compile.status == 0, "\(compile.stderr)")
        let file = dir.appendingPathComponent("one.log").path
        try
            "type=AVC msg=audit(1700000000.123:42): \(Self.avc("polmatch", "system_u:system_r:echo_child_t:s0", "system_u:object_r:ipsec_spd_t:s0", "association"))\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let theirs = try CLITests.run(URL(fileURLWithPath: "/usr/bin/audit2why"), ["-p", binary, "-i", file])
        #expect(theirs.stdout.contains("Typebounds violation"), "\(theirs.stdout)")
        for policy in [binary, conf] {
            let why = try CLITests.salabel("why", "--json", "--policy", policy, file)
            let record = try #require((try CLITests.json(why.stdout)["records"] as? [[String: Any]])?.first, "\(why.stderr)")
            #expect((record["policy"] as? [String: Any])?["denial_stages"] as? [String] == ["BOUNDS"])
            let fixes = try #require(record["fixes"] as? [[String: Any]])
            let bounds = try #require(fixes.first, "\(fixes)")
            #expect(bounds["kind"] as? String == "bounds" && bounds["parent"] as? String == "echoclient_t" && bounds["target"] as? String == "ipsec_spd_t")
            #expect(bounds["parent_stages"] as? [String] == ["CONSTRAINT"])
            #expect(fixes.dropFirst().first?["statement"] as? String == "constrain association { polmatch } t1 != echoclient_t;", "\(fixes)")
        }
    }

    /// The embedded policy's source compiled by checkpolicy (MLS, version 33) into `dir`.
    static func compiledEmbeddedPolicy(in dir: URL) throws -> String {
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        let binary = dir.appendingPathComponent("policy.33").path
        let compile = try CLITests.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-c", "33", "-o", binary, conf])
        try #require(compile.status == 0, "\(compile.stderr)")
        return binary
    }

    @Test func aRuleANeverallowForbidsIsSaidSo() throws {
        // The embedded policy: neverallow echo_domain { ipsec_spd_type domain unlabeled_t }:association setcontext.
        let why = try CLITests.salabel("why", "--json", stdin: Self.avc("setcontext", CLITests.client, CLITests.client, "association") + "\n")
        let record = try #require((try CLITests.json(why.stdout)["records"] as? [[String: Any]])?.first)
        let fix = try #require((record["fixes"] as? [[String: Any]])?.first)
        #expect(fix["neverallow"] as? String == "violates" && (fix["why"] as? String)?.contains("neverallow violated") == true)
        #expect((record["check"] as? [String: Any])?["id"] as? String == "C1–C4, C6")
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
