// The kernel's answer to a request with NLM_F_ACK, or to a request that failed: an NLMSG_ERROR message
// carrying `struct nlmsgerr` and, with NETLINK_EXT_ACK, extended-ACK attributes.
//
// Payload layout (linux/netlink.h; Specs/kernel/layouts.md §1.5, §4.2, §4.4):
//   0   error  s32       0 (ACK) or a negative errno (NACK)
//   4   msg    nlmsghdr  the request's header (16 bytes)
//   20  ...              the request's payload, unless NLM_F_CAPPED is set in the reply's flags
//                        (the kernel caps an ACK always, a NACK when the socket set NETLINK_CAP_ACK)
//   ..  TLVs             from NLMSG_ALIGN(4 + msg.nlmsg_len) (capped: from 20) when NLM_F_ACK_TLVS
//                        is set: NLMSGERR_ATTR_MSG (1) text, NLMSGERR_ATTR_OFFS (2) u32, ...

public import LinuxSystem  // Errno

/// A decoded `NLMSG_ERROR` message: an acknowledgement (error 0) or a NACK (a negative errno), the
/// header of the request it answers, and the extended-ACK attributes. The corresponding C type is
/// `struct nlmsgerr`.
public struct NetlinkError: Hashable, Sendable, CustomStringConvertible {
    /// The size of `struct nlmsgerr`: 20.
    public static let size = 20

    /// The error code as sent: 0 for an acknowledgement, a negative errno for a NACK.
    /// The corresponding C field is `error`.
    public var code: Int32
    /// The header of the request this answers. The corresponding C field is `msg`.
    public var request: NetlinkHeader
    /// The request's payload, when the kernel echoed it (the reply is not ``isCapped``).
    public var requestPayload: [UInt8]?
    /// Whether the reply had `NLM_F_CAPPED`: only the request's header was echoed.
    public var isCapped: Bool
    /// The extended-ACK attributes (empty without `NLM_F_ACK_TLVS`).
    public var extendedAck: ExtendedAck

    /// Whether this is an acknowledgement (error 0) rather than a NACK.
    public var isAcknowledgement: Bool { code == 0 }

    /// The error number of a NACK, positive (`EPROTONOSUPPORT` for code −93); `nil` for an ACK.
    public var errno: Errno? { code == 0 ? nil : Errno(rawValue: code == .min ? .max : -code) }

    /// Creates an error message value.
    public init(
        code: Int32, request: NetlinkHeader, requestPayload: [UInt8]? = nil, extendedAck: ExtendedAck = ExtendedAck()
    ) {
        self.code = code
        self.request = request
        self.requestPayload = requestPayload
        self.isCapped = requestPayload == nil
        self.extendedAck = extendedAck
    }

    /// Decodes an `NLMSG_ERROR` message.
    ///
    /// - Parameter message: a message of type ``NetlinkMessageType/error``.
    /// - Throws: ``NetlinkDecodingError``: a payload shorter than 20 bytes, a positive error code, an
    ///   echoed request that does not fit, malformed extended-ACK attributes. Offsets count from the
    ///   start of the payload.
    public init(decoding message: NetlinkMessage) throws(NetlinkDecodingError) {
        precondition(message.type == .error, "NetlinkError(decoding:) needs an NLMSG_ERROR message")
        let payload = message.payload
        guard payload.count >= Self.size else {
            throw NetlinkDecodingError(.truncatedErrorMessage(available: payload.count), at: 0)
        }
        let code: Int32 = payload.hostInteger(at: 0)
        guard code <= 0 else { throw NetlinkDecodingError(.positiveErrorCode(code), at: 0) }
        let request = try NetlinkHeader(decoding: payload, at: 4)
        // The kernel echoes the request's payload only in a NACK on a socket without NETLINK_CAP_ACK,
        // and then leaves NLM_F_CAPPED clear. Kernels before 4.12 had no NLM_F_CAPPED and echoed
        // only the header of an ACK, so an uncapped ACK carries no payload either.
        let capped = message.flags.contains(.capped)
        var tlvStart = Self.size
        var requestPayload: [UInt8]?
        if !capped && code != 0 {
            let available = payload.count - 4
            guard request.length >= UInt32(NetlinkHeader.size), UInt64(request.length) <= UInt64(available) else {
                throw NetlinkDecodingError(.malformedEchoedRequest(length: request.length, available: available), at: 4)
            }
            requestPayload = Array(payload[Self.size..<(4 + Int(request.length))])
            tlvStart = min(4 + netlinkAlign(Int(request.length)), payload.count)
        }
        var extendedAck = ExtendedAck()
        if message.flags.contains(.acknowledgementTLVs) {
            extendedAck = try ExtendedAck(decoding: payload, from: tlvStart)
        } else if tlvStart < payload.count {
            throw NetlinkDecodingError(.trailingBytes(count: payload.count - tlvStart), at: tlvStart)
        }
        self.code = code
        self.request = request
        self.requestPayload = requestPayload
        self.isCapped = requestPayload == nil
        self.extendedAck = extendedAck
    }

