/// The key lengths (and ICV / truncation lengths) salabel accepts per IPsec algorithm, checked
/// wherever keys enter: key files and `apply`, `ip xfrm state add|update`, the data plane's SA
/// construction and `dataplane sa add`. Specs/manager/keys.md gives each rule with its source.
///
/// Names are the kernel's crypto API names as `ip xfrm` passes them, with the compatibility names
/// of the kernel's `net/xfrm/xfrm_algo.c` (`aes`, `sha256`, …). An algorithm without a rule here is
/// left to the kernel, within ``maximumKeyBytes``.
public enum AlgorithmKeyRules {
    /// Which of an SA's algorithm slots a key is for (`XFRMA_ALG_AEAD`, `_CRYPT`, `_AUTH[_TRUNC]`).
    public enum Role: String, Sendable, Hashable, CustomStringConvertible {
        case aead, encryption, authentication
        public var description: String { rawValue }
    }

    /// The rule for one algorithm.
    public struct Rule: Sendable, Hashable {
        /// The kernel's name and its compatibility names.
        public var names: [String]
        public var role: Role
        /// Allowed key lengths in bytes (salt or nonce included where the algorithm takes one).
        public var keyBytes: [Int]
        /// Allowed ICV lengths in bits (AEAD), or the largest truncation (authentication; any
        /// multiple of 8 from 64 up to it); `nil`: no ICV.
        public var icvBits: [UInt32]?
        public var maximumTruncationBits: UInt32?
        /// Where the rule comes from.
        public var source: String
    }

    /// No IPsec algorithm takes a longer key; keys for algorithms without a rule are bounded by it.
    public static let maximumKeyBytes = 512

    /// The rules, by role. `hmac(sha1)` has none on purpose: RFC 2404 §3 describes a 160-bit key
    /// but existing scripts (selinux-testsuite's captures among them) use others, and the kernel
    /// accepts any; salabel generates 160 bits for it.
    public static let rules: [Rule] = [
        Rule(
            names: ["rfc4106(gcm(aes))"], role: .aead, keyBytes: [20, 28, 36], icvBits: [64, 96, 128],
            source: "RFC 4106 §8.1 (AES key + 4-byte salt), §6 (ICV 8, 12 or 16 bytes); crypto/gcm.c crypto_rfc4106_setkey, crypto_rfc4106_setauthsize"),
        Rule(
            names: ["rfc4543(gcm(aes))"], role: .aead, keyBytes: [20, 28, 36], icvBits: [128],
            source: "RFC 4543 §3.2 (AES key + 4-byte salt, 16-byte ICV); crypto/gcm.c crypto_rfc4543_setkey"),
        Rule(
            names: ["rfc4309(ccm(aes))"], role: .aead, keyBytes: [19, 27, 35], icvBits: [64, 96, 128],
            source: "RFC 4309 §7.1 (AES key + 3-byte salt), §3 (ICV 8, 12 or 16 bytes); crypto/ccm.c crypto_rfc4309_setkey"),
        Rule(
            names: ["rfc7539esp(chacha20,poly1305)"], role: .aead, keyBytes: [36], icvBits: [128],
            source: "RFC 7634 §2 (32-byte key + 4-byte salt, 16-byte ICV); crypto/chacha20poly1305.c"),
        Rule(
            names: ["cbc(aes)", "aes"], role: .encryption, keyBytes: [16, 24, 32],
            source: "RFC 3602 §2.1, §5 (AES-128, -192, -256); crypto/aes_generic.c aes_expandkey"),
        Rule(
            names: ["rfc3686(ctr(aes))"], role: .encryption, keyBytes: [20, 28, 36],
            source: "RFC 3686 §5.1 (AES key + 4-byte nonce); crypto/ctr.c crypto_rfc3686_setkey"),
        Rule(
            names: ["cbc(des3_ede)", "des3_ede"], role: .encryption, keyBytes: [24],
            source: "RFC 2451 §2.2 (3DES, 192-bit key)"),
        Rule(
            names: ["ecb(cipher_null)", "cipher_null"], role: .encryption, keyBytes: [0],
            source: "RFC 2410 (NULL encryption, no key)"),
        Rule(
            names: ["hmac(sha256)", "sha256"], role: .authentication, keyBytes: [32], maximumTruncationBits: 256,
            source: "RFC 4868 §2.1.1 (256-bit key for HMAC-SHA-256-128); net/xfrm/xfrm_algo.c icv_fullbits"),
        Rule(
            names: ["hmac(sha384)", "sha384"], role: .authentication, keyBytes: [48], maximumTruncationBits: 384,
            source: "RFC 4868 §2.1.1 (384-bit key)"),
        Rule(
            names: ["hmac(sha512)", "sha512"], role: .authentication, keyBytes: [64], maximumTruncationBits: 512,
            source: "RFC 4868 §2.1.1 (512-bit key)"),
        Rule(
            names: ["xcbc(aes)"], role: .authentication, keyBytes: [16], maximumTruncationBits: 128,
            source: "RFC 3566 §4 (128-bit key)"),
        Rule(
            names: ["digest_null"], role: .authentication, keyBytes: [0], maximumTruncationBits: 0,
            source: "net/xfrm/xfrm_algo.c (no authentication)"),
    ]

