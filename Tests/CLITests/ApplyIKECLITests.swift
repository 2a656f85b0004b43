import Foundation
import Testing
import TestSupport

/// `salabel apply` with associations keyed by IKE, end to end without pluto (no control socket):
/// the files, the dry run, the label checks, `--strict`, `--remove`, and the pre-shared key in no
/// output and no error.
struct ApplyIKECLITests {
    static let file = """
        hosts:
          client: { address: 10.0.0.1 }
          server: { address: 10.0.0.2 }
        keying: ike
        associations:
          - name: echo
            between: [client, server]
            context: system_u:system_r:echoclient_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
            selector: { proto: tcp, port: 7 }
        """

    struct Place {
        var dir: URL
        var apply: String { dir.appendingPathComponent("echo.yaml").path }
        var ikeDir: String { dir.appendingPathComponent("ipsec.d").path }

        func salabel(_ args: [String]) throws -> CLITests.Run {
            try CLITests.run(
                CLITests.binary,
                ["apply", apply, "--host", "client", "--policy", "embedded", "--ike-dir", ikeDir, "--pluto-socket", dir.appendingPathComponent("none").path]
                    + args)
        }

        /// The pre-shared key as the key file holds it, without `0x`.
        func psk() throws -> String {
            let text = try String(contentsOfFile: dir.appendingPathComponent("salabel.keys").path, encoding: .utf8)
            let line = try #require(text.split(separator: "\n").first { $0.contains("psk:") })
            return String(try #require(line.split(separator: "\"").dropFirst().first).dropFirst(2))
        }
    }

    static func place() throws -> Place {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-ike-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir.appendingPathComponent("ipsec.d").path, withIntermediateDirectories: true)
        let p = Place(dir: dir)
        try file.write(toFile: p.apply, atomically: true, encoding: .utf8)
        let keygen = try CLITests.run(CLITests.binary, ["keygen", p.apply])
        try #require(keygen.status == 0, "\(keygen.stderr)")
        return p
    }

    @Test func applyDryRunRemoveAndTheKeyNowhere() throws {
        let p = try Self.place()
        defer { try? FileManager.default.removeItem(at: p.dir) }
        let key = try p.psk()
        #expect(key.count == 64)
        // ipsec_mgmt_t, the embedded policy's key manager, may set every label: no warning.
        let daemon = ["--ike-daemon-context", "system_u:system_r:ipsec_mgmt_t:s0"]
        let dry = try p.salabel(daemon + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("\tsec-label=system_u:object_r:ipsec_spd_t:s0") && dry.stdout.contains("PSK \"[censored]\""))
        #expect(!dry.stdout.contains("warning"))
        #expect(!FileManager.default.fileExists(atPath: p.ikeDir + "/salabel.conf"))
        let real = try p.salabel(daemon)
        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stdout.contains("not loaded: pluto is not running"))
        let secrets = try String(contentsOfFile: p.ikeDir + "/salabel.secrets", encoding: .utf8)
        #expect(secrets.contains("10.0.0.1 10.0.0.2 : PSK \"\(key)\""))
        let again = try p.salabel(daemon)
        #expect(again.status == 0 && again.stdout.contains("nothing to change"))
        let removed = try p.salabel(daemon + ["--remove"])
        #expect(removed.status == 0 && removed.stdout.contains("removed"), "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: p.ikeDir + "/salabel.secrets"))
        // A failure (the secrets file's place is taken by a directory) names the file, not the key.
        try FileManager.default.createDirectory(atPath: p.ikeDir + "/salabel.secrets/x", withIntermediateDirectories: true)
        let failed = try p.salabel(daemon)
        #expect(failed.status == 1 && failed.stderr.contains("nothing was changed"), "\(failed.stderr)")
        for r in [dry, real, again, removed, failed] { #expect(!(r.stdout + r.stderr).contains(key)) }
    }

    /// The default daemon context (refpolicy's ipsec_t) is no type of the embedded policy: a warning
    /// per label; with --strict, a refusal and nothing written. kernel_t may set the SPD label but not
    /// echoclient_t's: the warning carries the AVC record.
    @Test func labelChecksWarnOrRefuse() throws {
        let p = try Self.place()
        defer { try? FileManager.default.removeItem(at: p.dir) }
        let strict = try p.salabel(["--strict"])
        #expect(strict.status == 1 && strict.stderr.contains("--strict"), "\(strict.stderr)")
        #expect(strict.stdout.contains("warning: echo: the IKE daemon (system_u:system_r:ipsec_t:s0)"))
        #expect(!FileManager.default.fileExists(atPath: p.ikeDir + "/salabel.conf"))
        let warned = try p.salabel(["--ike-daemon-context", "system_u:system_r:kernel_t:s0"])
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stdout.contains("may set the label system_u:system_r:echoclient_t:s0: no"))
        #expect(
            warned.stdout.contains(
                "avc:  denied  { setcontext } for  scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:system_r:echoclient_t:s0 tclass=association permissive=0"
            ))
        #expect(FileManager.default.fileExists(atPath: p.ikeDir + "/salabel.conf"))
    }

    /// A file that mixes both kinds: the dry run plans the static association's SAs and SPD entries
    /// in the host's namespace (as without IKE) and prints the libreswan files for the other.
    @Test func aMixedFilePlansBoth() throws {
        let ns = try XfrmCLITests.Namespace()
        let p = try Self.place()
        defer { try? FileManager.default.removeItem(at: p.dir) }
        try
            (Self.file.replacingOccurrences(of: "client: { address: 10.0.0.1 }", with: "client: { address: 10.0.0.1, netns: \(ns.name) }")
                + """

                  - name: static-echo
                    between: [client, server]
                    keying: static
                    context: system_u:system_r:echoclient_t:s0
                    policy_context: system_u:object_r:ipsec_spd_t:s0
                    selector: { proto: udp, port: 7 }
                """).write(toFile: p.apply, atomically: true, encoding: .utf8)
        #expect(try CLITests.run(CLITests.binary, ["keygen", p.apply]).status == 0)
        let dry = try p.salabel(["--ike-daemon-context", "system_u:system_r:ipsec_mgmt_t:s0", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.split(separator: "\n").filter { $0.hasPrefix("would ") }.count == 4, "\(dry.stdout)")
        #expect(dry.stdout.contains("client: libreswan: would add conn salabel-echo"))
        #expect(!dry.stdout.contains("salabel-static-echo"))
    }
}
