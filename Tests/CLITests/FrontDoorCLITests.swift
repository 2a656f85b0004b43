import Foundation
import Testing

/// Issue 12, "Trust at the front door", end to end: `apply`, `keygen`, `scenario`, `xfrm state add`
/// and `dataplane sa add` never show key bytes, refuse YAML bombs at once, refuse keys that do not
/// fit their algorithms, and a dry run refuses what the real run refuses, with the same status.
@Suite(.serialized)
struct FrontDoorCLITests {
    static let client = "system_u:system_r:echoclient_t:s0"
    static let spd = "system_u:object_r:ipsec_spd_t:s0"

    /// A scratch directory, removed afterwards.
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-frontdoor-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
        func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
            let p = path(name)
            try text.write(toFile: p, atomically: false, encoding: .utf8)
            chmod(p, mode_t(mode))
            return p
        }
    }

    static func applyFile(netns: String?, context: String = client, extra: String = "") -> String {
        """
        hosts:
          client: { address: 10.77.0.1\(netns.map { ", netns: \($0)" } ?? "") }
          server: { address: 10.77.0.2 }
        associations:
          - name: echo-client
            between: [client, server]
            context: \(context)
            policy_context: \(spd)
            selector: { proto: tcp, port: 7 }
        \(extra)
        key_file: echo.keys
        """
    }

    static func salabel(_ args: [String], stdin: String? = nil) throws -> CLITests.Run {
        try #require(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "salabel is not built")
        return try CLITests.run(CLITests.binary, args, stdin: stdin)
    }

    /// The hex keys of a key file salabel wrote.
    static func keys(in path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\"").filter { $0.hasPrefix("0x") }.map { String($0.dropFirst(2)) }
    }

    /// A key file with a real key and a YAML error (a missing `}`, a duplicated `forward:`): apply,
    /// its dry run and keygen report the path, line and column, and never the key's bytes.
    @Test(arguments: ["missing brace", "duplicate"])
    func yamlErrorsInKeyFilesNeverShowKeys(_ kind: String) throws {
        let dir = try Scratch()
        let file = try dir.write("echo.yaml", Self.applyFile(netns: nil))
        let gen = try Self.salabel(["keygen", file])
        try #require(gen.status == 0, "\(gen.stderr)")
        let keyPath = dir.path("echo.keys")
        let hex = try Self.keys(in: keyPath)
        try #require(hex.count == 2)
        var lines = try String(contentsOfFile: keyPath, encoding: .utf8).split(separator: "\n").map(String.init)
        if kind == "duplicate" { lines.append(lines[2]) } else { lines[3] = String(lines[3].dropLast(2)) }
        _ = try dir.write("echo.keys", lines.joined(separator: "\n") + "\n", mode: 0o600)
        for args in [
            ["apply", file, "--host", "client", "--dry-run"], ["apply", file, "--host", "client"], ["apply", file, "--host", "client", "--dry-run", "--json"],
            ["keygen", file],
        ] {
            let r = try Self.salabel(args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(keyPath) && r.stderr.contains("line ") && r.stderr.contains("column "), "\(args): \(r.stderr)")
            for h in hex {
                #expect(!r.stderr.contains(h.prefix(8)) && !r.stdout.contains(h.prefix(8)), "\(args) showed key bytes: \(r.stderr)")
            }
        }
    }

    static let bomb: String = {
        var text = "l0: &l0 [x,x,x,x,x,x,x,x,x]\n"
        for l in 1...9 { text += "l\(l): &l\(l) [" + Array(repeating: "*l\(l - 1)", count: 9).joined(separator: ",") + "]\n" }
        return text
    }()

    /// The nine-deep alias bomb as an apply file and as a scenario file: refused in under a
    /// second, naming the limit.
    @Test func yamlBombsFailFast() throws {
        let dir = try Scratch()
        let file = try dir.write("bomb.yaml", Self.bomb)
        for args in [["apply", file, "--host", "client", "--dry-run"], ["keygen", file], ["scenario", "run", file]] {
            let start = Date()
            let r = try Self.salabel(args)
            #expect(Date().timeIntervalSince(start) < 1, "\(args) took \(Date().timeIntervalSince(start)) s")
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("100000 nodes"), "\(args): \(r.stderr)")
        }
    }

    /// A dry run makes the real run's checks: a label the caller may not set (an unknown type) is
    /// refused by both, with exit status 1, and the dry run prints no "would add".
    @Test func dryRunRefusesWhatTheRealRunRefuses() throws {
        let ns = try XfrmCLITests.Namespace()
        let dir = try Scratch()
        let file = try dir.write("echo.yaml", Self.applyFile(netns: ns.name, context: "system_u:system_r:nosuch_t:s0"))
        #expect(try Self.salabel(["keygen", file]).status == 0)
        let dry = try Self.salabel(["apply", file, "--host", "client", "--dry-run"])
        let real = try Self.salabel(["apply", file, "--host", "client"])
        #expect(dry.status == 1 && real.status == 1, "dry \(dry.status): \(dry.stderr); real \(real.status): \(real.stderr)")
        #expect(!dry.stdout.contains("would add"))
        #expect(dry.stderr.contains("nosuch_t") && dry.stderr.contains("setcontext"), "\(dry.stderr)")
        #expect(try ns.ip("xfrm", "policy", "show").stdout.isEmpty)
    }

    /// A namespace that does not exist is named, with how to create it, by the dry run and the real
    /// run alike (exit status 2).
    @Test func anAbsentNamespaceIsNamed() throws {
        let dir = try Scratch()
        let name = "salabel-absent-\(getpid())"
        let file = try dir.write("echo.yaml", Self.applyFile(netns: name))
        #expect(try Self.salabel(["keygen", file]).status == 0)
        for args in [["apply", file, "--host", "client", "--dry-run"], ["apply", file, "--host", "client"]] {
            let r = try Self.salabel(args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("network namespace \(name)") && r.stderr.contains("ip netns add \(name)") && r.stderr.contains("--netns"), "\(r.stderr)")
        }
    }

    /// keygen refuses key_bits the algorithm does not take (writing nothing), and replaces a symlink
    /// at the key file's path instead of writing through it.
    @Test func keygenRefusesBadKeyBitsAndDoesNotFollowLinks() throws {
        let dir = try Scratch()
        for bits in ["0", "7", "100000000"] {
            let file = try dir.write("bits.yaml", Self.applyFile(netns: nil, extra: "    key_bits: \(bits)"))
            let r = try Self.salabel(["keygen", file])
            #expect(r.status == 2 && r.stderr.contains("key_bits"), "\(bits): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("echo.keys")))
        }
        let file = try dir.write("echo.yaml", Self.applyFile(netns: nil))
        let target = try dir.write("elsewhere", "untouched\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path("echo.keys"), withDestinationPath: target)
        let r = try Self.salabel(["keygen", "--force", file])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "untouched\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path("echo.keys"))
        #expect(attributes[.type] as? FileAttributeType == .typeRegular && attributes[.posixPermissions] as? Int == 0o600)
    }

    /// A key file whose rfc4106 key is 16 bytes (AES key without its salt) is refused by apply, dry
    /// run or not, before anything reaches the kernel.
    @Test func applyRefusesKeysThatDoNotFit() throws {
        let dir = try Scratch()
        let file = try dir.write("echo.yaml", Self.applyFile(netns: nil))
        let short = "00112233445566778899aabbccddeeff"
        _ = try dir.write("echo.keys", "echo-client:\n  forward: { aead: \"0x\(short)\" }\n  reverse: { aead: \"0x\(short)0a0b0c0d\" }\n", mode: 0o600)
        for args in [["apply", file, "--host", "client", "--dry-run"], ["apply", file, "--host", "client"]] {
            let r = try Self.salabel(args)
            #expect(r.status == 2 && r.stderr.contains("echo-client.forward.aead") && r.stderr.contains("20, 28 or 36 bytes"), "\(r.stderr)")
            #expect(!r.stderr.contains(short))
        }
    }

    /// Keys on the command line: @FILE must be private, - reads standard input, every key is
    /// checked against its algorithm (before the kernel, or before connecting to a data plane host),
    /// and the help says a literal key is visible to other users.
    @Test func keyArguments() throws {
        let ns = try XfrmCLITests.Namespace()
        let dir = try Scratch()
        let good = "0x00112233445566778899aabbccddeeff00112233"
        let shared = try dir.write("shared.hex", good + "\n", mode: 0o640)
        let base = ["xfrm", "state", "add", "src", "10.0.0.1", "dst", "10.0.0.2", "proto", "esp", "spi", "0x100", "--netns", ns.name]
        let r1 = try Self.salabel(base + ["aead", "rfc4106(gcm(aes))", "@" + shared, "128"])
        #expect(r1.status == 2 && r1.stderr.contains("group or others") && !r1.stderr.contains("00112233"), "\(r1.stderr)")
        let r2 = try Self.salabel([
            "xfrm", "state", "add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--spi", "0x100", "--aead", "rfc4106(gcm(aes))",
            "--key", "@" + shared, "--netns", ns.name,
        ])
        #expect(r2.status == 2 && r2.stderr.contains("group or others"), "\(r2.stderr)")
        // From standard input: a 16-byte key is read, then refused for its length.
        let r3 = try Self.salabel(base + ["aead", "rfc4106(gcm(aes))", "-", "128"], stdin: "0x00112233445566778899aabbccddeeff\n")
        #expect(r3.status == 2 && r3.stderr.contains("16 bytes") && !r3.stderr.contains("00112233"), "\(r3.stderr)")
        let r4 = try Self.salabel(base + ["replay-window", "100000000", "aead", "rfc4106(gcm(aes))", good, "128"])
        #expect(r4.status == 2 && r4.stderr.contains("0 to 4096"), "\(r4.stderr)")
        // The data plane's sa add checks before connecting (no host runs here).
        let control = dir.path("nohost.sock")
        let r5 = try Self.salabel([
            "dataplane", "sa", "add", "--control", control, "src", "10.0.0.1", "dst", "10.0.0.2", "proto", "esp", "spi", "0x100",
            "enc", "cbc(aes)", "0x00112233445566778899aabbccddeeff", "auth-trunc", "hmac(sha256)", "0x01", "128",
        ])
        #expect(r5.status == 2 && r5.stderr.contains("hmac(sha256)") && r5.stderr.contains("32 bytes"), "\(r5.stderr)")
        let r6 = try Self.salabel([
            "dataplane", "sa", "add", "--control", control, "src", "10.0.0.1", "dst", "10.0.0.2", "proto", "esp", "spi", "0x100",
            "aead", "rfc4106(gcm(aes))", "@" + shared, "128",
        ])
        #expect(r6.status == 2 && r6.stderr.contains("group or others"), "\(r6.stderr)")
        for args in [["xfrm", "state", "--help"], ["dataplane", "sa", "add", "--help"]] {
            let help = try Self.salabel(args)
            #expect(help.stdout.replacingOccurrences(of: "\n", with: " ").contains("visible to other users"), "\(args)")
        }
    }
}
