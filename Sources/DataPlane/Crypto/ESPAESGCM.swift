internal import CCrypto

/// AES-GCM as ESP uses it (RFC 4106): one SA's key, ready to seal or open packets.
///
/// - Key material (RFC 4106 §8.1): the AES key (16, 24 or 32 bytes) followed by a 4-byte salt; this is
///   also what the kernel's `rfc4106(gcm(aes))` takes as `XFRMA_ALG_AEAD` key (20, 28 or 36 bytes).
/// - Nonce (RFC 4106 §4): salt ‖ the packet's 8-byte explicit IV. The IV must never repeat under one
///   key; ESP senders usually use the sequence number.
/// - AAD (RFC 4106 §5): SPI ‖ sequence number (8 bytes), or SPI ‖ 64-bit extended sequence number
///   (12 bytes).
/// - ICV: 16 bytes by default; 8 and 12 are also defined (RFC 4106 §6).
///
/// The class owns one `EVP_CIPHER_CTX`, freed (and with it the key schedule wiped) in `deinit`. It is
/// not `Sendable`: use one instance per thread, as an SA is used in one direction by one worker.
public final class ESPAESGCM {
    /// Salt length in bytes (RFC 4106 §4).
    public static let saltSize = 4
    /// Explicit IV length in bytes (RFC 4106 §3.1).
    public static let ivSize = 8
    /// AES key lengths in bytes.
    public static let keySizes = [16, 24, 32]
    /// ICV lengths RFC 4106 §6 defines.
    public static let icvSizes = [8, 12, 16]

    /// The AES key length in bytes: 16, 24 or 32.
    public let keySize: Int
    /// The ICV length in bytes.
    public let icvSize: Int

    private let key: SecureBytes
    private let salt: SecureBytes
    private let cipher: OpaquePointer
    /// One context per direction, each keyed once (the AES key schedule and GHASH key are computed
    /// at init); a packet only sets its nonce.
    private let encryptContext: OpaquePointer
    private let decryptContext: OpaquePointer

