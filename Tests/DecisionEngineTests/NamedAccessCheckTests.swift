import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// The named check (``AccessVectorCache/check(source:target:objectClass:permissions:subject:)``)
/// against libsepol: every row of Specs/engine/default-policy-decisions.tsv (what libsepol computes
/// for the embedded policy) is asked permission by permission.
struct NamedAccessCheckTests {
    /// The TSV's rows: source, target, class and the permissions libsepol allows.
    static func referenceRows() throws -> [(s: String, t: String, cls: String, allowed: Set<String>)] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("Specs/engine/default-policy-decisions.tsv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: "\t").map(String.init)
            return (f[0], f[1], f[2], f[3] == "-" ? [] : Set(f[3].split(separator: " ").map(String.init)))
        }
    }

    @Test func everyPermissionOfEveryReferenceRowIsDecidedAsLibsepolDecides() throws {
        let cache = AccessVectorCache(server: try SecurityServer.embedded())
        let rows = try Self.referenceRows()
        #expect(rows.count > 50)
        for row in rows {
            let c = try #require(cache.server.classValue(row.cls), "\(row.cls)")
            let all = cache.server.policy.classes[c - 1].permissions
            for perm in all {
                let r = try cache.check(source: row.s, target: row.t, objectClass: row.cls, permissions: [perm])
                let allowed = row.allowed.contains(perm)
                #expect(r.granted == allowed, "\(row.s) \(row.t) \(row.cls) \(perm): libsepol \(allowed ? "allows" : "denies")")
                #expect(r.denied == (allowed ? [] : [perm]))
                #expect(r.reasons.isEmpty == allowed)
                #expect(r.waiver == nil && !r.permissiveDomain && !r.unknownClassAllowed)
            }
            // The vector comes back as names: libsepol's allowed set.
            let r = try cache.check(source: row.s, target: row.t, objectClass: row.cls, permissions: all)
            #expect(Set(r.allowed) == row.allowed, "\(row.s) \(row.t) \(row.cls)")
            #expect(Set(r.denied) == Set(all).subtracting(row.allowed))
            #expect(r.granted == (row.allowed.count == all.count))
        }
    }

    @Test func aDenialCarriesItsStageAndRecord() throws {
        let server = try SecurityServer.embedded()
        let cache = AccessVectorCache(server: server)
        let client = "system_u:system_r:echoclient_t:s0", other = "system_u:system_r:echo_other_t:s0"
        // No allow rule for echoclient_t → echo_other_t (default-policy.conf): a TE denial, audited.
        let r = try cache.check(
            source: client, target: other, objectClass: "association", permissions: ["sendto"],
            subject: AuditSubject(pid: 7, comm: "pluto"))
        #expect(!r.granted && r.denied == ["sendto"] && r.reasons == ["TERULE"] && r.waiver == nil)
        #expect(
            r.record?.description == "avc:  denied  { sendto } for  pid=7 comm=\"pluto\" scontext=\(client) tcontext=\(other) tclass=association permissive=0")
        // `dontaudit echoclient_t ipsec_restricted_spd_t:association polmatch`: denied, no record.
        let hidden = try cache.check(
            source: client, target: "system_u:object_r:ipsec_restricted_spd_t:s0", objectClass: "association", permissions: ["polmatch"])
        #expect(!hidden.granted && hidden.record == nil && !hidden.auditDeny.contains("polmatch"))
        // `auditallow ipsec_mgmt_t domain:association setcontext`: a grant with a record.
        let audited = try cache.check(source: "system_u:system_r:ipsec_mgmt_t:s0", target: client, objectClass: "association", permissions: ["setcontext"])
        #expect(audited.granted && audited.auditAllow == ["setcontext"] && audited.record?.result == .granted)
        // Permissive mode grants the denial, audits it with permissive=1 and says why.
        server.setEnforcing(false)
        let waived = try AccessVectorCache(server: server).check(source: client, target: other, objectClass: "association", permissions: ["sendto"])
        #expect(waived.granted && waived.denied == ["sendto"] && waived.waiver == .permissiveMode && waived.record?.permissive == true)
    }

    @Test func namesThePolicyLacksAreErrors() throws {
        let cache = AccessVectorCache(server: try SecurityServer.embedded())
        let client = "system_u:system_r:echoclient_t:s0", spd = "system_u:object_r:ipsec_spd_t:s0"
        #expect(throws: DecisionError.unknownClass("nosuchclass")) {
            try cache.check(source: client, target: spd, objectClass: "nosuchclass", permissions: ["x"])
        }
        #expect(throws: DecisionError.unknownPermission("fly", objectClass: "association")) {
            try cache.check(source: client, target: spd, objectClass: "association", permissions: ["polmatch", "fly"])
        }
        // The source is checked first, then the target.
        #expect(throws: DecisionError.invalidContext("system_u:system_r:nope_t:s0", reason: "unknown type nope_t")) {
            try cache.check(
                source: "system_u:system_r:nope_t:s0", target: "system_u:system_r:nope2_t:s0", objectClass: "association", permissions: ["polmatch"])
        }
        do {
            _ = try cache.check(source: client, target: "not a context", objectClass: "association", permissions: ["polmatch"])
            Issue.record("an unparsable context was accepted")
        } catch {
            guard case .invalidContext(let text, _) = error else { Issue.record("\(error)"); return }
            #expect(text == "not a context")
        }
    }

    static let handleUnknownAllow = """
        handle_unknown allow;
        class file
        sid kernel
        class file { read write }
        type a_t;
        type b_t;
        permissive b_t;
        allow a_t a_t:file read;
        role r;
        role r types { a_t b_t };
        user u roles r;
        sid kernel u:r:a_t
        """

    /// `handle_unknown allow`: a class the policy lacks is granted whole, a permission it lacks is
    /// skipped; a permissive domain's denial is granted and audited (security_compute_av, avc_denied).
    @Test func handleUnknownAllowAndPermissiveDomain() throws {
        let cache = AccessVectorCache(server: try SecurityServer(policyText: Self.handleUnknownAllow, file: "hu.conf"))
        let cls = try cache.check(source: "u:r:a_t", target: "u:r:a_t", objectClass: "association", permissions: ["polmatch"])
        #expect(cls.granted && cls.unknownClassAllowed && cls.denied.isEmpty && cls.record == nil && cls.check == nil)
        let perm = try cache.check(source: "u:r:a_t", target: "u:r:a_t", objectClass: "file", permissions: ["read", "bogus"])
        #expect(perm.granted && perm.unknownPermissions == ["bogus"] && perm.allowed == ["read"])
        let typed = try cache.check(
            source: try SecurityContext(parsing: "u:r:b_t"), target: try SecurityContext(parsing: "u:r:a_t"),
            objectClass: "file", permissions: ["write"])
        #expect(typed.granted && typed.permissiveDomain && typed.waiver == .permissiveDomain && typed.denied == ["write"])
        #expect(typed.record?.description.hasSuffix("tclass=file permissive=1") == true)
    }
}

