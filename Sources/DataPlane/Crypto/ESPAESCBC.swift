internal import CCrypto

/// AES-CBC as ESP uses it (RFC 3602): an explicit 16-byte IV per packet, no cipher padding (the ESP
/// trailer already pads the payload to the block size). Confidentiality only: pair it with
/// ``HMACSHA256`` (RFC 4868) for integrity, encrypt-then-MAC.
///
/// The class owns one `EVP_CIPHER_CTX`, freed in `deinit`. It is not `Sendable`.
public final class ESPAESCBC {
    /// The AES block size and IV length in bytes.
    public static let blockSize = 16
    /// AES key lengths in bytes.
    public static let keySizes = [16, 24, 32]

    /// The AES key length in bytes.
    public let keySize: Int

    private let key: SecureBytes
    private let cipher: OpaquePointer
    private let context: OpaquePointer

    /// Prepares AES-CBC with a 16, 24 or 32-byte key.
    ///
    /// The corresponding C functions are `EVP_CIPHER_CTX_new` and `EVP_aes_128_cbc` (`_192_`, `_256_`).
    public init(key: SecureBytes) throws(ESPCryptoError) {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_cbc()
        case 24: cipher = EVP_aes_192_cbc()
        case 32: cipher = EVP_aes_256_cbc()
        default: throw .invalidKeyLength(key.count, expected: Self.keySizes)
        }
        guard let cipher else { throw .fromQueue("EVP_aes_cbc") }
        guard let context = EVP_CIPHER_CTX_new() else { throw .fromQueue("EVP_CIPHER_CTX_new") }
        self.keySize = key.count
        self.key = key
        self.cipher = cipher
        self.context = context
    }

    deinit {
        EVP_CIPHER_CTX_free(context)
    }

    /// Encrypts a block-aligned payload.
    ///
    /// - Parameters:
    ///   - plaintext: a multiple of 16 bytes (ESP payload with its padded trailer).
    ///   - iv: the packet's 16-byte IV; it must be unpredictable (RFC 3602 §3).
    /// - Returns: the ciphertext, as long as the plaintext.
    ///
    /// The corresponding C functions are `EVP_CipherInit_ex`, `EVP_CIPHER_CTX_set_padding`,
    /// `EVP_CipherUpdate` and `EVP_CipherFinal_ex`.
    public func encrypt(_ plaintext: [UInt8], iv: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        try run(encrypting: true, plaintext, iv: iv)
    }

    /// Decrypts a block-aligned ciphertext. It does not authenticate: verify the ICV first.
    public func decrypt(_ ciphertext: [UInt8], iv: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        try run(encrypting: false, ciphertext, iv: iv)
    }

    private func run(encrypting: Bool, _ input: [UInt8], iv: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        guard iv.count == Self.blockSize else { throw .invalidIVLength(iv.count, expected: Self.blockSize) }
        guard input.count % Self.blockSize == 0, input.count <= Int(Int32.max) else {
            throw .invalidInputLength(input.count)
        }
        guard EVP_CipherInit_ex(context, cipher, nil, key.baseAddress, iv, encrypting ? 1 : 0) == 1 else {
            throw .fromQueue("EVP_CipherInit_ex")
        }
        guard EVP_CIPHER_CTX_set_padding(context, 0) == 1 else { throw .fromQueue("EVP_CIPHER_CTX_set_padding") }
        if input.isEmpty { return [] }
        var output = [UInt8](repeating: 0, count: input.count)
        let context = self.context
        let failed: String? = output.withUnsafeMutableBufferPointer { out in
            var written: Int32 = 0
            guard EVP_CipherUpdate(context, out.baseAddress, &written, input, Int32(input.count)) == 1 else {
                return "EVP_CipherUpdate"
            }
            var final: Int32 = 0
            guard EVP_CipherFinal_ex(context, out.baseAddress! + Int(written), &final) == 1,
                Int(written + final) == input.count
            else { return "EVP_CipherFinal_ex" }
            return nil
        }
        if let failed { throw .fromQueue(failed) }
        return output
    }
}

extension ESPAESCBC: CustomStringConvertible {
    /// `ESPAESCBC(AES-128)`: never the key.
    public var description: String { "ESPAESCBC(AES-\(keySize * 8))" }
}
