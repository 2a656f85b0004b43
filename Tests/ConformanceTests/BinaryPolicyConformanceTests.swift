import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// The binary policy reader against libsepol: checkpolicy 3.4 writes each fixture at each version,
/// salabel reads the file with its own reader (no libsepol), libsepol loads the same file, and
/// their symbols and answers must agree (Specs/engine/binary-policy.md).
/// libsepol keeps global state, so these tests run one at a time.
@Suite(.serialized)
struct BinaryPolicyConformanceTests {
    static let fixtureNames = EngineVsLibsepolTests.fixtureNames

    /// Versions compared for every fixture: each version gate of §2.1 (MLS fixtures from 19).
    static let versions = Array(15...33)
    /// Versions where transitions and validatetrans are compared too (their gates: 19 validatetrans
    /// and MLS, 21 range transitions with a class, 26 role transitions with a class).
    static let transitionVersions: Set<Int> = [15, 19, 21, 26, 33]

    /// checkpolicy's binary at a version, read by salabel and loaded by libsepol.
    static func load(_ conf: String, version: Int, mls: Bool) throws -> (SecurityServer, Oracle, PolicyDB) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-binconf-\(UUID().uuidString).\(version)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try runProcess(
            URL(fileURLWithPath: "/usr/bin/checkpolicy"), (mls ? ["-M"] : []) + ["-c", String(version), "-o", out, conf], standardError: .standardOutput)
        try #require(r.status == 0, "checkpolicy -c \(version) \(conf): \(r.stdout)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        let db = try PolicyDB(binary: bytes)
        return (try SecurityServer(policy: db), try Oracle(binaryPolicy: out), db)
    }

    static func expectSameSymbols(_ db: PolicyDB, _ oracle: Oracle, _ what: String, version: Int) {
        #expect(db.typeCount == oracle.symbols(0).count, "\(what): types")
        // libsepol names no attribute below 24 (their values are gaps, §3.3.5); salabel synthesizes them.
        if version >= 24 { #expect(db.attributeCount == oracle.symbols(1).count, "\(what): attributes") }
        #expect(Set(db.types.filter { !$0.isAttribute }.map(\.name)) == Set(oracle.symbols(0)), "\(what): type names")
        #expect(db.roles.map(\.name).sorted() == oracle.symbols(2).sorted(), "\(what): roles")
        #expect(db.users.map(\.name).sorted() == oracle.symbols(3).sorted(), "\(what): users")
        #expect(db.classes.map(\.name) == oracle.symbols(4), "\(what): classes in value order")
        #expect(db.bools.map(\.name).sorted() == oracle.symbols(5).sorted(), "\(what): booleans")
        #expect((db.mls?.sensitivityCount ?? 0) == oracle.symbols(6).filter { db.mls?.sensitivity(named: $0) != nil }.count, "\(what): sensitivities")
        #expect((db.mls?.categoryCount ?? 0) == oracle.symbols(7).count, "\(what): categories")
    }

    @Test(arguments: fixtureNames)
    func fixtureAtEveryVersionAgreesWithLibsepol(_ name: String) throws {
        let path = fixturesDirectory.appendingPathComponent("policies/\(name)").path
        let mls = EngineVsLibsepolTests.isMLS(try String(contentsOfFile: path, encoding: .utf8))
        var comparisons = 0
        for version in Self.versions where !mls || version >= 19 {
            let (server, oracle, db) = try Self.load(path, version: version, mls: mls)
            let what = "\(name) v\(version)"
            Self.expectSameSymbols(db, oracle, what, version: version)
            for assignment in EngineVsLibsepolTests.booleanAssignments(db) {
                try server.setBooleans(assignment)
                for b in db.bools { try oracle.setBool(b.name, server.booleans[b.name]!) }
                var diff = Differential(server: server, oracle: oracle)
                let valid = diff.compareValidity(Differential.candidates(oracle, extraLevels: 1))
                #expect(!valid.isEmpty, "no valid context in \(what)")
                diff.compareAccessVectors(valid, classes: oracle.symbols(4))
                diff.comparePermissive()
                if assignment.isEmpty && Self.transitionVersions.contains(version) {
                    let classes = oracle.symbols(4).filter { $0 != "socket" && !$0.hasSuffix("_socket") }
                    diff.compareTransitions(Array(valid.prefix(16)), classes: classes)
                    diff.compareValidateTrans(Array(valid.prefix(8)), classes: classes)
                }
                #expect(diff.mismatchCount == 0, "\(what) booleans \(assignment): \(diff.summary)")
                comparisons += diff.comparisons
            }
        }
        print("conformance: binary \(name) at every version: \(comparisons) comparisons")
    }

    @Test func embeddedPolicyAtSampledVersionsAgreesWithLibsepol() throws {
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        for version in [19, 33] {
            let (server, oracle, db) = try Self.load(conf, version: version, mls: true)
            Self.expectSameSymbols(db, oracle, "default-policy v\(version)", version: version)
            var diff = Differential(server: server, oracle: oracle)
            let valid = diff.compareValidity(Differential.candidates(oracle, typesPerRole: 12, extraLevels: 1))
            diff.compareAccessVectors(valid, classes: oracle.symbols(4))
            diff.compareTransitions(Array(valid.prefix(12)), classes: ["process", "file"])
            #expect(diff.mismatchCount == 0, "default-policy v\(version): \(diff.summary)")
        }
    }

    /// Debian's refpolicy binary (`policy.33`, 4153 type values, 102340 avtab entries): the counts
    /// equal libsepol's and seinfo's, and a random sample of access vectors agrees with libsepol.
    @Test func refpolicyBinaryAgreesWithLibsepolAndSeinfo() throws {
        let path = "/etc/selinux/default/policy/policy.33"
        try #require(FileManager.default.fileExists(atPath: path), "selinux-policy-default is not installed (scripts/deps test)")
        let start = Date()
        let db = try PolicyDB(binary: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        let seconds = Date().timeIntervalSince(start)
        let oracle = try Oracle(binaryPolicy: path)
        Self.expectSameSymbols(db, oracle, "refpolicy", version: 33)
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/seinfo"), [path], standardError: .discard)
        try #require(r.status == 0)
        var theirs: [String: Int] = [:]
        let pattern = try NSRegularExpression(pattern: #"([A-Za-z][A-Za-z. _]*?):\s+(\d+)"#)
        for m in pattern.matches(in: r.stdout, range: NSRange(r.stdout.startIndex..., in: r.stdout)) {
            theirs[String(r.stdout[Range(m.range(at: 1), in: r.stdout)!]).trimmingCharacters(in: .whitespaces)] = Int(
                r.stdout[Range(m.range(at: 2), in: r.stdout)!])
        }
        let ours = db.statistics
        for (label, key) in [
            ("Classes", "Classes"), ("Types", "Types"), ("Attributes", "Attributes"), ("Users", "Users"), ("Roles", "Roles"),
            ("Booleans", "Booleans"), ("Sensitivities", "Sensitivities"), ("Categories", "Categories"), ("Cond. Expr.", "Conditionals"),
            ("Permissives", "Permissive types"), ("Polcap", "Policy capabilities"), ("Typebounds", "Typebounds"),
            ("Role_trans", "Role transitions"), ("Range_trans", "Range transitions"), ("Initial SIDs", "Initial SIDs"), ("Fs_use", "Fs_use"),
            ("Genfscon", "Genfscon"), ("Portcon", "Portcon"), ("Netifcon", "Netifcon"), ("Nodecon", "Nodecon"), ("Constraints", "Constraints"),
            ("Validatetrans", "Validatetrans"), ("MLS Constrain", "MLS constraints"),
        ] {
            #expect(
                ours[key] == theirs[label], "refpolicy \(key): salabel \(String(describing: ours[key])), seinfo \(label) \(String(describing: theirs[label]))")
        }
        // refpolicy has one role allow twice (`allow sysadm_r system_r`); seinfo counts records,
        // PolicyDB holds the set of pairs.
        #expect(ours["Role allow"]! == theirs["Role allow"]! - 1)
        let server = try SecurityServer(policy: db)
        var diff = Differential(server: server, oracle: oracle)
        diff.compareRandomAccessVectors(20_000, seed: 0xB1_4EAD)
        #expect(diff.mismatchCount == 0, "refpolicy binary: \(diff.summary)")
        print(
            "conformance: refpolicy policy.33 read by salabel in \(String(format: "%.2f", seconds)) s (debug); \(diff.comparisons) comparisons, \(diff.nonEmptyGrants) granting"
        )
    }
}
