public import IPsecModel

/// An algorithm attribute: `struct xfrm_algo` (`XFRMA_ALG_CRYPT`, `XFRMA_ALG_AUTH`, `XFRMA_ALG_COMP`),
/// `struct xfrm_algo_auth` (`XFRMA_ALG_AUTH_TRUNC`) or `struct xfrm_algo_aead` (`XFRMA_ALG_AEAD`).
///
/// ```
/// xfrm_algo (68 + key):       0 alg_name char[64] NUL-padded   64 alg_key_len __u32 bits   68 alg_key
/// xfrm_algo_auth (72 + key):  0 alg_name  64 alg_key_len  68 alg_trunc_len __u32 bits  72 alg_key
/// xfrm_algo_aead (72 + key):  0 alg_name  64 alg_key_len  68 alg_icv_len   __u32 bits  72 alg_key
/// ```
///
/// The key is held only as `KeyMaterial`; nothing here prints it.
public struct XfrmAlgo: Hashable, Sendable {
    /// Which of the three C structs.
    public enum Layout: Hashable, Sendable {
        /// `xfrm_algo`: no third length field.
        case plain
        /// `xfrm_algo_auth`: `alg_trunc_len`.
        case auth
        /// `xfrm_algo_aead`: `alg_icv_len`.
        case aead

        var headerSize: Int { self == .plain ? 68 : 72 }
        var cName: String {
            switch self {
            case .plain: "xfrm_algo"
            case .auth: "xfrm_algo_auth"
            case .aead: "xfrm_algo_aead"
            }
        }
    }

    public static let nameSize = 64

    public var layout: Layout
    /// `alg_name`: 64 bytes, as received (a name, a NUL, then normally zeros).
    public private(set) var nameBytes: [UInt8]
    /// `alg_key_len`, in bits.
    public var keyBits: UInt32
    /// `alg_trunc_len` or `alg_icv_len`, in bits; 0 for ``Layout/plain``.
    public var truncationBits: UInt32
    /// `alg_key`: every byte after the header (normally `(keyBits + 7) / 8` of them).
    public var key: KeyMaterial

    /// The name: the bytes of `alg_name` before its first NUL.
    public var name: String {
        String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Creates an algorithm.
    /// - Throws: ``XfrmWireError/Code/algorithmNameTooLong`` when the name does not fit 63 bytes,
    ///   ``XfrmWireError/Code/keyTooLong`` for a key
    ///   whose bit count overflows `alg_key_len`.
    public init(layout: Layout, name: String, key: KeyMaterial, keyBits: UInt32? = nil, truncationBits: UInt32 = 0) throws(XfrmWireError) {
        let utf8 = Array(name.utf8)
        guard utf8.count < Self.nameSize, !utf8.contains(0) else {
            throw XfrmWireError(
                .algorithmNameTooLong, at: 0, "alg_name: expected at most 63 bytes without NUL, found \(utf8.count) bytes for \"\(name.prefix(80))\"")
        }
        guard key.count <= 65535 - 4 - layout.headerSize, UInt64(key.count) * 8 <= UInt64(UInt32.max) else {
            throw XfrmWireError(.keyTooLong, at: 0, "\(layout.cName): a \(key.count)-byte key does not fit one attribute")
        }
        self.layout = layout
        self.nameBytes = utf8 + Array(repeating: 0, count: Self.nameSize - utf8.count)
        self.keyBits = keyBits ?? UInt32(key.count * 8)
        self.truncationBits = layout == .plain ? 0 : truncationBits
        self.key = key
    }

    /// Decodes an attribute payload.
    /// - Throws: ``XfrmWireError/Code/badAttributeLength`` when the payload is shorter than the header
    ///   or than the `alg_key_len` bits need.
    public init(payload bytes: [UInt8], layout: Layout) throws(XfrmWireError) {
        self = try bytes.withUnsafeBytesThrowing { raw throws(XfrmWireError) in try Self(payload: raw, layout: layout) }
    }

    /// Decodes an attribute payload read in place.
    public init(payload bytes: UnsafeRawBufferPointer, layout: Layout) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: 0, size: layout.headerSize, name: layout.cName)
        self.layout = layout
        nameBytes = r.raw(Self.nameSize)  // 0
        keyBits = r.host()  // 64
        truncationBits = layout == .plain ? 0 : r.host() as UInt32  // 68
        let needed = (UInt64(keyBits) + 7) / 8
        guard UInt64(bytes.count - layout.headerSize) >= needed else {
            throw XfrmWireError(
                .badAttributeLength, at: 0,
                "\(layout.cName): alg_key_len \(keyBits) bits needs \(needed) key bytes, found \(bytes.count - layout.headerSize)")
        }
        key = KeyMaterial(Array(bytes[layout.headerSize...]))  // 68 or 72
    }

    /// The attribute payload (the key bytes included).
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(layout.headerSize + key.count)
        bytes.append(contentsOf: nameBytes)
        bytes.appendHost(keyBits)
        if layout != .plain { bytes.appendHost(truncationBits) }
        key.withUnsafeBytes { bytes.append(contentsOf: $0) }
        return bytes
    }
}
