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
    private let cipher: OpaquePointer
    /// One context per direction, each keyed once (the AES key schedule and GHASH key are computed
    /// at init); a packet only sets its nonce.
    private let encryptContext: OpaquePointer
    private let decryptContext: OpaquePointer
    /// The 12-byte nonce, salt ‖ IV: the salt is written once at init, each packet writes its IV
    /// after it. Owned by this instance (allocated in init, wiped and freed in deinit, like
    /// ``SecureBytes``), so that a packet builds its nonce without an allocation.
    private let nonce: UnsafeMutableRawBufferPointer

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
            // The default GCM IV length is 12 bytes, RFC 4106's nonce: it is never set per packet.
            guard EVP_CipherInit_ex(context, cipher, nil, key.baseAddress, nil, direction) == 1 else {
                EVP_CIPHER_CTX_free(encryptContext)
                EVP_CIPHER_CTX_free(decryptContext)
                throw .fromQueue("EVP_CipherInit_ex")
            }
        }
        let nonce = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.saltSize + Self.ivSize, alignment: 8)
        nonce.initializeMemory(as: UInt8.self, repeating: 0)
        keyMaterial.withUnsafeBytes { material in
            nonce.copyMemory(from: UnsafeRawBufferPointer(rebasing: material[keySize...]))
        }
        self.keySize = keySize
        self.icvSize = icvSize
        self.key = key
        self.cipher = cipher
        self.encryptContext = encryptContext
        self.decryptContext = decryptContext
        self.nonce = nonce
    }

    /// Prepares AES-GCM from a separate key and salt.
    public convenience init(key: SecureBytes, salt: SecureBytes, icvSize: Int = 16) throws(ESPCryptoError) {
        guard Self.keySizes.contains(key.count) else { throw .invalidKeyLength(key.count, expected: Self.keySizes) }
        guard salt.count == Self.saltSize else { throw .invalidKeyLength(salt.count, expected: [Self.saltSize]) }
        let material = key.withUnsafeBytes { k in salt.withUnsafeBytes { s in SecureBytes(Array(k) + Array(s)) } }
        try self.init(keyMaterial: material, icvSize: icvSize)
    }

    deinit {
        // EVP_CIPHER_CTX_free cleanses the key schedule; the nonce holds the salt.
        EVP_CIPHER_CTX_free(encryptContext)
        EVP_CIPHER_CTX_free(decryptContext)
        OPENSSL_cleanse(nonce.baseAddress, nonce.count)
        nonce.deallocate()
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
        guard iv.count == Self.ivSize else { throw .invalidIVLength(iv.count, expected: Self.ivSize) }
        let total = prefix.count + plaintext.count + icvSize
        var failure: ESPCryptoError?
        let output = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            // prefix ‖ plaintext ‖ ICV, then the plaintext is encrypted where it lies.
            let out = UnsafeMutableRawBufferPointer(buffer)
            prefix.withUnsafeBytes { out.copyMemory(from: $0) }
            let text = UnsafeMutableRawBufferPointer(rebasing: out[prefix.count..<(prefix.count + plaintext.count)])
            plaintext.withUnsafeBytes { text.copyMemory(from: $0) }
            initialized = total  // UInt8 needs no initialization: the ICV is written below or the array discarded
            do throws(ESPCryptoError) {
                try iv.withTypedUnsafeBytes { (iv) throws(ESPCryptoError) in
                    try aad.withTypedUnsafeBytes { (aad) throws(ESPCryptoError) in
                        try sealInPlace(text, iv: iv, aad: aad, icv: out.baseAddress! + (total - icvSize))
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Encrypts `text` in place and writes the ICV at `icv`: the data plane's seal, which builds a
    /// packet in one buffer (header ‖ IV ‖ plaintext ‖ room for the ICV) and encrypts it there.
    ///
    /// - Parameters:
    ///   - text: the plaintext (payload and trailer), replaced by the ciphertext of the same length.
    ///   - iv: the 8-byte explicit IV.
    ///   - aad: the AAD (8 or 12 bytes for ESP); it may lie in the same buffer, outside `text`.
    ///   - icv: room for ``icvSize`` bytes, outside `text`.
    ///
    /// GCM encrypts in place (OpenSSL allows the output to be the input, not a partial overlap).
    package func sealInPlace(
        _ text: UnsafeMutableRawBufferPointer, iv: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        icv: UnsafeMutableRawPointer
    ) throws(ESPCryptoError) {
        guard text.count <= Int(Int32.max) else { throw .invalidInputLength(text.count) }
        try start(encryptContext, iv: iv, aad: aad)
        let context = encryptContext
        var written: Int32 = 0
        if let base = text.baseAddress, text.count > 0 {
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            guard EVP_CipherUpdate(context, bytes, &written, bytes, Int32(text.count)) == 1 else { throw .fromQueue("EVP_CipherUpdate") }
        }
        // GCM's final step writes no bytes; the pointer only has to be valid.
        var final: Int32 = 0
        let end = text.baseAddress.map { $0 + Int(written) } ?? icv
        guard EVP_CipherFinal_ex(context, end.assumingMemoryBound(to: UInt8.self), &final) == 1 else { throw .fromQueue("EVP_CipherFinal_ex") }
        guard Int(written + final) == text.count else { throw .fromQueue("EVP_CipherFinal_ex") }
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(icvSize), icv) == 1 else { throw .fromQueue("EVP_CTRL_GCM_GET_TAG") }
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
        guard iv.count == Self.ivSize else { throw .invalidIVLength(iv.count, expected: Self.ivSize) }
        return try sealed.withTypedUnsafeBytes { (sealed) throws(ESPCryptoError) in
            try iv.withTypedUnsafeBytes { (iv) throws(ESPCryptoError) in
                try aad.withTypedUnsafeBytes { (aad) throws(ESPCryptoError) in
                    let ciphertext = UnsafeRawBufferPointer(rebasing: sealed[..<(sealed.count - icvSize)])
                    return try open(ciphertext: ciphertext, icv: sealed.baseAddress! + ciphertext.count, iv: iv, aad: aad)
                }
            }
        }
    }

    /// Verifies and decrypts a ciphertext into a new array: the data plane's open, reading the
    /// packet where it lies.
    ///
    /// - Parameters:
    ///   - ciphertext: the ciphertext (without the ICV).
    ///   - icv: the ``icvSize`` bytes of the received ICV.
    ///   - iv: the 8-byte explicit IV.
    ///   - aad: the AAD the sender used.
    /// - Returns: the plaintext, `ciphertext.count` bytes.
    /// - Throws: ``ESPCryptoError/authenticationFailed`` (the decrypted bytes are wiped, not returned).
    package func open(
        ciphertext: UnsafeRawBufferPointer, icv: UnsafeRawPointer, iv: UnsafeRawBufferPointer,
        aad: UnsafeRawBufferPointer
    ) throws(ESPCryptoError) -> [UInt8] {
        guard ciphertext.count <= Int(Int32.max) else { throw .invalidInputLength(ciphertext.count) }
        try start(decryptContext, iv: iv, aad: aad)
        let context = decryptContext
        let icvSize = self.icvSize
        var verified = false
        // At least one byte, so that the output pointer is never null (GCM's final step writes nothing).
        var output = [UInt8](unsafeUninitializedCapacity: max(ciphertext.count, 1)) { out, initialized in
            let base = out.baseAddress!
            base.initialize(to: 0)
            initialized = max(ciphertext.count, 1)  // UInt8: the bytes are written by decryption or wiped
            var written: Int32 = 0
            if let input = ciphertext.baseAddress, ciphertext.count > 0 {
                guard EVP_CipherUpdate(context, base, &written, input.assumingMemoryBound(to: UInt8.self), Int32(ciphertext.count)) == 1
                else { return }
            }
            // OpenSSL copies the expected tag into the context; it never writes through this pointer.
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(icvSize), UnsafeMutableRawPointer(mutating: icv)) == 1
            else { return }
            var final: Int32 = 0
            verified = EVP_CipherFinal_ex(context, base + Int(written), &final) == 1
        }
        guard verified else {
            output.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
            ERR_clear_error()
            throw .authenticationFailed
        }
        if ciphertext.count == 0 { output.removeAll() }
        return output
    }

    /// Prepares a direction's context for one packet: nonce = salt ‖ IV (the key stays), AAD.
    private func start(_ context: OpaquePointer, iv: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) throws(ESPCryptoError) {
        guard iv.count == Self.ivSize else { throw .invalidIVLength(iv.count, expected: Self.ivSize) }
        guard aad.count <= Int(Int32.max) else { throw .invalidInputLength(aad.count) }
        // The nonce buffer is this instance's; the salt stays in its first 4 bytes.
        UnsafeMutableRawBufferPointer(rebasing: nonce[Self.saltSize...]).copyMemory(from: iv)
        guard EVP_CipherInit_ex(context, nil, nil, nil, nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), -1) == 1 else {
            throw .fromQueue("EVP_CipherInit_ex")
        }
        if let bytes = aad.baseAddress, aad.count > 0 {
            var written: Int32 = 0
            guard EVP_CipherUpdate(context, nil, &written, bytes.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1 else {
                throw .fromQueue("EVP_CipherUpdate (AAD)")
            }
        }
    }
}

extension ESPAESGCM: CustomStringConvertible {
    /// `ESPAESGCM(AES-128, ICV 16 bytes)`: never the key.
    public var description: String { "ESPAESGCM(AES-\(keySize * 8), ICV \(icvSize) bytes)" }
}
