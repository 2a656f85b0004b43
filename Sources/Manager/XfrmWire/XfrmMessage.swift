public import NetlinkProtocol

/// `XFRM_MSG_*` message types (Specs/kernel/layouts.md §2.1).
public struct XfrmMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let newSA = Self(rawValue: 16)  // XFRM_MSG_NEWSA
    public static let delSA = Self(rawValue: 17)  // XFRM_MSG_DELSA
    public static let getSA = Self(rawValue: 18)  // XFRM_MSG_GETSA
    public static let newPolicy = Self(rawValue: 19)  // XFRM_MSG_NEWPOLICY
    public static let delPolicy = Self(rawValue: 20)  // XFRM_MSG_DELPOLICY
    public static let getPolicy = Self(rawValue: 21)  // XFRM_MSG_GETPOLICY
    public static let allocSPI = Self(rawValue: 22)  // XFRM_MSG_ALLOCSPI
    public static let acquire = Self(rawValue: 23)  // XFRM_MSG_ACQUIRE
    public static let expire = Self(rawValue: 24)  // XFRM_MSG_EXPIRE
    public static let updPolicy = Self(rawValue: 25)  // XFRM_MSG_UPDPOLICY
    public static let updSA = Self(rawValue: 26)  // XFRM_MSG_UPDSA
    public static let polExpire = Self(rawValue: 27)  // XFRM_MSG_POLEXPIRE
    public static let flushSA = Self(rawValue: 28)  // XFRM_MSG_FLUSHSA
    public static let flushPolicy = Self(rawValue: 29)  // XFRM_MSG_FLUSHPOLICY
    public static let migrate = Self(rawValue: 33)  // XFRM_MSG_MIGRATE

    public var netlink: NetlinkMessageType { NetlinkMessageType(rawValue: rawValue) }

    /// `XFRM_MSG_NEWSA`, … (a table built once; this is called for every request's error context).
    public var description: String {
        let i = Int(rawValue) - 16
        return i >= 0 && i < Self.names.count ? Self.names[i] : "type \(rawValue)"
    }

    private static let names = [
        "NEWSA", "DELSA", "GETSA", "NEWPOLICY", "DELPOLICY", "GETPOLICY", "ALLOCSPI", "ACQUIRE", "EXPIRE",
        "UPDPOLICY", "UPDSA", "POLEXPIRE", "FLUSHSA", "FLUSHPOLICY", "NEWAE", "GETAE", "REPORT", "MIGRATE",
    ].map { "XFRM_MSG_" + $0 }
}

/// An XFRM netlink message: the netlink header fields and a typed body.
///
/// Decoding keeps everything the kernel sends (unknown attributes, unknown message types, the
/// padding after a 1-byte `xfrm_usersa_flush`), so ``encoded()`` reproduces the received bytes.
public struct XfrmMessage: Hashable, Sendable {
    /// The body: the fixed struct the type calls for and the attributes after it.
    public enum Body: Hashable, Sendable {
        /// NEWSA, UPDSA (requests, dump entries, notifications, the reply to GETSA and ALLOCSPI).
        case sa(XfrmUserSAInfo, [XfrmAttribute])
        /// DELSA, GETSA (requests; a DELSA notification carries the SA in `XFRMA_SA`).
        case saID(XfrmUserSAID, [XfrmAttribute])
        /// ALLOCSPI.
        case allocSPI(XfrmUserSPIInfo, [XfrmAttribute])
        /// FLUSHSA; `padding` holds the bytes between the 1-byte struct and the attributes (none in
        /// iproute2's 17-byte request, 3 zero bytes in the kernel's 20-byte notification).
        case flushSA(XfrmUserSAFlush, padding: [UInt8], [XfrmAttribute])
        /// NEWPOLICY, UPDPOLICY.
        case policy(XfrmUserPolicyInfo, [XfrmAttribute])
        /// DELPOLICY, GETPOLICY (by selector or by index; DELPOLICY notifications carry the entry in
        /// `XFRMA_POLICY`); MIGRATE (the SPD entry by selector, direction and `XFRMA_POLICY_TYPE`, the
        /// SAs' moves in `XFRMA_MIGRATE`).
        case policyID(XfrmUserPolicyID, [XfrmAttribute])
        /// FLUSHPOLICY: attributes only (`XFRMA_POLICY_TYPE`).
        case flushPolicy([XfrmAttribute])
        /// A GETSA or GETPOLICY with `NLM_F_DUMP`: attributes only (`XFRMA_ADDRESS_FILTER`).
        case dump([XfrmAttribute])
        /// ACQUIRE.
        case acquire(XfrmUserAcquire, [XfrmAttribute])
        /// EXPIRE.
        case expire(XfrmUserExpire, [XfrmAttribute])
        /// POLEXPIRE.
        case policyExpire(XfrmUserPolExpire, [XfrmAttribute])
        /// Any other type: the payload as received.
        case unknown([UInt8])

