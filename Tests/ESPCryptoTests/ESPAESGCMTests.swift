// Known-answer tests for ESP AES-GCM (RFC 4106) with the ESP test cases of
// draft-mcgrew-gcm-test-01, "Test Cases for the use of Galois/Counter Mode (GCM) and Galois Message
// Authentication Code (GMAC) in IPsec ESP" (D. McGrew, March 2009), Section 4 "Test Cases":
// https://datatracker.ietf.org/doc/html/draft-mcgrew-gcm-test-01#section-4
//
// In the draft, each case lists key, spi, seq, nonce (= 4-byte salt ‖ 8-byte IV), plaintext, aad and
// ctext+tag (16-byte tag). RFC 4106 key material is key ‖ salt, so `keyMaterial` below is the draft's
// key followed by the first 4 bytes of its nonce, and `iv` is the remaining 8. The case numbers are the
// draft's order of its AES-GCM cases.

import ESPCrypto
import Testing
import TestSupport

struct GCMVector: Sendable, CustomTestStringConvertible {
    var name: String
    var keyMaterial: [UInt8]
    var iv: [UInt8]
    var aad: [UInt8]
    var plaintext: [UInt8]
    var sealed: [UInt8]
    var testDescription: String { name }

    init(_ name: String, key: String, nonce: String, aad: String, plaintext: String, ctextTag: String) {
        let nonce = hex(nonce)
        self.name = name
        self.keyMaterial = hex(key) + nonce[0..<4]
        self.iv = Array(nonce[4...])
        self.aad = hex(aad)
        self.plaintext = hex(plaintext)
        self.sealed = hex(ctextTag)
    }
}

let draftMcGrewGCMTestVectors: [GCMVector] = [
    // draft-mcgrew-gcm-test-01 §4, Test Case 1: AES-128, SPI 0x00004321, 64-bit ESN
    // 0x8765432100000000 (12-byte AAD = SPI ‖ ESN).
    GCMVector(
        "draft-mcgrew-gcm-test-01 case 1 (AES-128, ESN)",
        key: "4c80cdefbb5d10da906ac73c3613a634",
        nonce: "2e443b684956ed7e3b244cfe",
        aad: "000043218765432100000000",
        plaintext: """
            45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000
            00000000045f736970045f7564700373 69700963796265726369747902646b00
            0021000101020201
            """,
        ctextTag: """
            fecf537e729d5b07dc30df528dd22b76 8d1b98736696a6fd348509fa13ceac34
            cfa2436f14a3f3cf65925bf1f4a13c5d 15b21e1884f5ff6247aeabb786b93bce
            61bc17d768fd9732459018148f6cbe72 2fd04796562dfdb4
            """),
    // draft-mcgrew-gcm-test-01 §4, Test Case 3: AES-256, SPI 0x4a2cbfe3, 32-bit seq 2.
    GCMVector(
        "draft-mcgrew-gcm-test-01 case 3 (AES-256)",
        key: "abbccddef00112233445566778899aab abbccddef00112233445566778899aab",
        nonce: "112233440102030405060708",
        aad: "4a2cbfe300000002",
        plaintext: """
            4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000
            7002400020bf0000020405b401010402 01020201
            """,
        ctextTag: """
            ff425c9b724599df7a3bcd510194e00d 6a78107f1b0b1cbf06efae9d65a5d763
            748a637985771d347f0545659f14e99d ef842d8eb335f4eecfdbf831824b4c49
            15956c96
            """),
    // draft-mcgrew-gcm-test-01 §4, Test Case 4: AES-128, all-zero key and nonce, SPI 0, seq 1.
    GCMVector(
        "draft-mcgrew-gcm-test-01 case 4 (AES-128, zero key)",
        key: "00000000000000000000000000000000",
        nonce: "000000000000000000000000",
        aad: "0000000000000001",
        plaintext: """
            4500003c99c500008001cb7a40679318 010101010800075c0200440061626364
            65666768696a6b6c6d6e6f7071727374 75767761626364656667686901020201
            """,
        ctextTag: """
            4688daf2f973a392732909c331d56d60 f694abaa414b5e7ff5fdcdfff5e9a284
            456476492719ffb64de7d9dca1e1d894 bc3bd57873ed4d181d19d4d5c8c18af3
            f821d496eeb096e98ad2b69e4799c71d
            """),
    // draft-mcgrew-gcm-test-01 §4, Test Case 7: AES-192, SPI 0x0000a5f8, seq 10.
    GCMVector(
        "draft-mcgrew-gcm-test-01 case 7 (AES-192)",
        key: "feffe9928665731c6d6a8f9467308308 feffe9928665731c",
        nonce: "cafebabefacedbaddecaf888",
        aad: "0000a5f80000000a",
        plaintext: """
            45000028a4ad4000400678800a01038f 0a010612802306b8cb712602dd6bb03e
            501016d075680001
            """,
        ctextTag: """
            a5b1f8066029aea40e598b8122de0242 0938b3ab33f828e687b8858b5bfbdbd0
            315b27452144cc7795457b9652037f53 18027b5b4cd7a636
            """),
    // draft-mcgrew-gcm-test-01 §4, Test Case 12: AES-128, SPI 0x335467ae, seq 0xffffffff; a 4-byte
    // payload (a dummy packet's trailer only).
    GCMVector(
        "draft-mcgrew-gcm-test-01 case 12 (AES-128, 4-byte payload)",
        key: "7d773d00c144c525ac619d18c84a3f47",
        nonce: "d966426743457e9182443bc6",
        aad: "335467aeffffffff",
        plaintext: "01020201",
        ctextTag: "437f866bcb3f699fe9b0822bac961c45 04bef270"),
]

