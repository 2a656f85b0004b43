// Known-answer tests for the ESP encrypt-then-MAC pair: AES-CBC (RFC 3602) and HMAC-SHA-256-128
// (RFC 4868, HMAC-SHA-256 truncated to 128 bits).

import ESPCrypto
import Testing
import TestSupport

@Suite("ESP AES-CBC (RFC 3602) and HMAC-SHA-256-128 (RFC 4868)")
struct ESPAESCBCHMACTests {
    struct CBCVector: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var key: [UInt8], iv: [UInt8], plaintext: [UInt8], ciphertext: [UInt8]
    }

    static let cbcVectors: [CBCVector] = [
        // RFC 3602 §4 "Test Vectors", Case #1: Encrypting 16 bytes (1 block) using AES-CBC with 128-bit key.
        CBCVector(
            testDescription: "RFC 3602 case 1",
            key: hex("06a9214036b8a15b512e03d534120006"),
            iv: hex("3dafba429d9eb430b422da802c9fac41"),
            plaintext: Array("Single block msg".utf8),
            ciphertext: hex("e353779c1079aeb82708942dbe77181a")),
        // RFC 3602 §4, Case #2: Encrypting 32 bytes (2 blocks) using AES-CBC with 128-bit key.
        CBCVector(
            testDescription: "RFC 3602 case 2",
            key: hex("c286696d887c9aa0611bbb3e2025a45a"),
            iv: hex("562e17996d093d28ddb3ba695a2e6f58"),
            plaintext: hex("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f"),
            ciphertext: hex("d296cd94c2cccf8a3a863028b5e1dc0a 7586602d253cfff91b8266bea6d61ab1")),
        // RFC 3602 §4, Case #3: Encrypting 48 bytes (3 blocks) using AES-CBC with 128-bit key.
        CBCVector(
            testDescription: "RFC 3602 case 3",
            key: hex("6c3ea0477630ce21a2ce334aa746c2cd"),
            iv: hex("c782dc4c098c66cbd9cd27d825682c81"),
            plaintext: Array("This is a 48-byte message (exactly 3 AES blocks)".utf8),
            ciphertext: hex(
                """
                d0a02b3836451753d493665d33f0e886 2dea54cdb293abc7506939276772f8d5
                021c19216bad525c8579695d83ba2684
                """)),
    ]

    @Test("AES-CBC gives the published ciphertext and decrypts it back", arguments: cbcVectors)
    func cbcKnownAnswer(_ vector: CBCVector) throws {
        let cbc = try ESPAESCBC(key: SecureBytes(vector.key))
        #expect(try cbc.encrypt(vector.plaintext, iv: vector.iv) == vector.ciphertext)
        #expect(try cbc.decrypt(vector.ciphertext, iv: vector.iv) == vector.plaintext)
    }

    @Test("AES-CBC refuses partial blocks and wrong IVs")
    func cbcLengths() throws {
        let cbc = try ESPAESCBC(key: SecureBytes([UInt8](repeating: 1, count: 32)))
        #expect(throws: ESPCryptoError.invalidInputLength(15)) {
            try cbc.encrypt([UInt8](repeating: 0, count: 15), iv: [UInt8](repeating: 0, count: 16))
        }
        #expect(throws: ESPCryptoError.invalidIVLength(8, expected: 16)) {
            try cbc.encrypt([UInt8](repeating: 0, count: 16), iv: [UInt8](repeating: 0, count: 8))
        }
        #expect(throws: ESPCryptoError.invalidKeyLength(20, expected: [16, 24, 32])) {
            try ESPAESCBC(key: SecureBytes([UInt8](repeating: 0, count: 20)))
        }
        #expect(cbc.description == "ESPAESCBC(AES-256)")
    }

    @Test("HMAC-SHA-256, RFC 4231 §4.3 test case 2, full and truncated to 128 bits")
    func hmacCase2() throws {
        // RFC 4231 §4.3, Test Case 2: Key = "Jefe", Data = "what do ya want for nothing?".
        let expected = hex("5bdcc146bf60754e6a042426089575c7 5a003f089d2739839dec58b964ec3843")
        let full = try HMACSHA256(key: SecureBytes(Array("Jefe".utf8)), icvSize: 32)
        #expect(try full.authenticationCode(Array("what do ya want for nothing?".utf8)) == expected)
        let truncated = try HMACSHA256(key: SecureBytes(Array("Jefe".utf8)))
        // The same message in two parts, as ESP passes header, IV and ciphertext.
        #expect(try truncated.authenticationCode(Array("what do ya ".utf8), Array("want for nothing?".utf8)) == Array(expected.prefix(16)))
    }

    @Test("HMAC-SHA-256-128, RFC 4231 §4.6 test case 5 (truncation to 128 bits)")
    func hmacCase5() throws {
        // RFC 4231 §4.6, Test Case 5: Key = 0x0c repeated 20 times, Data = "Test With Truncation";
        // the RFC gives only the first 128 bits for SHA-256.
        let hmac = try HMACSHA256(key: SecureBytes([UInt8](repeating: 0x0c, count: 20)))
        let data = Array("Test With Truncation".utf8)
        let icv = hex("a3b6167473100ee06e0c796c2955552b")
        #expect(try hmac.authenticationCode(data) == icv)
        #expect(try hmac.verify(icv, for: data))
        for index in icv.indices {
            var tampered = icv
            tampered[index] ^= 0x01
            #expect(try !hmac.verify(tampered, for: data))
        }
        var tamperedData = data
        tamperedData[0] ^= 0x20
        #expect(try !hmac.verify(icv, for: tamperedData))
        #expect(try !hmac.verify(Array(icv.prefix(12)), for: data))
        #expect(hmac.description == "HMACSHA256(ICV 16 bytes)")
    }
}