    /// Prepares AES-GCM for an SA from its key material: the AES key followed by the 4-byte salt.
    ///
    /// - Parameters:
    ///   - keyMaterial: 20, 28 or 36 bytes (AES-128, -192, -256 key, then salt).
    ///   - icvSize: 16 (the default), 12 or 8.
    /// - Throws: ``ESPCryptoError/invalidKeyLength(_:expected:)``,
    ///   ``ESPCryptoError/invalidICVLength(_:expected:)``, or ``ESPCryptoError/libcrypto(function:code:)``.
    ///
    /// The corresponding C functions are `EVP_CIPHER_CTX_new` and `EVP_aes_128_gcm` (`_192_`, `_256_`).
    public init(keyMaterial: SecureBytes, icvSize: Int = 16) throws(ESPCryptoError) {
        let keySize = keyMaterial.count - Self.saltSize
        let cipher: OpaquePointer?
        switch keySize {
        case 16: cipher = EVP_aes_128_gcm()
        case 24: cipher = EVP_aes_192_gcm()
        case 32: cipher = EVP_aes_256_gcm()
        default: throw .invalidKeyLength(keyMaterial.count, expected: Self.keySizes.map { $0 + Self.saltSize })
        }
        guard Self.icvSizes.contains(icvSize) else { throw .invalidICVLength(icvSize, expected: Self.icvSizes) }
        guard let cipher else { throw .fromQueue("EVP_aes_gcm") }
        guard let encryptContext = EVP_CIPHER_CTX_new() else { throw .fromQueue("EVP_CIPHER_CTX_new") }
        guard let decryptContext = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(encryptContext)
            throw .fromQueue("EVP_CIPHER_CTX_new")
        }
        let key = keyMaterial.slice(0..<keySize)
        for (context, direction) in [(encryptContext, Int32(1)), (decryptContext, Int32(0))] {
            guard EVP_CipherInit_ex(context, cipher, nil, key.baseAddress, nil, direction) == 1 else {
                EVP_CIPHER_CTX_free(encryptContext)
                EVP_CIPHER_CTX_free(decryptContext)
                throw .fromQueue("EVP_CipherInit_ex")
            }
        }
        self.keySize = keySize
        self.icvSize = icvSize
        self.key = key
        self.salt = keyMaterial.slice(keySize..<keyMaterial.count)
        self.cipher = cipher
        self.encryptContext = encryptContext
        self.decryptContext = decryptContext
    }

    /// Prepares AES-GCM from a separate key and salt.
    public convenience init(key: SecureBytes, salt: SecureBytes, icvSize: Int = 16) throws(ESPCryptoError) {
        guard Self.keySizes.contains(key.count) else { throw .invalidKeyLength(key.count, expected: Self.keySizes) }
        guard salt.count == Self.saltSize else { throw .invalidKeyLength(salt.count, expected: [Self.saltSize]) }
        let material = key.withUnsafeBytes { k in salt.withUnsafeBytes { s in SecureBytes(Array(k) + Array(s)) } }
        try self.init(keyMaterial: material, icvSize: icvSize)
    }

    deinit {
        // EVP_CIPHER_CTX_free cleanses the key schedule.
        EVP_CIPHER_CTX_free(encryptContext)
        EVP_CIPHER_CTX_free(decryptContext)
    }

    /// Encrypts and authenticates one ESP payload.
    ///
    /// - Parameters:
    ///   - plaintext: the ESP payload with its trailer (padding, pad length, next header).
    ///   - iv: the 8-byte explicit IV carried in the packet.
    ///   - aad: SPI ‖ sequence number (8 bytes) or SPI ‖ ESN (12 bytes).
    /// - Returns: the ciphertext followed by the ICV (`plaintext.count + icvSize` bytes).
    ///
    /// The corresponding C functions are `EVP_CipherInit_ex`, `EVP_CipherUpdate`, `EVP_CipherFinal_ex`
    /// and `EVP_CIPHER_CTX_ctrl(EVP_CTRL_GCM_GET_TAG)`.
    public func seal(plaintext: [UInt8], iv: [UInt8], aad: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        try seal(plaintext: plaintext, iv: iv, aad: aad, after: [])
    }

    /// ``seal(plaintext:iv:aad:)`` writing the ciphertext and ICV after `prefix` in one buffer (the
    /// ESP header and IV, so that a packet is built without another copy).
    public func seal(plaintext: [UInt8], iv: [UInt8], aad: [UInt8], after prefix: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        try start(encrypting: true, iv: iv, aad: aad)
        var output = prefix
        output.append(contentsOf: repeatElement(0, count: plaintext.count + icvSize))
        let icvSize = self.icvSize
        let context = self.encryptContext
        let offset = prefix.count
        let failed: String? = output.withUnsafeMutableBufferPointer { whole in
            let out = UnsafeMutableBufferPointer(rebasing: whole[offset...])
            return plaintext.withUnsafeBufferPointer { input in
                var written: Int32 = 0
                if input.count > 0 {
                    guard EVP_CipherUpdate(context, out.baseAddress, &written, input.baseAddress, Int32(input.count)) == 1
                    else { return "EVP_CipherUpdate" }
                }
                var final: Int32 = 0
                guard EVP_CipherFinal_ex(context, out.baseAddress! + Int(written), &final) == 1 else { return "EVP_CipherFinal_ex" }
                guard Int(written + final) == input.count else { return "EVP_CipherFinal_ex" }
                guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(icvSize), out.baseAddress! + input.count) == 1
                else { return "EVP_CTRL_GCM_GET_TAG" }
                return nil
            }
        }
        if let failed { throw .fromQueue(failed) }
        return output
    }

    /// Verifies and decrypts one ESP payload.
    ///
    /// - Parameters:
    ///   - sealed: the ciphertext followed by the ICV, as ``seal(plaintext:iv:aad:)`` returns it.
    ///   - iv: the 8-byte explicit IV carried in the packet.
    ///   - aad: the same AAD the sender used.
    /// - Returns: the plaintext.
    /// - Throws: ``ESPCryptoError/authenticationFailed`` when the ICV does not verify (no plaintext is
    ///   returned or kept); ``ESPCryptoError/invalidInputLength(_:)`` when `sealed` is shorter than the
    ///   ICV.
    ///
    /// The corresponding C functions are `EVP_CipherInit_ex`, `EVP_CipherUpdate`,
    /// `EVP_CIPHER_CTX_ctrl(EVP_CTRL_GCM_SET_TAG)` and `EVP_CipherFinal_ex`.
    public func open(sealed: [UInt8], iv: [UInt8], aad: [UInt8]) throws(ESPCryptoError) -> [UInt8] {
        guard sealed.count >= icvSize else { throw .invalidInputLength(sealed.count) }
        try start(encrypting: false, iv: iv, aad: aad)
        let ciphertextCount = sealed.count - icvSize
        // At least one byte, so that the output pointer is never null (GCM's final step writes nothing).
        var output = [UInt8](repeating: 0, count: max(ciphertextCount, 1))
        let icvSize = self.icvSize
        let context = self.decryptContext
        let verified: Bool = output.withUnsafeMutableBufferPointer { out in
            sealed.withUnsafeBufferPointer { input in
                var written: Int32 = 0
                if ciphertextCount > 0 {
                    guard EVP_CipherUpdate(context, out.baseAddress, &written, input.baseAddress, Int32(ciphertextCount)) == 1
                    else { return false }
                }
                let tag = UnsafeMutableRawPointer(mutating: input.baseAddress! + ciphertextCount)
                guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(icvSize), tag) == 1 else { return false }
                var final: Int32 = 0
                return EVP_CipherFinal_ex(context, out.baseAddress! + Int(written), &final) == 1
            }
        }
        guard verified else {
            output.withUnsafeMutableBytes { if let base = $0.baseAddress { OPENSSL_cleanse(base, $0.count) } }
            ERR_clear_error()
            throw .authenticationFailed
        }
        if ciphertextCount == 0 { return [] }
        return output
    }

    /// Prepares the direction's context for one packet: nonce = salt ‖ IV (the key stays), AAD.
    private func start(encrypting: Bool, iv: [UInt8], aad: [UInt8]) throws(ESPCryptoError) {
        guard iv.count == Self.ivSize else { throw .invalidIVLength(iv.count, expected: Self.ivSize) }
        guard aad.count <= Int(Int32.max) else { throw .invalidInputLength(aad.count) }
        var nonce = [UInt8](repeating: 0, count: Self.saltSize + Self.ivSize)
        salt.withUnsafeBytes { s in nonce.withUnsafeMutableBytes { $0.copyMemory(from: s) } }
        nonce.replaceSubrange(Self.saltSize..., with: iv)
        defer { nonce.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }

        let context = encrypting ? encryptContext : decryptContext
        guard EVP_CipherInit_ex(context, nil, nil, nil, nonce, -1) == 1 else {
            throw .fromQueue("EVP_CipherInit_ex")
        }
        if !aad.isEmpty {
            var written: Int32 = 0
            guard EVP_CipherUpdate(context, nil, &written, aad, Int32(aad.count)) == 1 else {
                throw .fromQueue("EVP_CipherUpdate (AAD)")
            }
        }
    }
}

extension ESPAESGCM: CustomStringConvertible {
    /// `ESPAESGCM(AES-128, ICV 16 bytes)`: never the key.
    public var description: String { "ESPAESGCM(AES-\(keySize * 8), ICV \(icvSize) bytes)" }
}
