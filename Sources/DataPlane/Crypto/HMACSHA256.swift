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
        var parameterName = Array("digest".utf8CString)   // OSSL_MAC_PARAM_DIGEST
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
        try compute(parts)
    }

    /// Whether `icv` is the ICV of `parts`, compared in constant time.
    ///
    /// The corresponding C function for the comparison is `CRYPTO_memcmp`.
    public func verify(_ icv: [UInt8], for parts: [UInt8]...) throws(ESPCryptoError) -> Bool {
        let expected = try compute(parts)
        guard icv.count == expected.count else { return false }
        return CRYPTO_memcmp(icv, expected, icv.count) == 0
    }

    private func compute(_ parts: [[UInt8]]) throws(ESPCryptoError) -> [UInt8] {
        guard EVP_MAC_init(context, nil, 0, nil) == 1 else { throw .fromQueue("EVP_MAC_init") }
        for part in parts where !part.isEmpty {
            guard EVP_MAC_update(context, part, part.count) == 1 else { throw .fromQueue("EVP_MAC_update") }
        }
        var output = [UInt8](repeating: 0, count: Self.fullSize)
        var length = 0
        guard EVP_MAC_final(context, &output, &length, Self.fullSize) == 1, length == Self.fullSize else {
            throw .fromQueue("EVP_MAC_final")
        }
        return Array(output.prefix(icvSize))
    }
}

extension HMACSHA256: CustomStringConvertible {
    /// `HMACSHA256(ICV 16 bytes)`: never the key.
    public var description: String { "HMACSHA256(ICV \(icvSize) bytes)" }
}
