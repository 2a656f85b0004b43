import Foundation
import IPsecModel
import Testing
import XfrmManager

/// Issue 12, "Trust at the front door": YAML errors that never show key bytes, YAML bombs refused
/// fast, keys checked against their algorithms wherever they enter, replay windows in range, and
/// key files written atomically without following links.
struct FrontDoorTests {
    static let keyHex = "0x6149939e6d653a265cee681b0dd2f9b6e7ef8e7d"
    static let otherHex = "0x84d1c5b154c1bbb3a5889cf4153eebb94d6bb2b3"

    /// Key files with YAML errors of every kind Yams reports: the error has a line and column and
    /// none of the file's key bytes (Yams' own description quotes the source line).
    @Test(arguments: [
        // A missing } (parser error).
        "echo:\n  forward: { aead: \"\(keyHex)\" }\n  reverse: { aead: \"\(otherHex)\"\n",
        // A duplicated key (Yams' duplicate check, whose description holds the whole document).
        "echo:\n  forward: { aead: \"\(keyHex)\" }\n  reverse: { aead: \"\(otherHex)\" }\n  forward: { aead: \"\(keyHex)\" }\n",
        // A scanner error (a tab where indentation is expected) and an unterminated quote.
        "echo:\n  forward: { aead: \"\(keyHex)\" }\n\treverse: { aead: \"\(otherHex)\" }\n",
        "echo:\n  forward: { aead: \"\(keyHex) }\n",
        // A bad indentation (block mapping error).
        "echo:\n  forward: { aead: \"\(keyHex)\" }\n reverse: \(otherHex)\n",
    ])
    func keyFileYAMLErrorsGivePositionsNotKeys(_ text: String) throws {
        let error = try #require(throws: ApplyFile.Error.self) { try KeyFile(yaml: text) }
        let shown = error.description
        #expect(shown.contains("line "), "\(shown)")
        #expect(shown.contains("column "), "\(shown)")
        for hex in [Self.keyHex, Self.otherHex] {
            #expect(!shown.contains(hex.dropFirst(2).prefix(8)), "key bytes in: \(shown)")
        }
    }

    /// A hex key misplaced as a key role or an association name is not repeated in the error.
    @Test func aMisplacedKeyIsNotEchoed() throws {
        let text = "echo:\n  forward: { \(Self.keyHex): x }\n  reverse: { aead: \"\(Self.otherHex)\" }\n"
        let error = try #require(throws: ApplyFile.Error.self) { try KeyFile(yaml: text) }
        #expect(!error.description.contains(Self.keyHex.dropFirst(2).prefix(8)))
        #expect(error.description.contains("unknown key role"))
        let asName = try #require(throws: ApplyFile.Error.self) { try KeyFile(yaml: "\(Self.keyHex): { forward: {} }\n") }
        #expect(!asName.description.contains(Self.keyHex.dropFirst(2).prefix(8)), "\(asName)")
        #expect(asName.description.contains("<redacted>"))
    }

    static func bomb(levels: Int) -> String {
        var text = "l0: &l0 [x,x,x,x,x,x,x,x,x]\n"
        for l in 1...levels { text += "l\(l): &l\(l) [" + Array(repeating: "*l\(l - 1)", count: 9).joined(separator: ",") + "]\n" }
        return text
    }

