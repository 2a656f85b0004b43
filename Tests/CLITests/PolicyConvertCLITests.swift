import Foundation
import Testing
import TestSupport

/// `salabel policy convert IN [-o OUT]`: a policy of either form written as policy.conf text,
/// whole or not at all (Specs/engine/policy-conversion.md).
struct PolicyConvertCLITests {
    static let embedded = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path

    static func directory() throws -> (URL, () -> Void) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-cli-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (dir, { try? FileManager.default.removeItem(at: dir) })
    }

    static func entries(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }

    @Test func writesTheFileThatAnswersAsTheOriginal() throws {
        let (dir, cleanup) = try Self.directory()
        defer { cleanup() }
        let out = dir.appendingPathComponent("out.conf").path
        let r = try CLITests.salabel("policy", "convert", Self.embedded, "-o", out)
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r.stderr)")
        #expect(Self.entries(dir) == ["out.conf"], "no temporary file is left")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.hasPrefix("# Written by salabel"))
        let original = try CLITests.salabel("policy", "check", CLITests.client, CLITests.spd, "association", "polmatch")
        let converted = try CLITests.salabel("policy", "check", CLITests.client, CLITests.spd, "association", "polmatch", "--policy", out)
        #expect(original.status == 0 && converted.status == 0 && converted.stdout == original.stdout)
        let c = try CLITests.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-o", dir.appendingPathComponent("b").path, out])
        #expect(c.status == 0, "checkpolicy: \(c.stdout)\(c.stderr)")
    }

    @Test func standardOutputWithoutOrWithDash() throws {
        let plain = try CLITests.salabel("policy", "convert", Self.embedded)
        let dash = try CLITests.salabel("policy", "convert", Self.embedded, "-o", "-")
        #expect(plain.status == 0 && dash.status == 0)
        #expect(plain.stdout.contains("\nclass association\n") && plain.stdout == dash.stdout)
    }

    @Test func convertsABinary() throws {
        let (binary, cleanup) = try BinaryPolicyCLITests.embeddedBinary()
        defer { cleanup() }
        let fromBinary = try CLITests.salabel("policy", "convert", binary)
        #expect(fromBinary.status == 0, "\(fromBinary.stderr)")
        #expect(fromBinary.stdout.contains("\nmlsconstrain "))
    }

    @Test func aMissingFileIsAnErrorAndNothingIsWritten() throws {
        let (dir, cleanup) = try Self.directory()
        defer { cleanup() }
        let missing = dir.appendingPathComponent("none.conf").path
        let out = dir.appendingPathComponent("out.conf").path
        let r = try CLITests.salabel("policy", "convert", missing, "-o", out)
        #expect(r.status == 2)
        #expect(r.stderr == "error: cannot read \(missing): No such file or directory\n", "\(r.stderr)")
        #expect(Self.entries(dir).isEmpty)
    }

    @Test func aBadPolicyIsAnErrorWithItsLocationAndTheOutputIsKept() throws {
        let (dir, cleanup) = try Self.directory()
        defer { cleanup() }
        let bad = dir.appendingPathComponent("bad.conf")
        try "class c\nsid kernel\nclass c { p }\ntype t;\nallow t nosuch_t:c p;\n".write(to: bad, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.conf")
        try "previous\n".write(to: out, atomically: true, encoding: .utf8)
        let r = try CLITests.salabel("policy", "convert", bad.path, "-o", out.path)
        #expect(r.status == 2)
        #expect(r.stderr == "error: \(bad.path):5:1: unknown type or attribute nosuch_t\n", "\(r.stderr)")
        #expect(try String(contentsOf: out, encoding: .utf8) == "previous\n", "a failed conversion leaves the output as it was")
        #expect(Self.entries(dir) == ["bad.conf", "out.conf"])

        let garbage = dir.appendingPathComponent("garbage.bin")
        try Data([0x8C, 0xFF, 0x7C, 0xF9, 1, 2, 3]).write(to: garbage)
        let g = try CLITests.salabel("policy", "convert", garbage.path, "-o", out.path)
        #expect(g.status == 2)
        #expect(g.stderr.hasPrefix("error: \(garbage.path): binary policy: "), "\(g.stderr)")
        #expect(Self.entries(dir) == ["bad.conf", "garbage.bin", "out.conf"])
    }

    @Test func anUnwritableDirectoryIsAnError() throws {
        let r = try CLITests.salabel("policy", "convert", Self.embedded, "-o", "/nonexistent-salabel-dir/out.conf")
        #expect(r.status == 2)
        #expect(
            r.stderr == "error: cannot write /nonexistent-salabel-dir/out.conf: create a file in /nonexistent-salabel-dir: No such file or directory\n",
            "\(r.stderr)")
    }
}

extension PolicyConvertCLITests {
    /// Extended-permission rules, which the database only counts, are not dropped silently.
    @Test func extendedPermissionRulesAreReportedAsNotWritten() throws {
        let (dir, cleanup) = try Self.directory()
        defer { cleanup() }
        let conf = dir.appendingPathComponent("xperm.conf")
        try """
        class process
        class file
        sid kernel
        class process { transition }
        class file { ioctl read }
        type t;
        role r;
        role r types t;
        allow t t:file { ioctl read };
        allowxperm t t:file ioctl 0x8927;
        user u roles r;
        sid kernel u:r:t
        """.write(to: conf, atomically: true, encoding: .utf8)
        let r = try CLITests.salabel("policy", "convert", conf.path)
        #expect(r.status == 0)
        #expect(
            r.stderr == "warning: \(conf.path): 1 extended-permission rules (allowxperm…) are not written: salabel does not hold their sets\n", "\(r.stderr)")
        #expect(r.stdout.contains("# 1 extended-permission rules (allowxperm…) are not written"))
    }
}