    /// The `NLMSG_ERROR` message as the kernel would send it (`netlink_ack`): flags `NLM_F_CAPPED`
    /// when no request payload is echoed, `NLM_F_ACK_TLVS` when there are extended-ACK attributes.
    ///
    /// - Parameters:
    ///   - sequence: the request's sequence number.
    ///   - portID: the requester's port id.
    public func message(sequence: UInt32, portID: UInt32) throws(NetlinkEncodingError) -> NetlinkMessage {
        var payload: [UInt8] = []
        payload.appendHostInteger(code)
        var echoed = request
        if let requestPayload { echoed.length = UInt32(truncatingIfNeeded: NetlinkHeader.size + requestPayload.count) }
        echoed.encode(into: &payload)
        if let requestPayload {
            payload.append(contentsOf: requestPayload)
            payload.padToAlignment()
        }
        var flags: NetlinkMessageFlags = []
        if requestPayload == nil { flags.insert(.capped) }
        let tlvs = try extendedAck.encoded()
        if !tlvs.isEmpty {
            flags.insert(.acknowledgementTLVs)
            payload.append(contentsOf: tlvs)
        }
        return NetlinkMessage(type: .error, flags: flags, sequence: sequence, portID: portID, payload: payload)
    }

    /// `ACK for len 300 type 0x13 ...` or `EPROTONOSUPPORT: Requested type not found (request ...)`.
    public var description: String {
        guard let errno else { return "ACK for \(request)" }
        var text = errno.messageAndName
        if let message = extendedAck.message { text += ": \(message)" }
        if let offset = extendedAck.offset { text += " (at byte \(offset) of the request)" }
        return text
    }
}

/// The extended-ACK attributes of an `NLMSG_ERROR` (or of an `NLMSG_DONE` that ends a failed dump):
/// the kernel's explanation of a NACK, or a warning in an ACK. Present when the socket set
/// `NETLINK_EXT_ACK`.
public struct ExtendedAck: Hashable, Sendable {
    /// The extended-ACK attribute types (`enum nlmsgerr_attrs`).
    public enum AttributeType {
        /// The text. The corresponding C constant is `NLMSGERR_ATTR_MSG` (1).
        public static let message: UInt16 = 1
        /// The offset of the offending attribute in the request. The corresponding C constant is
        /// `NLMSGERR_ATTR_OFFS` (2).
        public static let offset: UInt16 = 2
        /// An opaque cookie. The corresponding C constant is `NLMSGERR_ATTR_COOKIE` (3).
        public static let cookie: UInt16 = 3
        /// The policy of the offending attribute (nested). The corresponding C constant is
        /// `NLMSGERR_ATTR_POLICY` (4).
        public static let policy: UInt16 = 4
        /// The type of a missing required attribute. The corresponding C constant is
        /// `NLMSGERR_ATTR_MISS_TYPE` (5).
        public static let missingType: UInt16 = 5
        /// The offset of the nest that lacks the attribute. The corresponding C constant is
        /// `NLMSGERR_ATTR_MISS_NEST` (6).
        public static let missingNest: UInt16 = 6
    }

    /// The kernel's message, without its NUL (`NLMSGERR_ATTR_MSG`): "Requested type not found".
    public var message: String?
    /// The offset of the offending attribute, in bytes from the start of the request's `nlmsghdr`
    /// (`NLMSGERR_ATTR_OFFS`).
    public var offset: UInt32?
    /// An opaque cookie (`NLMSGERR_ATTR_COOKIE`).
    public var cookie: [UInt8]?
    /// The type of a missing required attribute (`NLMSGERR_ATTR_MISS_TYPE`).
    public var missingAttributeType: UInt32?
    /// The offset of the nest that lacks it, from the start of the request (`NLMSGERR_ATTR_MISS_NEST`).
    public var missingNestOffset: UInt32?
    /// Every other attribute, `NLMSGERR_ATTR_POLICY` included, kept as received.
    public var otherAttributes: [NetlinkAttribute]

    /// Creates extended-ACK information.
    public init(
        message: String? = nil, offset: UInt32? = nil, cookie: [UInt8]? = nil, missingAttributeType: UInt32? = nil,
        missingNestOffset: UInt32? = nil, otherAttributes: [NetlinkAttribute] = []
    ) {
        self.message = message
        self.offset = offset
        self.cookie = cookie
        self.missingAttributeType = missingAttributeType
        self.missingNestOffset = missingNestOffset
        self.otherAttributes = otherAttributes
    }