    /// The nested-alias bomb (six and nine deep) fails at once with the limit named, as an apply
    /// file and as a key file; so does an alias of a large list used as a mapping key, which Yams
    /// would hash in full while parsing.
    @Test(arguments: [6, 9])
    func aliasBombsAreRefusedFast(levels: Int) throws {
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: ApplyFile.Error.self) { try ApplyFile(yaml: Self.bomb(levels: levels)) }
        #expect(clock.now - start < .seconds(1))
        #expect(error.description.contains("100000 nodes"), "\(error)")
        let keyError = try #require(throws: ApplyFile.Error.self) { try KeyFile(yaml: Self.bomb(levels: levels)) }
        #expect(keyError.description.contains("aliases are not allowed"), "\(keyError)")
        #expect(keyError.description.contains("line 2, column 10"), "\(keyError)")
        let asKey = Self.bomb(levels: levels) + "[*l\(levels)]: x\n"
        let keyStart = clock.now
        let keyed = try #require(throws: ApplyFile.Error.self) { try ApplyFile(yaml: asKey) }
        #expect(clock.now - keyStart < .seconds(1))
        #expect(keyed.description.contains("used as a mapping key"), "\(keyed)")
        #expect(throws: ApplyFile.Error.self) { try ApplyFile(yaml: Self.bomb(levels: levels) + "*l\(levels): x\n") }
        #expect(throws: ApplyFile.Error.self) { try ApplyFile(yaml: Self.bomb(levels: levels) + "? *l\(levels)\n: x\n") }
        // Found by FuzzConfigInput (input regress-alias-then-text): text after an alias in a flow
        // list, which libyaml first reads as a mapping key holding the alias; Yams hashed its
        // expansion (8.6 s for nine levels). Any text after an alias but , ] } or the line's end
        // is refused, on the same line or the next.
        for tail in ["k: [*l\(levels), *l\(levels) client: 1]\n", "k: [*l\(levels)\n  client: 1]\n", "k: *l\(levels) client\n"] {
            let tailStart = clock.now
            let e = try #require(throws: ApplyFile.Error.self) { try ApplyFile(yaml: Self.bomb(levels: levels) + tail) }
            #expect(clock.now - tailStart < .seconds(1))
            #expect(e.description.contains("an alias followed by more than"), "\(e)")
        }
    }

    /// Aliases within the budget still work in apply files.
    @Test func smallAliasesStillWork() throws {
        let text = """
            hosts:
              client: &h { address: 10.0.0.1 }
              server: { address: 10.0.0.2 }
            associations:
              - name: a
                between: [&c client, &s server]
                context: &ctx system_u:system_r:echoclient_t:s0
                reply_context: *ctx   # a comment after an alias
              - name: b
                between: [ *c ,
                  *s ]
                context: *ctx
            """
        let file = try ApplyFile(yaml: text)
        #expect(file.associations[0].replyContext == file.associations[0].context)
        #expect(file.associations[1].context == file.associations[0].context)
    }

    /// Documents over the size limit and nesting over the depth limit are refused by name.
    @Test func sizeAndDepthLimits() throws {
        let big = "# " + String(repeating: "x", count: YAMLLimits.document.maximumBytes) + "\n"
        let e1 = try #require(throws: ApplyFile.Error.self) { try ApplyFile(yaml: big) }
        #expect(e1.description.contains("limit of \(YAMLLimits.document.maximumBytes) bytes"))
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let e2 = try #require(throws: ApplyFile.Error.self) { try ApplyFile(yaml: deep) }
        #expect(e2.description.contains("deeper than 64 levels"))
        let compact = String(repeating: "- ", count: 100_000) + "x\n"
        let e3 = try #require(throws: ApplyFile.Error.self) { try ApplyFile(yaml: compact) }
        #expect(e3.description.contains("deeper than 64 levels"))
    }

    static func apply(_ extra: String) -> String {
        """
        hosts:
          client: { address: 10.0.0.1 }
          server: { address: 10.0.0.2 }
        associations:
          - name: echo
            between: [client, server]
            context: system_u:system_r:echoclient_t:s0
        \(extra)
        """
    }

    /// key_bits must be whole bytes and a length the algorithm takes.
    @Test(arguments: ["0", "7", "100000000", "128", "4096"])
    func invalidKeyBitsAreRefused(_ bits: String) throws {
        let error = try #require(throws: ApplyFile.Error.self) { try ApplyFile(yaml: Self.apply("    key_bits: \(bits)")) }
        #expect(error.path == "associations[0].key_bits", "\(error)")
    }

    @Test func validKeyBitsAreKept() throws {
        #expect(try ApplyFile(yaml: Self.apply("    key_bits: 288")).associations[0].keyBits == 288)
        let cbc = try ApplyFile(yaml: Self.apply("    encryption: cbc(aes)\n    authentication: hmac(sha256)\n    key_bits: 256"))
        let keys = KeyFile.generate(for: cbc, random: { [UInt8](repeating: 1, count: $0) })
        #expect(keys.keys["echo"]?.forward.encryption?.count == 32 && keys.keys["echo"]?.forward.authentication?.count == 32)
        // The ICV must be one the algorithm takes.
        #expect(throws: ApplyFile.Error.self) { try ApplyFile(yaml: Self.apply("    icv: 256")) }
    }

    /// A key file whose keys do not fit the association's algorithms is refused before planning,
    /// naming the key (never its bytes) and the lengths the algorithm takes.
    @Test func keysThatDoNotFitTheirAlgorithmAreRefused() throws {
        let file = try ApplyFile(yaml: Self.apply(""))
        let short = "0x00112233445566778899aabbccddeeff"
        let keys = try KeyFile(yaml: "echo:\n  forward: { aead: \"\(short)\" }\n  reverse: { aead: \"\(Self.keyHex)\" }\n")
        let error = try #require(throws: ApplyFile.Error.self) { try ApplyPlanner.desired(file, host: "client", keys: keys) }
        #expect(error.path == "key file: echo.forward.aead")
        #expect(error.message.contains("16 bytes") && error.message.contains("20, 28 or 36 bytes"))
        #expect(!error.description.contains(short.dropFirst(2)))
        let hmac = try ApplyFile(yaml: Self.apply("    encryption: cbc(aes)\n    authentication: hmac(sha256)"))
        let oneByte = try KeyFile(
            yaml: """
                echo:
                  forward: { encryption: "0x00112233445566778899aabbccddeeff", authentication: "0x01" }
                  reverse: { encryption: "0x00112233445566778899aabbccddeeff", authentication: "0x01" }
                """)
        #expect(throws: ApplyFile.Error.self) { try ApplyPlanner.desired(hmac, host: "server", keys: oneByte) }
    }

    /// `ip xfrm state add` refuses keys that do not fit and replay windows the kernel cannot carry.
    @Test func ipXfrmStateChecksKeysAndReplayWindows() throws {
        let base = "state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100"
        let short = "0x00112233445566778899aabbccddeeff"
        let e1 = try #require(throws: IPXfrmSyntaxError.self) { try IPXfrmSyntax.parse(line: "\(base) aead rfc4106(gcm(aes)) \(short) 128") }
        #expect(e1.message.contains("16 bytes") && !e1.message.contains(short.dropFirst(2)))
        #expect(throws: IPXfrmSyntaxError.self) {
            try IPXfrmSyntax.parse(line: "\(base) enc cbc(aes) \(short) auth-trunc hmac(sha256) 0x01 128")
        }
        let e2 = try #require(throws: IPXfrmSyntaxError.self) {
            try IPXfrmSyntax.parse(line: "\(base) replay-window 100000000 aead rfc4106(gcm(aes)) \(Self.keyHex) 128")
        }
        #expect(e2.message.contains("0 to 4096"))
        guard case .addSA(let sa)? = try IPXfrmSyntax.parse(line: "\(base) replay-window 4096 aead rfc4106(gcm(aes)) \(Self.keyHex) 128") else {
            Issue.record("not an addSA"); return
        }
        #expect(sa.replayWindowESN == 4096 && sa.replayWindow == 0)
        guard case .addSA(let small)? = try IPXfrmSyntax.parse(line: "\(base) replay-window 200 aead rfc4106(gcm(aes)) \(Self.keyHex) 128") else {
            Issue.record("not an addSA"); return
        }
        #expect(small.replayWindow == 200 && small.replayWindowESN == nil)
    }

    /// The key file replaces a symlink at its path (never writing through it), is a new file of
    /// mode 0600, and a key file its group may write is refused.
    @Test func keyFilesAreWrittenAtomicallyAndReadOnlyWhenPrivate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("target").path, path = dir.appendingPathComponent("echo.keys").path
        try "untouched\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        let keys = KeyFile.generate(for: try ApplyFile(yaml: Self.apply("")), random: { [UInt8](repeating: 7, count: $0) })
        try keys.write(to: path)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "untouched\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        #expect(try KeyFile.read(from: path) == keys)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["echo.keys", "target"])
        chmod(path, 0o620)
        let error = try #require(throws: ApplyFile.Error.self) { try KeyFile.read(from: path) }
        #expect(error.message.contains("group or others"))
    }
}