@Suite("ESP AES-GCM (RFC 4106)")
struct ESPAESGCMTests {
    @Test("seal gives the published ciphertext and ICV", arguments: draftMcGrewGCMTestVectors)
    func sealKnownAnswer(_ vector: GCMVector) throws {
        let gcm = try ESPAESGCM(keyMaterial: SecureBytes(vector.keyMaterial))
        #expect(try gcm.seal(plaintext: vector.plaintext, iv: vector.iv, aad: vector.aad) == vector.sealed)
    }

    @Test("open gives the published plaintext", arguments: draftMcGrewGCMTestVectors)
    func openKnownAnswer(_ vector: GCMVector) throws {
        let gcm = try ESPAESGCM(keyMaterial: SecureBytes(vector.keyMaterial))
        #expect(try gcm.open(sealed: vector.sealed, iv: vector.iv, aad: vector.aad) == vector.plaintext)
    }

    @Test("one context seals and opens alternately", arguments: draftMcGrewGCMTestVectors)
    func reuse(_ vector: GCMVector) throws {
        let gcm = try ESPAESGCM(keyMaterial: SecureBytes(vector.keyMaterial))
        for _ in 0..<3 {
            #expect(try gcm.seal(plaintext: vector.plaintext, iv: vector.iv, aad: vector.aad) == vector.sealed)
            #expect(try gcm.open(sealed: vector.sealed, iv: vector.iv, aad: vector.aad) == vector.plaintext)
        }
    }

