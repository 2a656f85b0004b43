import Foundation
import Testing
import TestSupport

/// `--policy` with a kernel binary policy: the command tells the form by the magic number and
/// answers as with the policy.conf the binary came from (Specs/engine/binary-policy.md).
struct BinaryPolicyCLITests {
    /// The embedded default policy compiled by checkpolicy 3.4 at version 33.
    static func embeddedBinary() throws -> (path: String, cleanup: () -> Void) {
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-cli-binary-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // The name says nothing: the form is found by the magic number.
        let binary = dir.appendingPathComponent("policy.conf").path
        let r = try CLITests.run(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-M", "-c", "33", "-o", binary, conf])
        try #require(r.status == 0, "checkpolicy: \(r.stdout)\(r.stderr)")
        return (binary, { try? FileManager.default.removeItem(at: dir) })
    }

    @Test func infoCountsOfTheBinaryEqualThoseOfItsText() throws {
        let (binary, cleanup) = try Self.embeddedBinary()
        defer { cleanup() }
        let fromBinary = try #require(
            try CLITests.json(try CLITests.salabel("policy", "info", "--json", "--policy", binary).stdout)["counts"] as? [String: Int])
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        let fromText = try #require(
            try CLITests.json(try CLITests.salabel("policy", "info", "--json", "--policy", conf).stdout)["counts"] as? [String: Int])
        #expect(fromText["neverallow"] == 1)
        #expect(fromBinary.count == fromText.count)
        // Kernel policies carry no neverallow rule: checkpolicy checks them and drops them (§5).
        #expect(fromBinary["neverallow"] == 0)
        for (key, value) in fromText where key != "neverallow" {
            #expect(fromBinary[key] == value, "\(key): binary \(String(describing: fromBinary[key])), text \(value)")
        }
    }

    @Test func checksAnswerAsWithTheText() throws {
        let (binary, cleanup) = try Self.embeddedBinary()
        defer { cleanup() }
        let granted = try CLITests.salabel("policy", "check", CLITests.client, CLITests.spd, "association", "polmatch", "--policy", binary)
        #expect(granted.status == 0 && granted.stdout == "granted { polmatch }\n")
        let denied = try CLITests.salabel("policy", "check", CLITests.other, CLITests.spd, "association", "polmatch", "--policy", binary)
        let deniedText = try CLITests.salabel("policy", "check", CLITests.other, CLITests.spd, "association", "polmatch")
        #expect(denied.status == deniedText.status && denied.stdout == deniedText.stdout)
    }

    @Test func aDamagedBinaryIsRefusedWithItsOffset() throws {
        let (binary, cleanup) = try Self.embeddedBinary()
        defer { cleanup() }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: binary))
        bytes.removeLast(5)
        try bytes.write(to: URL(fileURLWithPath: binary))
        let r = try CLITests.salabel("policy", "info", "--policy", binary)
        #expect(r.status == 2)
        #expect((r.stdout + r.stderr).contains("\(binary): binary policy: "), "\(r.stderr)")
    }
}
