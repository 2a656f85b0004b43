// The one error type of the XFRM codecs.

/// Bytes that are not a well-formed XFRM message, or a value that cannot be encoded as one.
///
/// Every error says what is wrong (``code``), where (``offset``, in bytes from the start of the
/// netlink message being decoded, header included; for encoding errors the offset in the message
/// being built, or 0) and what was expected (``message``). Equality compares ``code`` and ``offset``.
public struct XfrmWireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem; an extensible set of named values.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let rawValue: String
        /// Creates a code from its name.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Fewer bytes than a fixed C struct needs (`xfrm_usersa_info` is 224 bytes, …).
        public static let truncatedStruct = Code(rawValue: "truncatedStruct")
        /// An attribute whose payload length does not fit its type (a 7-byte `XFRMA_MARK`, a
        /// `XFRMA_TMPL` that is not a multiple of 64 bytes, an `xfrm_algo` shorter than its key).
        public static let badAttributeLength = Code(rawValue: "badAttributeLength")
        /// An address family other than `AF_INET` (2) or `AF_INET6` (10) where an address is needed,
        /// or addresses of mixed families in one value.
        public static let badFamily = Code(rawValue: "badFamily")
        /// A security context of 4096 bytes or more with its terminating NUL (the kernel's
        /// `ctx_len < PAGE_SIZE` limit); never truncated.
        public static let contextTooLong = Code(rawValue: "contextTooLong")
        /// A security context that contains a NUL byte.
        public static let nulInContext = Code(rawValue: "nulInContext")
        /// An empty security context.
        public static let emptyContext = Code(rawValue: "emptyContext")
        /// `xfrm_user_sec_ctx.len` is not `8 + ctx_len`, or runs past the attribute.
        public static let securityContextLengthMismatch = Code(rawValue: "securityContextLengthMismatch")
        /// An algorithm name of 64 bytes or more (it must fit `alg_name[64]` with its NUL).
        public static let algorithmNameTooLong = Code(rawValue: "algorithmNameTooLong")
        /// A key longer than `alg_key_len` (in bits, a u32) or an attribute (65535 bytes) can say.
        public static let keyTooLong = Code(rawValue: "keyTooLong")
        /// A value that does not fit its field (a replay window over 255 in `replay_window`, …).
        public static let valueOutOfRange = Code(rawValue: "valueOutOfRange")
        /// Malformed netlink framing: header, message length, attribute header.
        public static let malformedNetlink = Code(rawValue: "malformedNetlink")
        /// An attribute or message too long for its 16- or 32-bit length field.
        public static let tooLong = Code(rawValue: "tooLong")
        /// A message of another type than the operation expects.
        public static let unexpectedMessage = Code(rawValue: "unexpectedMessage")

        /// The code's name.
        public var description: String { rawValue }
    }

    /// What kind of problem.
    public var code: Code
    /// Where: bytes from the start of the netlink message (or the struct, when a struct is decoded
    /// on its own).
    public var offset: Int
    /// What is wrong and what was expected, e.g. `xfrm_usersa_info: expected 224 bytes, found 100`.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, at offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public static func == (a: XfrmWireError, b: XfrmWireError) -> Bool { a.code == b.code && a.offset == b.offset }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(offset)
    }

    /// `xfrm: at byte 16: truncatedStruct: xfrm_usersa_info: expected 224 bytes, found 100`.
    public var description: String { "xfrm: at byte \(offset): \(code): \(message)" }

    /// The same error, `delta` bytes further into an enclosing buffer.
    func shifted(by delta: Int) -> XfrmWireError { XfrmWireError(code, at: offset + delta, message) }
}