    @Test("a flipped bit anywhere in ciphertext, ICV, AAD or IV is rejected", arguments: draftMcGrewGCMTestVectors)
    func tampering(_ vector: GCMVector) throws {
        let gcm = try ESPAESGCM(keyMaterial: SecureBytes(vector.keyMaterial))
        for index in vector.sealed.indices {
            var sealed = vector.sealed
            sealed[index] ^= 0x01
            #expect(throws: ESPCryptoError.authenticationFailed) {
                try gcm.open(sealed: sealed, iv: vector.iv, aad: vector.aad)
            }
        }
        for index in vector.aad.indices {
            var aad = vector.aad
            aad[index] ^= 0x80
            #expect(throws: ESPCryptoError.authenticationFailed) {
                try gcm.open(sealed: vector.sealed, iv: vector.iv, aad: aad)
            }
        }
        var iv = vector.iv
        iv[7] ^= 0x01
        #expect(throws: ESPCryptoError.authenticationFailed) {
            try gcm.open(sealed: vector.sealed, iv: iv, aad: vector.aad)
        }
        #expect(throws: ESPCryptoError.authenticationFailed) {
            try gcm.open(sealed: Array(vector.sealed.dropLast()), iv: vector.iv, aad: vector.aad)
        }
        // Still usable after failures.
        #expect(try gcm.open(sealed: vector.sealed, iv: vector.iv, aad: vector.aad) == vector.plaintext)
    }

    @Test("a wrong salt fails authentication")
    func wrongSalt() throws {
        let vector = draftMcGrewGCMTestVectors[0]
        var material = vector.keyMaterial
        material[material.count - 1] ^= 0x01
        let gcm = try ESPAESGCM(keyMaterial: SecureBytes(material))
        #expect(throws: ESPCryptoError.authenticationFailed) {
            try gcm.open(sealed: vector.sealed, iv: vector.iv, aad: vector.aad)
        }
    }

    @Test("truncated ICVs (8 and 12 bytes) are prefixes of the full ICV")
    func shortICV() throws {
        let vector = draftMcGrewGCMTestVectors[1]
        for icvSize in [8, 12] {
            let gcm = try ESPAESGCM(keyMaterial: SecureBytes(vector.keyMaterial), icvSize: icvSize)
            let expected = Array(vector.sealed.dropLast(16 - icvSize))
            #expect(try gcm.seal(plaintext: vector.plaintext, iv: vector.iv, aad: vector.aad) == expected)
            #expect(try gcm.open(sealed: expected, iv: vector.iv, aad: vector.aad) == vector.plaintext)
        }
    }

    @Test("an empty payload still carries an ICV")
    func emptyPayload() throws {
        let gcm = try ESPAESGCM(keyMaterial: SecureBytes(draftMcGrewGCMTestVectors[0].keyMaterial))
        let iv = [UInt8](repeating: 7, count: 8)
        let sealed = try gcm.seal(plaintext: [], iv: iv, aad: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(sealed.count == 16)
        #expect(try gcm.open(sealed: sealed, iv: iv, aad: [1, 2, 3, 4, 5, 6, 7, 8]) == [])
    }

    @Test("lengths are checked")
    func lengths() throws {
        #expect(throws: ESPCryptoError.invalidKeyLength(16, expected: [20, 28, 36])) {
            try ESPAESGCM(keyMaterial: SecureBytes([UInt8](repeating: 0, count: 16)))
        }
        #expect(throws: ESPCryptoError.invalidICVLength(4, expected: [8, 12, 16])) {
            try ESPAESGCM(keyMaterial: SecureBytes([UInt8](repeating: 0, count: 20)), icvSize: 4)
        }
        let gcm = try ESPAESGCM(keyMaterial: SecureBytes([UInt8](repeating: 0, count: 20)))
        #expect(throws: ESPCryptoError.invalidIVLength(12, expected: 8)) {
            try gcm.seal(plaintext: [1], iv: [UInt8](repeating: 0, count: 12), aad: [])
        }
        #expect(throws: ESPCryptoError.invalidInputLength(15)) {
            try gcm.open(sealed: [UInt8](repeating: 0, count: 15), iv: [UInt8](repeating: 0, count: 8), aad: [])
        }
        let split = try ESPAESGCM(key: SecureBytes([UInt8](repeating: 0, count: 32)), salt: SecureBytes([1, 2, 3, 4]))
        #expect(split.keySize == 32)
    }

    @Test("key material never appears in descriptions")
    func redaction() throws {
        let key = SecureBytes(hex("4c80cdefbb5d10da906ac73c3613a634 2e443b68"))
        #expect(key.description == "SecureBytes(20 bytes, redacted)")
        #expect(String(reflecting: key) == "SecureBytes(20 bytes, redacted)")
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.lowercased().contains("4c"))
        #expect(!dumped.contains("76"))  // 0x4c = 76
        let gcm = try ESPAESGCM(keyMaterial: key)
        #expect(String(describing: gcm) == "ESPAESGCM(AES-128, ICV 16 bytes)")
    }

    @Test("secure bytes compare by value")
    func secureBytesEquality() throws {
        #expect(SecureBytes([1, 2, 3]) == SecureBytes([1, 2, 3]))
        #expect(SecureBytes([1, 2, 3]) != SecureBytes([1, 2, 4]))
        #expect(SecureBytes([1, 2]) != SecureBytes([1, 2, 3]))
        let random = try SecureBytes.random(count: 32)
        #expect(random.count == 32 && random != SecureBytes([UInt8](repeating: 0, count: 32)))
    }
}
