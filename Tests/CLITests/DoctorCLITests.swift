import Foundation
import Testing
import TestSupport

/// `salabel doctor --apply` on two copies of Examples/apply/echo.yaml (Specs/manager/doctor.md), and
/// its argument errors. The live checks need a host's SELinux: DoctorVMTests runs them in the VM.
struct DoctorCLITests {
    @Test func applyFilesThatAgreeAndThatDiffer() throws {
        let echo = repositoryRoot.appendingPathComponent("Examples/apply/echo.yaml").path
        let same = try CLITests.salabel("doctor", "--apply", echo, "--apply", echo)
        #expect(same.status == 0 && same.stdout == "OK: \(echo) and \(echo) agree\n", "\(same.stdout)\(same.stderr)")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-doctor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = dir.appendingPathComponent("server.yaml").path
        try String(contentsOfFile: echo, encoding: .utf8).replacingOccurrences(of: "icv: 128", with: "icv: 96")
            .write(toFile: other, atomically: true, encoding: .utf8)
        let differ = try CLITests.salabel("doctor", "--apply", echo, "--apply", other, "--json")
        #expect(differ.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(differ.stdout.utf8)) as? [String: Any])
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(json["ok"] as? Bool == false && findings.count == 1)
        #expect(findings.first?["id"] as? String == "apply-files" && findings.first?["subject"] as? String == "association echo-client")
        #expect((findings.first?["seen"] as? String)?.contains("icv_bits 128 in \(echo), 96 in \(other)") == true)
    }

    @Test func badArguments() throws {
        let one = try CLITests.salabel("doctor", "--apply", "a.yaml")
        #expect(one.status == 2 && one.stderr.contains("--apply: give two files"), "\(one.stderr)")
        let both = try CLITests.salabel("doctor", "--apply", "a.yaml", "--apply", "b.yaml", "--netns", "x")
        #expect(both.status == 2 && both.stderr.contains("exclude each other"), "\(both.stderr)")
        let missing = try CLITests.salabel("doctor", "--apply", "/nonexistent/a.yaml", "--apply", "/nonexistent/b.yaml")
        #expect(missing.status == 2, "\(missing.stderr)")
        // A namespace that does not exist is a bad argument (exit 2), not a finding about the host.
        let name = "salabel-no-such-\(UUID().uuidString.prefix(8))"
        let noNamespace = try CLITests.salabel("doctor", "--netns", name)
        #expect(noNamespace.status == 2 && noNamespace.stdout.isEmpty, "\(noNamespace.stdout)")
        #expect(noNamespace.stderr.contains("--netns \(name): no such network namespace (/run/netns/\(name) does not exist"), "\(noNamespace.stderr)")
        let noPath = try CLITests.salabel("doctor", "--netns", "/nonexistent/ns/net", "--json")
        #expect(noPath.status == 2 && noPath.stderr.contains("no such network namespace (/nonexistent/ns/net does not exist"), "\(noPath.stderr)")
        let dots = try CLITests.salabel("doctor", "--netns", "..")
        #expect(dots.status == 2 && dots.stderr.contains("--netns ..: not a namespace name"), "\(dots.stderr)")
    }
}
