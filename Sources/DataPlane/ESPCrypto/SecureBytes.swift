internal import CCrypto

/// Key material: bytes held in memory that is wiped when the last copy is released, and that never
/// appear in descriptions, debug output or mirrors.
///
/// Copies share one storage (the bytes are immutable). The wipe covers this storage only: an array the
/// bytes were copied from stays the caller's to clear.
public struct SecureBytes: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private final class Storage: @unchecked Sendable {
        // Immutable after init; wiped and freed in deinit.
        let bytes: UnsafeMutableBufferPointer<UInt8>

        init(count: Int) {
            bytes = .allocate(capacity: count)
            bytes.initialize(repeating: 0)
        }

        deinit {
            if let base = bytes.baseAddress { OPENSSL_cleanse(base, bytes.count) }
            bytes.deallocate()
        }
    }

    private let storage: Storage

    /// Copies `bytes` into wiped-on-release storage.
    public init(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        storage = Storage(count: array.count)
        _ = storage.bytes.initialize(from: array)
    }

    private init(storage: Storage) { self.storage = storage }

    /// `count` bytes from the system's cryptographically secure generator.
    ///
    /// The corresponding C function is `RAND_bytes`.
    public static func random(count: Int) throws(ESPCryptoError) -> SecureBytes {
        precondition(count >= 0 && count <= Int(Int32.max))
        let storage = Storage(count: count)
        guard count == 0 || RAND_bytes(storage.bytes.baseAddress, Int32(count)) == 1 else {
            throw .libcrypto(function: "RAND_bytes", code: ERR_get_error())
        }
        return SecureBytes(storage: storage)
    }

    /// The number of bytes.
    public var count: Int { storage.bytes.count }

    /// Calls `body` with the bytes. The pointer is valid only during the call; do not copy the bytes
    /// into storage that is not wiped.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(storage.bytes))
    }

    /// The bytes in `range`, as new secure storage.
    internal func slice(_ range: Range<Int>) -> SecureBytes {
        SecureBytes(storage.bytes[range])
    }

    internal var baseAddress: UnsafePointer<UInt8>? { UnsafePointer(storage.bytes.baseAddress) }

    /// Compares in time that depends only on the length, not on where the bytes differ.
    ///
    /// The corresponding C function is `CRYPTO_memcmp`.
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard lhs.count > 0 else { return true }
        return CRYPTO_memcmp(lhs.storage.bytes.baseAddress, rhs.storage.bytes.baseAddress, lhs.count) == 0
    }

    /// `SecureBytes(16 bytes, redacted)`: never the bytes.
    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": count]) }
}
