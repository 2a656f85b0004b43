import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// `PolicyDB.policyLanguage()` against the reference tools (Specs/engine/policy-conversion.md):
/// checkpolicy 3.4 compiles what salabel writes, and setools' `sediff` finds no difference between
/// checkpolicy's binary of the original and checkpolicy's binary of the converted text. The
/// conversion starts from the text and from checkpolicy's binary of it, and from the installed
/// Debian reference policy. Missing tools fail the tests (scripts/deps test installs them).
@Suite(.serialized)
struct PolicyConversionConformanceTests {
    static let embeddedPolicy = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path

    /// Every fixture, the embedded policy and the conversion edge cases (Tests/Fixtures/conversion).
    static var sources: [String] { EngineVsLibsepolTests.fixtureNames + ["default-policy.conf", "conversion/edges.conf"] }

    static func path(_ name: String) -> String {
        if name == "default-policy.conf" { return embeddedPolicy }
        return fixturesDirectory.appendingPathComponent(name.contains("/") ? name : "policies/\(name)").path
    }

    static func temporary(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("salabel-convert-\(UUID().uuidString)\(suffix)").path
    }

    /// The file (either form) converted by salabel, written to a temporary policy.conf.
    static func convert(_ path: String) throws -> String {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let text = try PolicyDB.load(bytes: bytes, file: path).policyLanguage()
        let out = temporary(".conf")
        try text.write(toFile: out, atomically: true, encoding: .utf8)
        return out
    }

    /// checkpolicy's binary (v33) of a policy.conf, with `-U` from the `# handle_unknown` comment
    /// (checkpolicy takes it as an option) of `optionsFrom`, by default the file itself. Both
    /// salabel and libsepol write that comment.
    static func compile(_ conf: String, mls: Bool, optionsFrom: String? = nil) throws -> String {
        let checkpolicy = "/usr/bin/checkpolicy"
        guard FileManager.default.isExecutableFile(atPath: checkpolicy) else {
            throw OracleError("checkpolicy is not installed (scripts/deps test installs it)")
        }
        var arguments = mls ? ["-M"] : []
        let text = try String(contentsOfFile: optionsFrom ?? conf, encoding: .utf8)
        if let line = text.split(separator: "\n", maxSplits: 3).first(where: { $0.hasPrefix("# handle_unknown ") }) {
            arguments += ["-U", String(line.split(separator: " ")[2])]
        }
        let out = temporary(".33")
        let r = try runProcess(URL(fileURLWithPath: checkpolicy), arguments + ["-c", "33", "-o", out, conf], standardError: .standardOutput)
        guard r.status == 0 else { throw OracleError("checkpolicy rejected \(conf):\n\(r.stdout)") }
        return out
    }

    /// What `sediff --stats` reports between two binaries: its non-blank lines (none when the
    /// policies are the same).
    static func sediff(_ a: String, _ b: String) throws -> [String] {
        let sediff = "/usr/bin/sediff"
        guard FileManager.default.isExecutableFile(atPath: sediff) else {
            throw OracleError("sediff is not installed (Debian package setools; scripts/deps test installs it)")
        }
        // A fixed hash seed: setools' comparison of constraint name sets depends on it
        // (BinaryPolicyWriterConformanceTests.sediff).
        let r = try runProcess(
            URL(fileURLWithPath: sediff), ["--stats", a, b], environment: ["PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"],
            standardError: .standardOutput)
        guard r.status == 0 else { throw OracleError("sediff \(a) \(b) failed (\(r.status)):\n\(r.stdout)") }
        return r.stdout.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// From the text and from checkpolicy's binary of it: the conversion compiles in checkpolicy
    /// to a binary `sediff` cannot tell from the original's.
    @Test(arguments: sources)
    func convertedFixtureIsTheSamePolicyForSediff(_ name: String) throws {
        let source = Self.path(name)
        let text = try String(contentsOfFile: source, encoding: .utf8)
        let mls = name == "default-policy.conf" || EngineVsLibsepolTests.isMLS(text)
        let original = try checkpolicyCompile(source, mls: mls)
        var files = [original]
        defer { for f in files { try? FileManager.default.removeItem(atPath: f) } }
        for (what, input) in [("text", source), ("binary", original)] {
            let conf = try Self.convert(input)
            files.append(conf)
            let binary = try Self.compile(conf, mls: mls)
            files.append(binary)
            let diff = try Self.sediff(original, binary)
            #expect(diff.isEmpty, "\(name) converted from its \(what): sediff reports\n\(diff.joined(separator: "\n"))")
        }
    }

    /// The Debian reference policy: its binary and its flattened text, converted by salabel, each
    /// compile in checkpolicy to a binary `sediff` cannot tell from the installed one; the text's
    /// conversion compiles in salabel to a policy that answers as libsepol on the installed binary
    /// and has the text's counts.
    @Test func referencePolicyConverts() throws {
        let (conf, binary) = try refpolicyConf()
        let fromBinary = try Self.convert(binary)
        defer { try? FileManager.default.removeItem(atPath: fromBinary) }
        let compiled = try Self.compile(fromBinary, mls: true)
        defer { try? FileManager.default.removeItem(atPath: compiled) }
        let diff = try Self.sediff(binary, compiled)
        #expect(diff.isEmpty, "refpolicy converted from its binary: sediff reports\n\(diff.joined(separator: "\n"))")

        let fromText = try Self.convert(conf)
        defer { try? FileManager.default.removeItem(atPath: fromText) }
        // The flattened text came from the installed binary, so checkpolicy's binary of the text
        // is that binary's policy. Its handle_unknown is only the flattened text's comment, which
        // salabel's compiler does not read: -U comes from there.
        let compiledText = try Self.compile(fromText, mls: true, optionsFrom: conf)
        defer { try? FileManager.default.removeItem(atPath: compiledText) }
        let textDiff = try Self.sediff(binary, compiledText)
        #expect(textDiff.isEmpty, "refpolicy converted from its text: sediff reports\n\(textDiff.joined(separator: "\n"))")
        let original = try SecurityServer.load(path: conf).policy
        let server = try SecurityServer.load(path: fromText)
        let counts = { (p: PolicyDB) in p.statistics.counts.filter { $0.label != "Neverallow" } }
        #expect(counts(original) == counts(server.policy), "refpolicy: policy info counts differ after conversion")

        let oracle = try Oracle(binaryPolicy: binary)
        var differential = Differential(server: server, oracle: oracle)
        differential.compareRandomAccessVectors(20_000, seed: 0xC0_4BE7)
        #expect(differential.nonEmptyGrants >= 200, "random queries must include granted permissions")
        #expect(differential.mismatchCount == 0, "\(differential.summary)")
    }
}
