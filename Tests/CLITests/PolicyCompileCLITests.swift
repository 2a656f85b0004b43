import Foundation
import Testing
import TestSupport

/// `salabel policy compile`: the binary form written whole or not at all, loadable by libsepol
/// (checkpolicy 3.4 `-b`), refused by name where the version cannot carry the policy
/// (Specs/engine/binary-policy.md §6.1).
struct PolicyCompileCLITests {
    static let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-cli-compile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func writesWhatCheckpolicyLoadsAndSalabelReads() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for version in ["33", "28", "24"] {
            let out = dir.appendingPathComponent("policy.\(version)").path
            let r = try CLITests.salabel("policy", "compile", Self.conf, "-o", out, "--version", version, "--mls")
            #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r.stderr)")
            let load = try CLITests.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-b", "-c", version, "-o", "/dev/null", out])
            #expect(load.status == 0, "checkpolicy -b refused salabel's v\(version): \(load.stdout)\(load.stderr)")
            let check = try CLITests.salabel("policy", "check", CLITests.client, CLITests.spd, "association", "polmatch", "--policy", out)
            #expect(check.status == 0 && check.stdout == "granted { polmatch }\n")
        }
        // A binary in, another version out.
        let rewritten = dir.appendingPathComponent("rewritten").path
        let r = try CLITests.salabel("policy", "compile", dir.appendingPathComponent("policy.33").path, "-o", rewritten, "--version", "30")
        #expect(r.status == 0, "\(r.stderr)")
        let header = try Data(contentsOf: URL(fileURLWithPath: rewritten)).prefix(20)
        #expect(Array(header.suffix(4)) == [30, 0, 0, 0], "the version word")
    }

    @Test func standardOutputTakesTheSameBytes() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("file").path, piped = dir.appendingPathComponent("piped").path
        #expect(try CLITests.salabel("policy", "compile", Self.conf, "-o", file).status == 0)
        let r = try CLITests.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "\"$0\" policy compile \"$1\" -o - > \"$2\"", CLITests.binary.path, Self.conf, piped])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: piped)) == Data(contentsOf: URL(fileURLWithPath: file)))
    }

    @Test func refusalsNameTheCauseAndWriteNothing() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let permissive = repositoryRoot.appendingPathComponent("Tests/Fixtures/policies/permissive.conf").path
        let cases: [([String], String)] = [
            ([permissive, "-o", out, "--version", "22"], "permissive types, which needs version 23 or later"),
            ([Self.conf, "-o", out, "--version", "14"], "salabel writes versions 15–33"),
            ([Self.conf, "-o", out, "--version", "18"], "MLS, which needs version 19 or later"),
            ([dir.appendingPathComponent("missing.conf").path, "-o", out], "cannot read "),
            ([permissive, "-o", out, "--mls"], "--mls, but the policy declares no sensitivity"),
            ([Self.conf, "-o", dir.appendingPathComponent("no/such/dir/out").path], "cannot write"),
        ]
        for (arguments, message) in cases {
            let r = try CLITests.run(CLITests.binary, ["policy", "compile"] + arguments)
            #expect(r.status == 2, "\(arguments): \(r.status)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(arguments) left a file")
        }
    }
}
