import IPsecModel
import Testing

/// Issue 12, "Trust at the front door": the key and ICV lengths each algorithm takes. Where keys
/// enter (key files, `ip xfrm` lines), XfrmManagerTests/FrontDoorTests checks that they are applied.
struct AlgorithmKeyRulesTests {
    /// The rules themselves.
    @Test func algorithmKeyRules() throws {
        for n in [20, 28, 36] { try AlgorithmKeyRules.check(keyBytes: n, algorithm: "rfc4106(gcm(aes))", role: .aead) }
        for n in [0, 16, 19, 21, 32, 37] {
            #expect(throws: AlgorithmKeyRules.Violation.self) { try AlgorithmKeyRules.check(keyBytes: n, algorithm: "rfc4106(gcm(aes))", role: .aead) }
        }
        for n in [16, 24, 32] { try AlgorithmKeyRules.check(keyBytes: n, algorithm: "cbc(aes)", role: .encryption) }
        #expect(throws: AlgorithmKeyRules.Violation.self) { try AlgorithmKeyRules.check(keyBytes: 20, algorithm: "aes", role: .encryption) }
        try AlgorithmKeyRules.check(keyBytes: 32, algorithm: "hmac(sha256)", role: .authentication)
        #expect(throws: AlgorithmKeyRules.Violation.self) { try AlgorithmKeyRules.check(keyBytes: 1, algorithm: "hmac(sha256)", role: .authentication) }
        #expect(throws: AlgorithmKeyRules.Violation.self) { try AlgorithmKeyRules.check(icvBits: 256, algorithm: "rfc4106(gcm(aes))", role: .aead) }
        #expect(throws: AlgorithmKeyRules.Violation.self) { try AlgorithmKeyRules.check(icvBits: 384, algorithm: "hmac(sha256)", role: .authentication) }
        // Unknown algorithms are the kernel's to judge, within the bound on any key.
        try AlgorithmKeyRules.check(keyBytes: 7, algorithm: "cbc(twofish)", role: .encryption)
        #expect(throws: AlgorithmKeyRules.Violation.self) { try AlgorithmKeyRules.check(keyBytes: 513, algorithm: "cbc(twofish)", role: .encryption) }
    }
}
