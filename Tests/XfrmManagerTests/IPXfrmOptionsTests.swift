import Foundation
import IPsecModel
import Testing
import XfrmManager

/// `ip xfrm` commands given as named options (`IPXfrmStateOptions`, `IPXfrmPolicyOptions`): the
/// words come out in `ip xfrm`'s order, keys read in, and the parser reads them.
struct IPXfrmOptionsTests {
    static let key = "0x0102030405060708090a0b0c0d0e0f1011121314"

    @Test func stateWordsInOrderWithKeysReadIn() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-options-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("auth.key").path
        try "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)

        let options = IPXfrmStateOptions(
            src: "10.0.0.1", dst: "10.0.0.2", proto: "esp", spi: "0x100", mode: "tunnel", reqid: "1", replayWindow: "32", mark: "5",
            ifID: "3", enc: "cbc(aes)", auth: "hmac(sha256)", key: "0x00112233445566778899aabbccddeeff", authKey: "@" + file,
            trunc: "96", context: "system_u:system_r:echoclient_t:s0")
        let words = try options.words(verb: "add")
        #expect(
            words == [
                "state", "add", "src", "10.0.0.1", "dst", "10.0.0.2", "proto", "esp", "spi", "0x100", "mode", "tunnel", "reqid", "1",
                "replay-window", "32", "mark", "5", "if_id", "3", "enc", "cbc(aes)", "0x00112233445566778899aabbccddeeff",
                "auth-trunc", "hmac(sha256)", "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "96",
                "ctx", "system_u:system_r:echoclient_t:s0",
            ])
        guard case .addSA(let sa) = try IPXfrmSyntax.parse(words: words) else {
            Issue.record("not an SA add")
            return
        }
        #expect(sa.spi == 0x100 && sa.mode == .tunnel && sa.reqid == 1 && sa.algorithms.authentication?.truncationBits == 96)
        #expect(sa.securityContext?.description == "system_u:system_r:echoclient_t:s0")
    }

    @Test func anAEADDefaultsTo128BitsAndNeedsItsKey() throws {
        let words = try IPXfrmStateOptions(dst: "10.0.0.2", aead: "rfc4106(gcm(aes))", key: Self.key).words(verb: "update")
        #expect(words == ["state", "update", "dst", "10.0.0.2", "aead", "rfc4106(gcm(aes))", Self.key, "128"])
        #expect(try IPXfrmStateOptions().words(verb: "flush") == ["state", "flush"])
        #expect(throws: KeyArgument.Failure.self) { try IPXfrmStateOptions(aead: "rfc4106(gcm(aes))").words(verb: "add") }
        #expect(throws: KeyArgument.Failure.self) { try IPXfrmStateOptions(auth: "hmac(sha256)", key: Self.key).words(verb: "add") }
        // A key that is not hex is refused without repeating it.
        do {
            _ = try IPXfrmStateOptions(enc: "cbc(aes)", key: "secret").words(verb: "add")
            Issue.record("a key that is not hex was taken")
        } catch {
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func policyWordsWithATemplateOnlyWhenOneIsGiven() throws {
        let bare = IPXfrmPolicyOptions(src: "10.0.0.1/32", dst: "10.0.0.2/32", dir: "out", context: "system_u:object_r:ipsec_spd_t:s0")
        #expect(
            bare.words(verb: "add") == ["policy", "add", "src", "10.0.0.1/32", "dst", "10.0.0.2/32", "dir", "out", "ctx", "system_u:object_r:ipsec_spd_t:s0"])
        let full = IPXfrmPolicyOptions(
            src: "10.0.0.1/32", dst: "10.0.0.2/32", proto: "tcp", sport: "1", dport: "7", dir: "out", priority: "5", index: "8",
            tmplDst: "10.0.0.2", tmplProto: "esp", tmplReqid: "4")
        let words = full.words(verb: "add")
        #expect(
            words == [
                "policy", "add", "src", "10.0.0.1/32", "dst", "10.0.0.2/32", "proto", "tcp", "sport", "1", "dport", "7", "dir", "out",
                "priority", "5", "index", "8", "tmpl", "dst", "10.0.0.2", "proto", "esp", "reqid", "4",
            ])
        guard case .addPolicy(let p) = try IPXfrmSyntax.parse(words: words) else {
            Issue.record("not a policy add")
            return
        }
        #expect(p.priority == 5 && p.templates.count == 1 && p.templates[0].reqid == 4 && p.selector.destinationPort == 7)
        #expect(IPXfrmPolicyOptions(dir: "in", tmplMode: "tunnel").words(verb: "get") == ["policy", "get", "dir", "in", "tmpl", "mode", "tunnel"])
    }
}
