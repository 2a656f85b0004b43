internal import CCrypto

/// AES-CBC as ESP uses it (RFC 3602): an explicit 16-byte IV per packet, no cipher padding (the ESP
/// trailer already pads the payload to the block size). Confidentiality only: pair it with
/// ``HMACSHA256`` (RFC 4868) for integrity, encrypt-then-MAC.
///
/// The class owns one `EVP_CIPHER_CTX` per direction, keyed once and freed in `deinit`. It is not
/// `Sendable`.
public final class ESPAESCBC {
    /// The AES block size and IV length in bytes.
    public static let blockSize = 16
    /// AES key lengths in bytes.
    public static let keySizes = [16, 24, 32]

    /// The AES key length in bytes.
    public let keySize: Int

    private let key: SecureBytes
    private let cipher: OpaquePointer
    /// One context per direction, each keyed once with padding off (the AES encryption and
    /// decryption key schedules differ); a packet only sets its IV.
    private let encryptContext: OpaquePointer
    private let decryptContext: OpaquePointer

    /// Prepares AES-CBC with a 16, 24 or 32-byte key.
    ///
    /// The corresponding C functions are `EVP_CIPHER_CTX_new`, `EVP_aes_128_cbc` (`_192_`, `_256_`),
    /// `EVP_CipherInit_ex` and `EVP_CIPHER_CTX_set_padding`.
    public init(key: SecureBytes) throws(ESPCryptoError) {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_cbc()
        case 24: cipher = EVP_aes_192_cbc()
        case 32: cipher = EVP_aes_256_cbc()
        default: throw .invalidKeyLength(key.count, expected: Self.keySizes)
        }
        guard let cipher else { throw .fromQueue("EVP_aes_cbc") }
        guard let encryptContext = EVP_CIPHER_CTX_new() else { throw .fromQueue("EVP_CIPHER_CTX_new") }
        guard let decryptContext = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(encryptContext)
            throw .fromQueue("EVP_CIPHER_CTX_new")
        }
        for (context, direction) in [(encryptContext, Int32(1)), (decryptContext, Int32(0))] {
            guard EVP_CipherInit_ex(context, cipher, nil, key.baseAddress, nil, direction) == 1,
                EVP_CIPHER_CTX_set_padding(context, 0) == 1
            else {
                EVP_CIPHER_CTX_free(encryptContext)
                EVP_CIPHER_CTX_free(decryptContext)
                throw .fromQueue("EVP_CipherInit_ex")
            }
        }
        self.keySize = key.count
        self.key = key
        self.cipher = cipher
        self.encryptContext = encryptContext
        self.decryptContext = decryptContext
    }

    deinit {
        // EVP_CIPHER_CTX_free cleanses the key schedules.
        EVP_CIPHER_CTX_free(encryptContext)
        EVP_CIPHER_CTX_free(decryptContext)
    }

    /// Encrypts a block-aligned payload.
    ///
    /// - Parameters:
    ///   - plaintext: a multiple of 16 bytes (ESP payload with its padded trailer).
    ///   - iv: the packet's 16-byte IV; it must be unpredictable (RFC 3602 §3).
    /// - Returns: the ciphertext, as long as the plaintext.
    ///
    /// The corresponding C functions are `EVP_CipherInit_ex`, `EVP_CipherUpdate` and
    /// `EVP_CipherFinal_ex`.
    public func encrypt(_ plaintext: [UInt8], iv: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        try run(encryptContext, plaintext, iv: iv)
    }

    /// Decrypts a block-aligned ciphertext. It does not authenticate: verify the ICV first.
    public func decrypt(_ ciphertext: [UInt8], iv: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        try run(decryptContext, ciphertext, iv: iv)
    }

    /// Encrypts `text` in place (CBC allows the output to be the input): the data plane's seal,
    /// which builds a packet in one buffer and encrypts its payload there.
    package func encryptInPlace(_ text: UnsafeMutableRawBufferPointer, iv: UnsafeRawBufferPointer) throws(ESPCryptoError) {
        try crypt(encryptContext, UnsafeRawBufferPointer(text), into: text.baseAddress, iv: iv)
    }

    /// Decrypts `ciphertext` into `output` (at least `ciphertext.count` bytes, or the same memory).
    package func decrypt(_ ciphertext: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer?, iv: UnsafeRawBufferPointer) throws(ESPCryptoError) {
        try crypt(decryptContext, ciphertext, into: output, iv: iv)
    }

    /// A fresh random IV (`RAND_bytes`) written at `iv`.
    package static func randomIV(into iv: UnsafeMutableRawBufferPointer) throws(ESPCryptoError) {
        guard let base = iv.baseAddress, iv.count > 0 else { return }
        guard RAND_bytes(base.assumingMemoryBound(to: UInt8.self), Int32(iv.count)) == 1 else { throw .fromQueue("RAND_bytes") }
    }

    private func run(_ context: OpaquePointer, _ input: [UInt8], iv: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        guard iv.count == Self.blockSize else { throw .invalidIVLength(iv.count, expected: Self.blockSize) }
        guard input.count % Self.blockSize == 0 else { throw .invalidInputLength(input.count) }
        var failure: ESPCryptoError?
        let output = [UInt8](unsafeUninitializedCapacity: input.count) { out, initialized in
            initialized = input.count  // UInt8: written by the cipher, or the array is discarded
            do throws(ESPCryptoError) {
                try input.withTypedUnsafeBytes { (input) throws(ESPCryptoError) in
                    try iv.withTypedUnsafeBytes { (iv) throws(ESPCryptoError) in
                        try crypt(context, input, into: out.baseAddress, iv: iv)
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Sets the context's IV (the key and the padding setting stay) and runs the cipher over `input`.
    private func crypt(
        _ context: OpaquePointer, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer?,
        iv: UnsafeRawBufferPointer
    ) throws(ESPCryptoError) {
        guard iv.count == Self.blockSize else { throw .invalidIVLength(iv.count, expected: Self.blockSize) }
        guard input.count % Self.blockSize == 0, input.count <= Int(Int32.max) else {
            throw .invalidInputLength(input.count)
        }
        guard EVP_CipherInit_ex(context, nil, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self), -1) == 1 else {
            throw .fromQueue("EVP_CipherInit_ex")
        }
        guard let inBytes = input.baseAddress, let output, input.count > 0 else { return }
        let out = output.assumingMemoryBound(to: UInt8.self)
        var written: Int32 = 0
        guard EVP_CipherUpdate(context, out, &written, inBytes.assumingMemoryBound(to: UInt8.self), Int32(input.count)) == 1 else {
            throw .fromQueue("EVP_CipherUpdate")
        }
        var final: Int32 = 0
        guard EVP_CipherFinal_ex(context, out + Int(written), &final) == 1, Int(written + final) == input.count else {
            throw .fromQueue("EVP_CipherFinal_ex")
        }
    }
}

extension ESPAESCBC: CustomStringConvertible {
    /// `ESPAESCBC(AES-128)`: never the key.
    public var description: String { "ESPAESCBC(AES-\(keySize * 8))" }
}
