internal import CCrypto

/// HMAC-SHA-256 with a truncated output, as ESP's integrity algorithm HMAC-SHA-256-128 (RFC 4868):
/// a 32-byte key and the first 16 bytes of the HMAC as ICV.
///
/// The class owns one `EVP_MAC_CTX` keyed once; each computation re-initialises it with that key.
/// It is not `Sendable`.
public final class HMACSHA256 {
    /// The full HMAC-SHA-256 output length in bytes.
    public static let fullSize = 32

    /// The ICV length in bytes (16 for HMAC-SHA-256-128).
    public let icvSize: Int

    private let context: OpaquePointer

    /// Keys HMAC-SHA-256.
    ///
    /// - Parameters:
    ///   - key: the authentication key; RFC 4868 §2.1.1 uses 32 bytes for IPsec, HMAC itself accepts any
    ///     nonempty length.
    ///   - icvSize: how many leading bytes of the HMAC form the ICV: 16 (the default, RFC 4868) up to 32.
    ///
    /// The corresponding C functions are `EVP_MAC_fetch("HMAC")`, `EVP_MAC_CTX_new` and `EVP_MAC_init`
    /// with `OSSL_MAC_PARAM_DIGEST` = `"SHA256"`.
    public init(key: SecureBytes, icvSize: Int = 16) throws(ESPCryptoError) {
        guard key.count > 0 else { throw .invalidKeyLength(0, expected: [32]) }
        guard (1...Self.fullSize).contains(icvSize) else {
            throw .invalidICVLength(icvSize, expected: [16, Self.fullSize])
        }
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw .fromQueue("EVP_MAC_fetch") }
        defer { EVP_MAC_free(mac) }  // the context holds its own reference
        guard let context = EVP_MAC_CTX_new(mac) else { throw .fromQueue("EVP_MAC_CTX_new") }
        // OSSL_PARAM keeps pointers to both strings, the parameter's name included: both must live
        // until EVP_MAC_init returns (a Swift string literal passed as a C string would not).
        var digest = Array("SHA256".utf8CString)
        var parameterName = Array("digest".utf8CString)  // OSSL_MAC_PARAM_DIGEST
        let keyed = parameterName.withUnsafeMutableBufferPointer { parameter in
            digest.withUnsafeMutableBufferPointer { name in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(parameter.baseAddress, name.baseAddress, 0),
                    OSSL_PARAM_construct_end(),
                ]
                return EVP_MAC_init(context, key.baseAddress, key.count, &parameters) == 1
            }
        }
        guard keyed else {
            EVP_MAC_CTX_free(context)
            throw .fromQueue("EVP_MAC_init")
        }
        self.icvSize = icvSize
        self.context = context
    }

    deinit {
        EVP_MAC_CTX_free(context)
    }

    /// The ICV of the concatenation of `parts` (for ESP: SPI ‖ sequence number ‖ IV ‖ ciphertext, then
    /// the high 32 bits of an extended sequence number).
    ///
    /// The corresponding C functions are `EVP_MAC_init`, `EVP_MAC_update` and `EVP_MAC_final`.
    public func authenticationCode(_ parts: [UInt8]...) throws(ESPCryptoError) -> [UInt8] {
        var failure: ESPCryptoError?
        let icv = [UInt8](unsafeUninitializedCapacity: icvSize) { out, initialized in
            initialized = icvSize  // UInt8: written below, or the array is discarded
            do throws(ESPCryptoError) { try compute(parts, into: UnsafeMutableRawBufferPointer(out)) } catch { failure = error }
        }
        if let failure { throw failure }
        return icv
    }

    /// Whether `icv` is the ICV of `parts`, compared in constant time.
    ///
    /// The corresponding C function for the comparison is `CRYPTO_memcmp`.
    public func verify(_ icv: [UInt8], for parts: [UInt8]...) throws(ESPCryptoError) -> Bool {
        try withUnsafeTemporaryAllocation(byteCount: icvSize, alignment: 1) { (expected) throws(ESPCryptoError) in
            try compute(parts, into: expected)
            guard icv.count == expected.count else { return false }
            return CRYPTO_memcmp(icv, expected.baseAddress, icv.count) == 0
        }
    }

    /// Writes the ICV of `first` ‖ `second` into `icv` (``icvSize`` bytes): the data plane's
    /// seal, over the packet where it lies and, with ESN, the high 32 bits of the sequence number.
    package func authenticate(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into icv: UnsafeMutableRawBufferPointer
    ) throws(ESPCryptoError) {
        precondition(icv.count == icvSize, "the ICV buffer must be icvSize bytes")
        try begin()
        try update(first)
        try update(second)
        try finish(into: icv)
    }

    /// Whether `icv` is the ICV of `first` ‖ `second`, compared in constant time.
    package func verify(
        _ icv: UnsafeRawBufferPointer, for first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) throws(ESPCryptoError) -> Bool {
        guard icv.count == icvSize else { return false }
        return try withUnsafeTemporaryAllocation(byteCount: icvSize, alignment: 1) { (expected) throws(ESPCryptoError) in
            try begin()
            try update(first)
            try update(second)
            try finish(into: expected)
            return CRYPTO_memcmp(icv.baseAddress, expected.baseAddress, icvSize) == 0
        }
    }

    private func compute(_ parts: [[UInt8]], into icv: UnsafeMutableRawBufferPointer) throws(ESPCryptoError) {
        try begin()
        for part in parts { try part.withTypedUnsafeBytes { (part) throws(ESPCryptoError) in try update(part) } }
        try finish(into: icv)
    }

    /// Restarts the context with its key.
    private func begin() throws(ESPCryptoError) {
        guard EVP_MAC_init(context, nil, 0, nil) == 1 else { throw .fromQueue("EVP_MAC_init") }
    }

    private func update(_ part: UnsafeRawBufferPointer) throws(ESPCryptoError) {
        guard let bytes = part.baseAddress, part.count > 0 else { return }
        guard EVP_MAC_update(context, bytes.assumingMemoryBound(to: UInt8.self), part.count) == 1 else { throw .fromQueue("EVP_MAC_update") }
    }

    /// The full HMAC into a stack buffer, its first ``icvSize`` bytes into `icv`.
    private func finish(into icv: UnsafeMutableRawBufferPointer) throws(ESPCryptoError) {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.fullSize) { (output) throws(ESPCryptoError) in
            var length = 0
            guard EVP_MAC_final(context, output.baseAddress, &length, Self.fullSize) == 1, length == Self.fullSize else {
                throw .fromQueue("EVP_MAC_final")
            }
            icv.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(output)[..<icvSize]))
        }
    }
}

extension HMACSHA256: CustomStringConvertible {
    /// `HMACSHA256(ICV 16 bytes)`: never the key.
    public var description: String { "HMACSHA256(ICV \(icvSize) bytes)" }
}
