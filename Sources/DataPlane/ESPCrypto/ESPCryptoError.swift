internal import CCrypto

/// Why an ESP cryptographic operation could not be done.
///
/// An authentication failure on ``ESPAESGCM/open(sealed:iv:aad:)`` is ``authenticationFailed``: the
/// packet must be dropped, and nothing about it (plaintext, which byte differed) is kept.
public enum ESPCryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The key material has a length the algorithm does not take (the expected lengths in `expected`).
    case invalidKeyLength(Int, expected: [Int])
    /// The explicit IV is not the length the algorithm uses.
    case invalidIVLength(Int, expected: Int)
    /// The ICV (authentication tag) length is not one the algorithm allows.
    case invalidICVLength(Int, expected: [Int])
    /// The input is shorter than the algorithm's fixed overhead (for example, shorter than the ICV), or
    /// not a whole number of blocks.
    case invalidInputLength(Int)
    /// The ICV did not verify: the ciphertext, the AAD or the ICV was altered, or the key is wrong.
    case authenticationFailed
    /// A libcrypto call failed; `code` is the first error on OpenSSL's error queue (`ERR_get_error`),
    /// 0 if the queue was empty.
    case libcrypto(function: String, code: UInt)

    public var description: String {
        switch self {
        case .invalidKeyLength(let length, let expected):
            return "key material of \(length) bytes; expected \(expected.map(String.init).joined(separator: ", ")) bytes"
        case .invalidIVLength(let length, let expected):
            return "IV of \(length) bytes; expected \(expected) bytes"
        case .invalidICVLength(let length, let expected):
            return "ICV of \(length) bytes; expected \(expected.map(String.init).joined(separator: ", ")) bytes"
        case .invalidInputLength(let length):
            return "input of \(length) bytes is too short or not block-aligned"
        case .authenticationFailed:
            return "authentication failed: the ICV does not match"
        case .libcrypto(let function, let code):
            guard code != 0 else { return "\(function) failed" }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            return "\(function) failed: \(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))"
        }
    }

    /// A libcrypto failure of `function`, taking (and clearing) OpenSSL's error queue.
    internal static func fromQueue(_ function: String) -> ESPCryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        return .libcrypto(function: function, code: code)
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` whose closure throws a typed error (the standard library's is `rethrows`,
    /// which erases the type to `any Error`).
    internal func withTypedUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { bytes in Result { () throws(E) in try body(bytes) } }.get()
    }
}
