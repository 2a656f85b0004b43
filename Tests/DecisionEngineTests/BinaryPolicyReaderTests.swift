@testable import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// The binary policy reader (Specs/engine/binary-policy.md) on what checkpolicy 3.4 writes: every
/// version 15–33 of the fixtures (MLS ones from 19) must read into a database that decides as
/// salabel's own compile of the same text, less what the version cannot carry.
@Suite(.serialized)
struct BinaryPolicyReaderTests {
    static let versions = Array(15...33)

    /// Reads `binary` and compares it with the text compile of `conf`.
    static func expectSameAsText(_ text: String, name: String, version: Int, mls: Bool) throws {
        let binary = try BinaryFixtures.compile(text: text, version: version, mls: mls)
        let read: PolicyDB
        do { read = try PolicyDB(binary: binary) } catch {
            Issue.record("\(name) v\(version): \(error)")
            return
        }
        var compiled = try PolicyCompiler.compile(text: text, file: name)
        // Below 16 checkpolicy drops booleans and conditional rules ("Discarding booleans and
        // conditional rules").
        if version < 16 { compiled.conditionals = [] }
        // Below 32 the writer turns `default_range … glblub` into no default (§3.3.2).
        if version < 32 {
            for i in compiled.classes.indices where compiled.classes[i].defaultRange == .glblub { compiled.classes[i].defaultRange = nil }
        }
        var assignments: [[String: Bool]] = [[:]]
        if !compiled.bools.isEmpty && version >= 16 {
            assignments.append(Dictionary(uniqueKeysWithValues: compiled.bools.map { ($0.name, !$0.defaultValue) }))
        }
        for assignment in assignments {
            let diff = DecisionSummary.differences(read, compiled, ignoring: DecisionSummary.droppedParts(version: version), booleans: assignment)
            #expect(diff.isEmpty, "\(name) v\(version) booleans \(assignment), read vs compiled:\n\(diff.joined(separator: "\n"))")
        }
    }

    @Test(arguments: BinaryFixtures.fixtureNames)
    func fixtureAtEveryVersionDecidesAsItsText(_ name: String) throws {
        let text = try String(contentsOf: BinaryFixtures.policiesDirectory.appendingPathComponent(name), encoding: .utf8)
        let mls = BinaryFixtures.isMLS(text)
        for version in Self.versions where !mls || version >= 19 {
            try Self.expectSameAsText(text, name: name, version: version, mls: mls)
        }
    }

    @Test func embeddedPolicyAtSampledVersionsDecidesAsItsText() throws {
        let text = try String(contentsOf: BinaryFixtures.embeddedPolicy, encoding: .utf8)
        for version in [19, 20, 24, 33] {
            try Self.expectSameAsText(text, name: "default-policy.conf", version: version, mls: true)
        }
    }

    @Test func richPolicyAtEveryVersionDecidesAsItsText() throws {
        for version in Self.versions {
            try Self.expectSameAsText(PolicyStatisticsTests.rich, name: "rich.conf", version: version, mls: false)
        }
    }

    /// `policy info` counts of the binary read equal seinfo's on the same file (setools reads
    /// versions ≥ 24 only when the policy has attributes, §3.3.5).
    @Test(arguments: [24, 29, 33])
    func countsMatchSeinfo(_ version: Int) throws {
        for (text, mls) in [(PolicyStatisticsTests.rich, false), (try String(contentsOf: BinaryFixtures.embeddedPolicy, encoding: .utf8), true)] {
            let binary = try BinaryFixtures.compile(text: text, version: version, mls: mls)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-binread-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let path = dir.appendingPathComponent("policy.\(version)")
            try Data(binary).write(to: path)
            let r = try runProcess(URL(fileURLWithPath: "/usr/bin/seinfo"), [path.path], standardError: .discard)
            try #require(r.status == 0)
            var theirs: [String: Int] = [:]
            let pattern = try NSRegularExpression(pattern: #"([A-Za-z][A-Za-z. _]*?):\s+(\d+)"#)
            for m in pattern.matches(in: r.stdout, range: NSRange(r.stdout.startIndex..., in: r.stdout)) {
                theirs[String(r.stdout[Range(m.range(at: 1), in: r.stdout)!]).trimmingCharacters(in: .whitespaces)] =
                    Int(r.stdout[Range(m.range(at: 2), in: r.stdout)!])
            }
            let ours = try PolicyDB(binary: binary).statistics
            for (label, key) in PolicyStatisticsTests.sameCount {
                // The binary holds only initial SIDs with a context; seinfo counts those.
                let expected = try #require(theirs[label], "seinfo prints no \(label)")
                #expect(ours[key] == expected, "v\(version) \(key): salabel \(String(describing: ours[key])), seinfo \(label) \(expected)")
            }
            #expect(ours["Allow keys"]! + ours["Conditional AV rules"]! == theirs["Allow"], "v\(version) Allow")
        }
    }

    /// The loader tells the forms apart by the magic number, never by the file name.
    @Test func loaderRecognizesTheFormByMagic() throws {
        let binary = try BinaryFixtures.compile(text: PolicyStatisticsTests.rich, version: 33, mls: false)
        #expect(PolicyFileForm(of: binary) == .binary)
        #expect(PolicyFileForm(of: Array(PolicyStatisticsTests.rich.utf8)) == .text)
        #expect(PolicyFileForm(of: binary.prefix(3)) == .text)
        let fromBinary = try PolicyDB.load(bytes: binary, file: "policy.conf")
        let fromText = try PolicyDB.load(bytes: Array(PolicyStatisticsTests.rich.utf8), file: "policy.33")
        #expect(DecisionSummary.differences(fromBinary, fromText).isEmpty)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-binread-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("anything.conf")
        try Data(binary).write(to: path)
        let server = try SecurityServer.load(path: path.path)
        let d = try server.computeAccess(
            source: SecurityContext(parsing: "u:r:a_t"), target: SecurityContext(parsing: "u:r:c_t"), objectClass: "file")
        #expect(d.allowed.contains("read") && d.allowed.contains("write"))
        var broken = binary
        broken.removeLast()
        #expect {
            try PolicyDB.load(bytes: broken, file: "x.33")
        } throws: { error in
            guard let e = error as? PolicyLoadError, case .binary(let file, let b) = e, file == "x.33", b.section == .typeAttributeMap else { return false }
            return e.description.hasPrefix("x.33: binary policy:")
        }
    }
}
