/// Bytes that are not well-formed netlink: a truncated or overlong message or attribute, a malformed
/// error message. Decoding never traps on malformed input; it throws this error, which says what is
/// wrong and where.
///
/// Equality compares ``kind`` and ``offset``.
public struct NetlinkDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Hashable, Sendable {
        /// Fewer than 16 bytes remain where a `struct nlmsghdr` should start.
        case truncatedHeader(available: Int)
        /// `nlmsg_len` is smaller than the 16-byte header.
        case messageLengthTooSmall(length: UInt32)
        /// `nlmsg_len` runs past the end of the buffer (`available` bytes from the header on).
        case messageLengthExceedsBuffer(length: UInt32, available: Int)
        /// Fewer than 4 bytes remain where a `struct nlattr` should start.
        case truncatedAttributeHeader(available: Int)
        /// `nla_len` is smaller than the 4-byte attribute header.
        case attributeLengthTooSmall(type: UInt16, length: UInt16)
        /// `nla_len` runs past the end of the enclosing payload.
        case attributeLengthExceedsPayload(type: UInt16, length: UInt16, available: Int)
        /// Nested attributes deeper than the decoder accepts.
        case nestingTooDeep(limit: Int)
        /// An attribute payload of the wrong size for the value asked of it (a `u32` that is not 4
        /// bytes).
        case attributeSizeMismatch(type: UInt16, expected: Int, actual: Int)
        /// An `NLMSG_ERROR` payload shorter than `struct nlmsgerr` (20 bytes).
        case truncatedErrorMessage(available: Int)
        /// An `NLMSG_ERROR` whose error code is positive (the kernel sends 0 or a negative errno).
        case positiveErrorCode(Int32)
        /// An uncapped `NLMSG_ERROR` whose echoed request is longer than what follows it, or shorter
        /// than a header.
        case malformedEchoedRequest(length: UInt32, available: Int)
        /// Bytes after the last element that do not form a complete one (and are not padding).
        case trailingBytes(count: Int)
    }

    /// What is wrong.
    public var kind: Kind
    /// The byte offset in the decoded buffer where the problem starts.
    public var offset: Int

    /// Creates an error.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// `netlink: at byte 16: nlmsg_len 300 runs past the end of the buffer (20 bytes left)`.
    public var description: String {
        let what: String
        switch kind {
        case .truncatedHeader(let available):
            what = "truncated nlmsghdr (\(available) of 16 bytes)"
        case .messageLengthTooSmall(let length):
            what = "nlmsg_len \(length) is smaller than the 16-byte header"
        case .messageLengthExceedsBuffer(let length, let available):
            what = "nlmsg_len \(length) runs past the end of the buffer (\(available) bytes left)"
        case .truncatedAttributeHeader(let available):
            what = "truncated nlattr (\(available) of 4 bytes)"
        case .attributeLengthTooSmall(let type, let length):
            what = "attribute type \(type): nla_len \(length) is smaller than the 4-byte header"
        case .attributeLengthExceedsPayload(let type, let length, let available):
            what = "attribute type \(type): nla_len \(length) runs past the end of the payload (\(available) bytes left)"
        case .nestingTooDeep(let limit):
            what = "attributes nested deeper than \(limit) levels"
        case .attributeSizeMismatch(let type, let expected, let actual):
            what = "attribute type \(type): expected a \(expected)-byte payload, found \(actual) bytes"
        case .truncatedErrorMessage(let available):
            what = "truncated nlmsgerr (\(available) of 20 bytes)"
        case .positiveErrorCode(let code):
            what = "nlmsgerr error \(code) is positive (expected 0 or a negative errno)"
        case .malformedEchoedRequest(let length, let available):
            what = "echoed request of nlmsg_len \(length) does not fit the \(available) bytes after the error code"
        case .trailingBytes(let count):
            what = "\(count) trailing bytes"
        }
        return "netlink: at byte \(offset): \(what)"
    }
}

/// A value that cannot be encoded as netlink: an attribute or a nest longer than the 16-bit `nla_len`
/// can say, an attribute type that does not fit in 14 bits.
public struct NetlinkEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Hashable, Sendable {
        /// The attribute (header included) is longer than 65535 bytes.
        case attributeTooLong(type: UInt16, length: Int)
        /// The type uses bits 14 or 15, which are the `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` flags.
        case attributeTypeTooLarge(UInt16)
        /// A message (header included) is longer than the 32-bit `nlmsg_len` can say.
        case messageTooLong(length: Int)
    }

    /// What is wrong.
    public var kind: Kind

    /// Creates an error.
    public init(_ kind: Kind) { self.kind = kind }

    /// `netlink: attribute type 8 is 70000 bytes long; nla_len holds at most 65535`.
    public var description: String {
        switch kind {
        case .attributeTooLong(let type, let length):
            "netlink: attribute type \(type) is \(length) bytes long; nla_len holds at most 65535"
        case .attributeTypeTooLarge(let type):
            "netlink: attribute type \(type) does not fit in 14 bits (NLA_TYPE_MASK)"
        case .messageTooLong(let length):
            "netlink: message is \(length) bytes long; nlmsg_len holds at most 4294967295"
        }
    }
}