        /// The attributes (none for ``unknown(_:)``).
        public var attributes: [XfrmAttribute] {
            switch self {
            case .sa(_, let a), .saID(_, let a), .allocSPI(_, let a), .flushSA(_, _, let a), .policy(_, let a), .policyID(_, let a),
                .flushPolicy(let a), .dump(let a), .acquire(_, let a), .expire(_, let a), .policyExpire(_, let a):
                a
            case .unknown: []
            }
        }
    }

    /// `nlmsg_type`.
    public var type: XfrmMessageType
    /// `nlmsg_flags`.
    public var flags: NetlinkMessageFlags
    /// `nlmsg_seq`.
    public var sequence: UInt32
    /// `nlmsg_pid`: 0 to the kernel.
    public var portID: UInt32
    public var body: Body

    public init(type: XfrmMessageType, flags: NetlinkMessageFlags, sequence: UInt32 = 0, portID: UInt32 = 0, body: Body) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.body = body
    }

    /// Decodes a message split from a datagram by `NetlinkMessage.split`.
    ///
    /// Control messages (`NLMSG_ERROR`, `NLMSG_DONE`, …) and types this module does not know become
    /// ``Body/unknown(_:)``.
    /// - Throws: ``XfrmWireError`` with the offset from the start of the message (header included).
    public init(decoding message: NetlinkMessage) throws(XfrmWireError) {
        type = XfrmMessageType(rawValue: message.header.type.rawValue)
        flags = message.header.flags
        sequence = message.header.sequence
        portID = message.header.portID
        let p = message.payload
        let h = NetlinkHeader.size
        do {
            switch type {
            case .newSA, .updSA:
                body = .sa(try XfrmUserSAInfo(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserSAInfo.size))
            case .getSA where flags.contains(.dump), .getPolicy where flags.contains(.dump):
                body = .dump(try Self.attributes(p, from: 0))
            case .delSA, .getSA:
                body = .saID(try XfrmUserSAID(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserSAID.size))
            case .allocSPI:
                body = .allocSPI(try XfrmUserSPIInfo(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserSPIInfo.size))
            case .flushSA:
                let flush = try XfrmUserSAFlush(decoding: p, at: 0)
                let start = min(4, p.count)
                body = .flushSA(flush, padding: Array(p[1..<start]), try Self.attributes(p, from: start))
            case .newPolicy, .updPolicy:
                body = .policy(try XfrmUserPolicyInfo(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserPolicyInfo.size))
            case .delPolicy, .getPolicy, .migrate:
                body = .policyID(try XfrmUserPolicyID(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserPolicyID.size))
            case .flushPolicy:
                body = .flushPolicy(try Self.attributes(p, from: 0))
            case .acquire:
                body = .acquire(try XfrmUserAcquire(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserAcquire.size))
            case .expire:
                body = .expire(try XfrmUserExpire(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserExpire.size))
            case .polExpire:
                body = .policyExpire(try XfrmUserPolExpire(decoding: p, at: 0), try Self.attributes(p, from: XfrmUserPolExpire.size))
            default:
                body = .unknown(p)
            }
        } catch {
            throw error.shifted(by: h)
        }
    }

    /// Splits a datagram and decodes every message in it.
    /// - Throws: ``XfrmWireError`` (``XfrmWireError/Code/malformedNetlink`` for framing errors),
    ///   with the offset in the datagram.
    public static func decodeAll(_ datagram: [UInt8]) throws(XfrmWireError) -> [XfrmMessage] {
        let messages: [NetlinkMessage]
        do {
            messages = try NetlinkMessage.split(datagram)
        } catch {
            throw XfrmWireError(.malformedNetlink, at: error.offset, error.description)
        }
        var result: [XfrmMessage] = []
        var offset = 0
        for message in messages {
            do {
                result.append(try XfrmMessage(decoding: message))
            } catch {
                throw error.shifted(by: offset)
            }
            offset += (Int(message.header.length) + 3) & ~3
        }
        return result
    }

    /// Decodes the attributes of a payload from `start`, with offsets relative to the payload.
    static func attributes(_ payload: [UInt8], from start: Int) throws(XfrmWireError) -> [XfrmAttribute] {
        var result: [XfrmAttribute] = []
        try payload.withUnsafeBytesThrowing { raw throws(XfrmWireError) in
            try forEachAttribute(raw, from: start) { result.append($0) }
        }
        return result
    }

    /// Decodes the attributes of a payload read in place from `start`, handing each to `body` in
    /// order, with offsets relative to the payload (as ``attributes(_:from:)``).
    static func forEachAttribute(
        _ payload: UnsafeRawBufferPointer, from start: Int, _ body: (XfrmAttribute) -> Void
    ) throws(XfrmWireError) {
        var offset = min(max(0, start), payload.count)
        while true {
            let frame: (rawType: UInt16, payload: Range<Int>, next: Int)?
            do {
                frame = try NetlinkAttributeDecoder.frame(in: payload, at: offset)
            } catch {
                throw XfrmWireError(.badAttributeLength, at: error.offset, error.description)
            }
            guard let frame else { return }
            do {
                body(try XfrmAttribute(rawType: frame.rawType, payload: UnsafeRawBufferPointer(rebasing: payload[frame.payload])))
            } catch {
                throw error.shifted(by: offset + NetlinkAttribute.headerSize)
            }
            offset = frame.next
        }
    }

    /// The payload: the fixed struct, then the attributes, each padded to 4 bytes.
    /// - Throws: ``XfrmWireError/Code/tooLong`` when an attribute does not fit `nla_len`.
    public func payload() throws(XfrmWireError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        let attributes: [XfrmAttribute]
        switch body {
        case .sa(let s, let a): s.encode(into: &bytes); attributes = a
        case .saID(let s, let a): s.encode(into: &bytes); attributes = a
        case .allocSPI(let s, let a): s.encode(into: &bytes); attributes = a
        case .flushSA(let s, let padding, let a): s.encode(into: &bytes); bytes += padding; attributes = a
        case .policy(let s, let a): s.encode(into: &bytes); attributes = a
        case .policyID(let s, let a): s.encode(into: &bytes); attributes = a
        case .flushPolicy(let a), .dump(let a): attributes = a
        case .acquire(let s, let a): s.encode(into: &bytes); attributes = a
        case .expire(let s, let a): s.encode(into: &bytes); attributes = a
        case .policyExpire(let s, let a): s.encode(into: &bytes); attributes = a
        case .unknown(let p): return p
        }
        var encoder = NetlinkAttributeEncoder()
        for attribute in attributes {
            do {
                if case .other(let raw) = attribute {
                    try encoder.append(raw)
                } else {
                    try encoder.append(type: attribute.type.rawValue, payload: attribute.payload)
                }
            } catch {
                throw XfrmWireError(.tooLong, at: NetlinkHeader.size + bytes.count + encoder.bytes.count, error.description)
            }
        }
        if !attributes.isEmpty {
            while bytes.count % 4 != 0 { bytes.append(0) }
        }
        bytes.append(contentsOf: encoder.bytes)
        return bytes
    }

    /// The netlink message.
    public func netlinkMessage() throws(XfrmWireError) -> NetlinkMessage {
        NetlinkMessage(type: type.netlink, flags: flags, sequence: sequence, portID: portID, payload: try payload())
    }

    /// The message on the wire: header with `nlmsg_len` = 16 + payload, payload, padding to 4.
    public func encoded() throws(XfrmWireError) -> [UInt8] {
        try netlinkMessage().encoded()
    }
}