    /// Whether there is nothing.
    public var isEmpty: Bool { self == ExtendedAck() }

    /// Decodes the attributes in `bytes` from `offset` on.
    /// - Throws: ``NetlinkDecodingError`` for a malformed attribute list, or an `OFFS`, `MISS_TYPE` or
    ///   `MISS_NEST` attribute that is not 4 bytes.
    public init(decoding bytes: [UInt8], from offset: Int) throws(NetlinkDecodingError) {
        self.init()
        var decoder = NetlinkAttributeDecoder(bytes, from: offset)
        while true {
            let start = decoder.offset
            guard let attribute = try decoder.next() else { break }
            func u32() throws(NetlinkDecodingError) -> UInt32 {
                do { return try attribute.uint32() } catch { throw NetlinkDecodingError(error.kind, at: start) }
            }
            switch attribute.type {
            case AttributeType.message: message = attribute.string()
            case AttributeType.offset: self.offset = try u32()
            case AttributeType.cookie: cookie = attribute.payload
            case AttributeType.missingType: missingAttributeType = try u32()
            case AttributeType.missingNest: missingNestOffset = try u32()
            default: otherAttributes.append(attribute)
            }
        }
    }

    /// The attributes on the wire, in the kernel's order (message, offset, cookie, missing type,
    /// missing nest, then the others).
    public func encoded() throws(NetlinkEncodingError) -> [UInt8] {
        var encoder = NetlinkAttributeEncoder()
        if let message { try encoder.append(type: AttributeType.message, string: message) }
        if let offset { try encoder.append(type: AttributeType.offset, uint32: offset) }
        if let cookie { try encoder.append(type: AttributeType.cookie, payload: cookie) }
        if let missingAttributeType { try encoder.append(type: AttributeType.missingType, uint32: missingAttributeType) }
        if let missingNestOffset { try encoder.append(type: AttributeType.missingNest, uint32: missingNestOffset) }
        for attribute in otherAttributes { try encoder.append(attribute) }
        return encoder.bytes
    }
}

/// A decoded `NLMSG_DONE`: the end of a dump, with the dump's error code (0, or a negative errno when
/// the dump failed part-way) and, with `NLM_F_ACK_TLVS`, extended-ACK attributes.
public struct NetlinkDone: Hashable, Sendable {
    /// The dump's error code: 0 or a negative errno. The corresponding kernel field is
    /// `dump_done_errno`.
    public var code: Int32
    /// The extended-ACK attributes.
    public var extendedAck: ExtendedAck

    /// The error number of a failed dump, positive; `nil` when the dump succeeded.
    public var errno: Errno? { code == 0 ? nil : Errno(rawValue: code == .min ? .max : code < 0 ? -code : code) }

    /// Creates a value.
    public init(code: Int32 = 0, extendedAck: ExtendedAck = ExtendedAck()) {
        self.code = code
        self.extendedAck = extendedAck
    }

    /// Decodes an `NLMSG_DONE` message. A payload shorter than 4 bytes (some families send none) means
    /// success.
    /// - Throws: ``NetlinkDecodingError`` for malformed extended-ACK attributes.
    public init(decoding message: NetlinkMessage) throws(NetlinkDecodingError) {
        precondition(message.type == .done, "NetlinkDone(decoding:) needs an NLMSG_DONE message")
        let payload = message.payload
        code = payload.count >= 4 ? payload.hostInteger(at: 0) : 0
        extendedAck = ExtendedAck()
        if message.flags.contains(.acknowledgementTLVs), payload.count > 4 {
            extendedAck = try ExtendedAck(decoding: payload, from: 4)
        }
    }

    /// The `NLMSG_DONE` message as the kernel sends it (`netlink_dump_done`): flags `NLM_F_MULTI`,
    /// plus `NLM_F_ACK_TLVS` with extended-ACK attributes and whatever `extraFlags` says
    /// (`NLM_F_DUMP_INTR`).
    public func message(
        sequence: UInt32, portID: UInt32, extraFlags: NetlinkMessageFlags = []
    ) throws(NetlinkEncodingError) -> NetlinkMessage {
        var payload: [UInt8] = []
        payload.appendHostInteger(code)
        var flags: NetlinkMessageFlags = [.multipart]
        flags.formUnion(extraFlags)
        let tlvs = try extendedAck.encoded()
        if !tlvs.isEmpty {
            flags.insert(.acknowledgementTLVs)
            payload.append(contentsOf: tlvs)
        }
        return NetlinkMessage(type: .done, flags: flags, sequence: sequence, portID: portID, payload: payload)
    }
}