    /// The rule for an algorithm name in a role, if salabel has one.
    public static func rule(for name: String, role: Role) -> Rule? {
        rules.first { $0.role == role && $0.names.contains(name) }
    }

    /// Why a key (or ICV length) is refused. Never holds the key.
    public struct Violation: Error, Sendable, Hashable, CustomStringConvertible {
        public var role: Role
        public var algorithm: String
        public var message: String
        public var description: String { "\(role) \(algorithm): \(message)" }
    }

    /// Checks a key length in bytes (and `keyBits`, when given, against it) for an algorithm.
    public static func check(keyBytes count: Int, keyBits: UInt32? = nil, algorithm name: String, role: Role) throws(Violation) {
        func fail(_ m: String) -> Violation { Violation(role: role, algorithm: name, message: m) }
        if let keyBits, Int(keyBits) != count * 8 {
            throw fail("the key length field says \(keyBits) bits but the key has \(count) bytes")
        }
        if let r = rule(for: name, role: role) {
            guard r.keyBytes.contains(count) else {
                throw fail(
                    "a key of \(count) bytes (\(count * 8) bits); this algorithm takes \(list(r.keyBytes.map { "\($0)" })) bytes (\(list(r.keyBytes.map { "\($0 * 8)" })) bits): \(r.source)"
                )
            }
        } else if count > maximumKeyBytes {
            throw fail("a key of \(count) bytes, more than the \(maximumKeyBytes) bytes any IPsec algorithm takes")
        }
    }

    /// Checks an ICV (AEAD) or truncation (authentication) length in bits.
    public static func check(icvBits bits: UInt32, algorithm name: String, role: Role) throws(Violation) {
        guard let r = rule(for: name, role: role) else { return }
        if let allowed = r.icvBits, !allowed.contains(bits) {
            throw Violation(
                role: role, algorithm: name, message: "an ICV of \(bits) bits; this algorithm takes \(list(allowed.map { "\($0)" })) bits: \(r.source)")
        }
        if let most = r.maximumTruncationBits, bits > most || bits % 8 != 0 {
            throw Violation(
                role: role, algorithm: name, message: "a truncation of \(bits) bits; this algorithm takes a multiple of 8 up to \(most) bits (its digest)")
        }
    }

    /// Checks one algorithm of an SA: its key and its ICV or truncation length.
    public static func check(_ algorithm: XfrmAlgorithm, role: Role) throws(Violation) {
        try check(keyBytes: algorithm.key.count, keyBits: algorithm.keyBits, algorithm: algorithm.name, role: role)
        if let t = algorithm.truncationBits { try check(icvBits: t, algorithm: algorithm.name, role: role) }
    }

    /// Checks every keyed algorithm of an SA (compression takes no key).
    public static func check(_ algorithms: SAAlgorithms) throws(Violation) {
        if let a = algorithms.aead { try check(a, role: .aead) }
        if let e = algorithms.encryption { try check(e, role: .encryption) }
        if let a = algorithms.authentication { try check(a, role: .authentication) }
    }

    private static func list(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }
}
