@testable import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// The binary writer (Specs/engine/binary-policy.md §6): what it writes, salabel's reader and
/// libsepol (through checkpolicy 3.4, which loads a binary with `-b`) read back; what a version
/// cannot carry is refused by name.
struct BinaryPolicyWriterTests {
    static let sources: [(String, URL)] =
        BinaryFixtures.fixtureNames.map { ($0, BinaryFixtures.policiesDirectory.appendingPathComponent($0)) } + [
            ("default-policy.conf", BinaryFixtures.embeddedPolicy)
        ]

    static func compiled(_ url: URL) throws -> (PolicyDB, mls: Bool) {
        let text = try String(contentsOf: url, encoding: .utf8)
        return (try PolicyCompiler.compile(text: text, file: url.lastPathComponent), BinaryFixtures.isMLS(text))
    }

    /// Parts a version represents differently without losing a decision: attributes have no names
    /// below 24 and do not exist below 20 (their rules are expanded to types).
    static func reshapedParts(version: UInt32) -> Set<String> {
        var out: Set<String> = []
        if version < 24 { out.insert("typeAttributeMap") }
        if version < 20 { out.insert("attributeCount") }
        return out
    }

    /// At every version 15…33: either the writer refuses by name something the version cannot
    /// carry, or salabel reads back a database with the same decisions and symbols. Version 33
    /// always writes.
    @Test(arguments: sources.map(\.0))
    func roundTripAtEveryVersion(_ name: String) throws {
        let url = Self.sources.first { $0.0 == name }!.1
        let (db, _) = try Self.compiled(url)
        var written = 0
        for version in BinaryPolicyVersion.minimum...BinaryPolicyVersion.maximum {
            let result = Result { () throws(BinaryPolicyWriteError) in try db.binaryPolicy(version: version) }
            guard case .success(let bytes) = result else {
                guard case .failure(let error) = result, case .needsVersion(let feature, let minimum, _) = error else {
                    Issue.record("\(name) v\(version): \(result)")
                    continue
                }
                #expect(minimum > version, "\(name) v\(version): \(feature)")
                #expect(version != 33)
                continue
            }
            written += 1
            let back = try PolicyDB(binary: bytes)
            let diff = DecisionSummary.differences(db, back, ignoring: Self.reshapedParts(version: version))
            #expect(diff.isEmpty, "\(name) v\(version): \(diff.joined(separator: "\n"))")
            // Writing what was read gives the same bytes: the output depends on the database only.
            // From 20 (below, attribute values are gaps the reader closes up, so values shift once).
            if version >= 20 { #expect(try back.binaryPolicy(version: version) == bytes, "\(name) v\(version): second write differs") }
        }
        #expect(written >= 1)
    }

    /// checkpolicy 3.4 (libsepol's reader and validator) loads every file the writer produces, at
    /// every version it writes.
    @Test(arguments: sources.map(\.0))
    func libsepolLoadsWhatIsWritten(_ name: String) throws {
        let url = Self.sources.first { $0.0 == name }!.1
        let (db, mls) = try Self.compiled(url)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-binwrite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for version in BinaryPolicyVersion.minimum...BinaryPolicyVersion.maximum {
            guard let bytes = try? db.binaryPolicy(version: version) else { continue }
            let file = dir.appendingPathComponent("policy.\(version)")
            try Data(bytes).write(to: file)
            let r = try runProcess(
                URL(fileURLWithPath: "/usr/bin/checkpolicy"), (mls ? ["-M"] : []) + ["-b", "-c", String(version), "-o", "/dev/null", file.path],
                standardError: .standardOutput)
            #expect(r.status == 0, "\(name) v\(version): checkpolicy -b refused salabel's file: \(r.stdout)")
        }
    }

    /// FuzzBinaryPolicy's first run with the writer: a file whose only avtab entry grants bits its
    /// class lacks reads (the bits are masked away), and its table then says nothing; the writer
    /// wrote an empty avtab, which no reader accepts. It refuses now.
    @Test func aRuleTableThatSaysNothingIsRefusedNotWrittenEmpty() throws {
        let url = repositoryRoot.appendingPathComponent("Fuzz/corpus/binary/finding-avtab-says-nothing.33")
        let db = try PolicyDB(binary: [UInt8](try Data(contentsOf: url)))
        let result = Result { () throws(BinaryPolicyWriteError) in try db.binaryPolicy() }
        guard case .failure(.invalid(let why)) = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(why.contains("no unconditional rule"))
    }
}
