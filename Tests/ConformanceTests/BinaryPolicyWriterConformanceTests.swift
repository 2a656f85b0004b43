import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// The binary writer against independent references (Specs/engine/binary-policy.md §6 item 18):
/// setools' `sediff` finds no difference between checkpolicy 3.4's binary and salabel's for the
/// same source, libsepol loads salabel's file and answers as salabel's engine does, and Debian's
/// refpolicy read and written again is the same policy to `sediff`.
@Suite(.serialized)
struct BinaryPolicyWriterConformanceTests {
    static let sources: [(name: String, path: String)] =
        EngineVsLibsepolTests.fixtureNames.map { ($0, fixturesDirectory.appendingPathComponent("policies/\($0)").path) } + [
            ("default-policy.conf", repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path)
        ]

    /// A scratch directory, removed by the caller.
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-binwrite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `sediff --stats A B`: the summary lines of what differs (none when the policies are the same).
    ///
    /// With a fixed `PYTHONHASHSEED`: setools 4.4 compares a constraint's role set as printed, in an
    /// order that depends on the role values and on Python's hash seed. checkpolicy numbers the roles
    /// of a `dominance` block in its own order (constraints.conf: `r_low` after `r_side`), so under
    /// some seeds `r2 == { r_low r_side }` and `{ r_side r_low }` show as one constraint removed and
    /// one added (Specs/engine/binary-policy.md §6.1).
    static func sediff(_ a: String, _ b: String) throws -> [String] {
        let r = try runProcess(
            URL(fileURLWithPath: "/usr/bin/sediff"), ["--stats", a, b], environment: ["PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"],
            standardError: .standardOutput)
        try #require(r.status == 0, "sediff \(a) \(b): \(r.stdout)")
        return r.stdout.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// The versions compared with `sediff`: setools 4.4 cannot read attributes below 24, and
    /// checkpolicy's own output below 26 lacks role transitions of the process class (§3.6); each
    /// later gate (29 constraint type sets, 31 InfiniBand, 33 compressed filename transitions) once.
    static let sediffVersions = [26, 29, 31, 33]

    @Test(arguments: sources.map(\.name))
    func sediffFindsNoDifferenceFromCheckpolicy(_ name: String) throws {
        let path = Self.sources.first { $0.name == name }!.path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let mls = EngineVsLibsepolTests.isMLS(text)
        let db = try PolicyCompiler.compile(text: text, file: name)
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for version in Self.sediffVersions {
            // Where the version cannot carry part of the policy, checkpolicy drops it and salabel
            // refuses (BinaryPolicyWriterTests): nothing to compare.
            guard let bytes = try? db.binaryPolicy(version: UInt32(version)) else {
                #expect(version != 33, "\(name): version 33 must be written")
                continue
            }
            let theirs = dir.appendingPathComponent("checkpolicy.\(version)").path
            let ours = dir.appendingPathComponent("salabel.\(version)").path
            let r = try runProcess(
                URL(fileURLWithPath: "/usr/bin/checkpolicy"), (mls ? ["-M"] : []) + ["-c", String(version), "-o", theirs, path],
                standardError: .standardOutput)
            try #require(r.status == 0, "checkpolicy -c \(version) \(name): \(r.stdout)")
            try Data(bytes).write(to: URL(fileURLWithPath: ours))
            let differences = try Self.sediff(theirs, ours)
            #expect(differences.isEmpty, "\(name) v\(version): sediff checkpolicy salabel:\n\(differences.joined(separator: "\n"))")
        }
    }

    /// libsepol loads salabel's file at each version the writer accepts, and its answers (validity,
    /// access vectors, transitions, validatetrans) equal salabel's on the policy compiled from text.
    @Test(arguments: sources.map(\.name))
    func libsepolAnswersLikeSalabelOnTheWrittenFile(_ name: String) throws {
        let path = Self.sources.first { $0.name == name }!.path
        let db = try PolicyCompiler.compile(text: try String(contentsOfFile: path, encoding: .utf8), file: name)
        let server = try SecurityServer(policy: db)
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var comparisons = 0, versions = 0
        for version in [15, 16, 19, 20, 24, 26, 33] {
            guard let bytes = try? db.binaryPolicy(version: UInt32(version)) else { continue }
            let file = dir.appendingPathComponent("salabel.\(version)").path
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            let oracle = try Oracle(binaryPolicy: file)
            versions += 1
            var diff = Differential(server: server, oracle: oracle)
            // The embedded policy has many types per role: a sample of them, as BinaryPolicyConformanceTests does.
            let valid = diff.compareValidity(Differential.candidates(oracle, typesPerRole: name == "default-policy.conf" ? 12 : .max, extraLevels: 1))
            #expect(!valid.isEmpty, "no valid context in \(name) v\(version)")
            diff.compareAccessVectors(valid, classes: oracle.symbols(4))
            diff.comparePermissive()
            let classes = oracle.symbols(4).filter { $0 != "socket" && !$0.hasSuffix("_socket") }
            diff.compareTransitions(Array(valid.prefix(16)), classes: classes)
            if version >= 19 { diff.compareValidateTrans(Array(valid.prefix(8)), classes: classes) }
            #expect(diff.mismatchCount == 0, "\(name) v\(version): \(diff.summary)")
            comparisons += diff.comparisons
        }
        #expect(versions >= 1, "\(name): the writer wrote no version")
        print("conformance: \(name) written by salabel, read by libsepol at \(versions) versions: \(comparisons) comparisons")
    }

    /// Debian's refpolicy: read by salabel and written again, `sediff` finds no difference from the
    /// installed file and libsepol answers as before; compiled from its flattened text by salabel
    /// and by checkpolicy, `sediff` finds no difference either.
    @Test func refpolicyWrittenBySalabelIsTheSamePolicy() throws {
        let (conf, binary) = try refpolicyConf()
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rewritten = dir.appendingPathComponent("rewritten.33").path
        let read = try PolicyDB(binary: [UInt8](try Data(contentsOf: URL(fileURLWithPath: binary))))
        try Data(try read.binaryPolicy()).write(to: URL(fileURLWithPath: rewritten))
        let fromBinary = try Self.sediff(binary, rewritten)
        #expect(fromBinary.isEmpty, "sediff installed rewritten:\n\(fromBinary.joined(separator: "\n"))")

        let ours = dir.appendingPathComponent("salabel.33").path
        let theirs = dir.appendingPathComponent("checkpolicy.33").path
        let compiled = try PolicyCompiler.compile(text: try String(contentsOfFile: conf, encoding: .utf8), file: "refpolicy.conf")
        try Data(try compiled.binaryPolicy()).write(to: URL(fileURLWithPath: ours))
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-o", theirs, conf], standardOutput: .discard, standardError: .discard)
        try #require(r.status == 0, "checkpolicy -M refpolicy.conf")
        let fromText = try Self.sediff(theirs, ours)
        #expect(fromText.isEmpty, "sediff checkpolicy salabel (refpolicy text):\n\(fromText.joined(separator: "\n"))")

        // libsepol reads the rewritten file and answers as salabel does on it.
        let oracle = try Oracle(binaryPolicy: rewritten)
        let server = try SecurityServer(policy: read)
        var diff = Differential(server: server, oracle: oracle)
        diff.compareRandomAccessVectors(5_000, seed: 0x5EC0_4D17)
        #expect(diff.mismatchCount == 0, "refpolicy rewritten: \(diff.summary)")
    }
}