/// ``PolicyStatistics`` against seinfo (setools), which reads the binary checkpolicy compiles from
/// the same source.
struct PolicyStatisticsTests {
    /// A policy with at least one of most components seinfo counts.
    static let rich = """
        class process
        class file
        class dir
        sid kernel
        sid unlabeled
        common file_common { read write getattr }
        class process { transition dyntransition }
        class file inherits file_common { execute entrypoint }
        class dir inherits file_common { search }
        policycap network_peer_controls;
        policycap open_perms;
        attribute domain;
        type a_t, domain;
        type b_t, domain;
        type c_t;
        type d_t;
        typebounds a_t d_t;
        permissive b_t;
        bool flag false;
        bool other true;
        allow a_t c_t:file { read write };
        allow domain c_t:file getattr;
        auditallow a_t c_t:file read;
        dontaudit b_t c_t:file write;
        allow d_t c_t:file read;
        allow a_t b_t:process transition;
        if (flag) { allow b_t c_t:file read; type_transition b_t c_t:dir d_t; }
        if (other && flag) { allow a_t c_t:dir search; } else { allow b_t c_t:dir search; }
        type_transition a_t c_t:file d_t;
        type_transition a_t c_t:dir d_t "named";
        type_member a_t c_t:dir d_t;
        type_change a_t c_t:file d_t;
        role r;
        role s;
        role r types { a_t b_t c_t d_t };
        role s types { a_t b_t };
        allow r s;
        role_transition r c_t:process s;
        user u roles { r s };
        constrain process transition (u1 == u2);
        constrain file { read write } (r1 == r2 or t1 == domain);
        validatetrans file (u1 == u2);
        sid kernel u:r:a_t
        sid unlabeled u:r:c_t
        fs_use_xattr ext4 u:r:c_t;
        fs_use_task pipefs u:r:c_t;
        genfscon proc / u:r:c_t
        genfscon proc /sys u:r:d_t
        portcon tcp 80 u:r:c_t
        portcon tcp 443 u:r:c_t
        portcon udp 53 u:r:c_t
        netifcon eth0 u:r:c_t u:r:c_t
        nodecon 127.0.0.1 255.255.255.255 u:r:c_t
        """

    /// seinfo's labels for our counts where both count the same thing.
    static let sameCount: [(seinfo: String, ours: String)] = [
        ("Classes", "Classes"), ("Sensitivities", "Sensitivities"), ("Categories", "Categories"), ("Types", "Types"),
        ("Attributes", "Attributes"), ("Users", "Users"), ("Roles", "Roles"), ("Booleans", "Booleans"), ("Cond. Expr.", "Conditionals"),
        ("Auditallow", "Auditallow keys"), ("Dontaudit", "Dontaudit keys"), ("Type_change", "Type changes"), ("Type_member", "Type members"),
        ("Range_trans", "Range transitions"), ("Role allow", "Role allow"), ("Role_trans", "Role transitions"), ("Constraints", "Constraints"),
        ("Validatetrans", "Validatetrans"), ("MLS Constrain", "MLS constraints"), ("Permissives", "Permissive types"),
        ("Polcap", "Policy capabilities"), ("Typebounds", "Typebounds"), ("Initial SIDs", "Initial SIDs"), ("Fs_use", "Fs_use"),
        ("Genfscon", "Genfscon"), ("Portcon", "Portcon"), ("Netifcon", "Netifcon"), ("Nodecon", "Nodecon"),
    ]

    /// seinfo's `Label: N` pairs for a policy source, compiled by checkpolicy.
    static func seinfo(_ source: String, mls: Bool) throws -> [String: Int] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-stats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("policy.conf"), binary = dir.appendingPathComponent("policy.33")
        try source.write(to: conf, atomically: true, encoding: .utf8)
        func run(_ tool: String, _ arguments: [String]) throws -> String {
            let r = try runProcess(URL(fileURLWithPath: tool), arguments, standardError: .discard)
            try #require(r.status == 0, "\(tool) \(arguments) failed")
            return r.stdout
        }
        _ = try run("/usr/bin/checkpolicy", (mls ? ["-M"] : []) + ["-c", "33", "-o", binary.path, conf.path])
        let text = try run("/usr/bin/seinfo", [binary.path])
        var counts: [String: Int] = [:]
        let pattern = try NSRegularExpression(pattern: #"([A-Za-z][A-Za-z. _]*?):\s+(\d+)"#)
        for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            counts[String(text[Range(m.range(at: 1), in: text)!]).trimmingCharacters(in: .whitespaces)] = Int(text[Range(m.range(at: 2), in: text)!])
        }
        return counts
    }

    static func expectSeinfoCounts(_ source: String, mls: Bool) throws {
        let theirs = try seinfo(source, mls: mls)
        let ours = try SecurityServer(policyText: source, file: "policy.conf").policy.statistics
        for (label, key) in sameCount {
            let expected = try #require(theirs[label], "seinfo prints no \(label)")
            #expect(ours[key] == expected, "\(key): salabel \(String(describing: ours[key])), seinfo \(label) \(expected)")
        }
        // seinfo counts conditional rules with the unconditional ones (both policies' conditional
        // rules are all `allow` and `type_transition`).
        #expect(ours["Allow keys"]! + ours["Conditional AV rules"]! == theirs["Allow"])
        #expect(ours["Type transitions"]! + ours["Conditional type rules"]! == theirs["Type_trans"])
    }

    @Test func embeddedPolicyCountsMatchSeinfo() throws {
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf")
        try Self.expectSeinfoCounts(try String(contentsOf: conf, encoding: .utf8), mls: true)
    }

    @Test func everyKindOfComponentCountsAsSeinfoCountsIt() throws {
        try Self.expectSeinfoCounts(Self.rich, mls: false)
        let stats = try SecurityServer(policyText: Self.rich, file: "rich.conf").policy.statistics
        #expect(stats.counts.count == 35 && Set(stats.counts.map(\.key)).count == 35)
        #expect(stats.counts.first { $0.label == "Conditional type rules" }?.key == "conditional_type_rules")
        #expect(!stats.mlsEnabled && stats.handleUnknown == .deny && stats.policyCapabilities == ["network_peer_controls", "open_perms"])
    }
}
