// The netlink message header (`struct nlmsghdr`, linux/netlink.h), its message types and flags.
//
// Layout (16 bytes, 4-aligned, host byte order; Specs/kernel/layouts.md §1.5):
//   0  nlmsg_len    u32  length of the message including this header, excluding trailing padding
//   4  nlmsg_type   u16
//   6  nlmsg_flags  u16
//   8  nlmsg_seq    u32
//   12 nlmsg_pid    u32  port id: 0 in requests to the kernel; the requester's port in the kernel's replies

/// A netlink message header. The corresponding C type is `struct nlmsghdr`.
///
/// All fields are in host byte order. ``length`` counts the header and the payload but not the padding
/// that aligns the next message to 4 bytes.
public struct NetlinkHeader: Hashable, Sendable, CustomStringConvertible {
    /// The size of the header on the wire: 16. The corresponding C constant is `NLMSG_HDRLEN`.
    public static let size = 16

    /// The length of the message, header included, padding excluded. The corresponding C field is
    /// `nlmsg_len`.
    public var length: UInt32
    /// The message type. The corresponding C field is `nlmsg_type`.
    public var type: NetlinkMessageType
    /// The message flags. The corresponding C field is `nlmsg_flags`.
    public var flags: NetlinkMessageFlags
    /// The sequence number that ties replies to a request. The corresponding C field is `nlmsg_seq`.
    public var sequence: UInt32
    /// The port id: 0 in a request to the kernel, the requester's port id in the kernel's replies.
    /// The corresponding C field is `nlmsg_pid`.
    public var portID: UInt32

    /// Creates a header.
    public init(length: UInt32, type: NetlinkMessageType, flags: NetlinkMessageFlags, sequence: UInt32, portID: UInt32) {
        self.length = length
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    /// Reads a header from `bytes` at `offset`, without checking ``length`` against anything.
    ///
    /// - Throws: ``NetlinkDecodingError/Kind/truncatedHeader(available:)`` when fewer than 16 bytes
    ///   remain at `offset`.
    public init(decoding bytes: [UInt8], at offset: Int = 0) throws(NetlinkDecodingError) {
        self = try bytes.withUnsafeBytesThrowing { raw throws(NetlinkDecodingError) in try NetlinkHeader(decoding: raw, at: offset) }
    }

    /// Reads a header from received bytes in place (a datagram in the socket's buffer), as
    /// the initializer over an array does.
    ///
    /// - Throws: ``NetlinkDecodingError/Kind/truncatedHeader(available:)`` when fewer than 16 bytes
    ///   remain at `offset`.
    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws(NetlinkDecodingError) {
        guard offset >= 0, bytes.count - offset >= Self.size else {
            throw NetlinkDecodingError(.truncatedHeader(available: max(0, bytes.count - offset)), at: offset)
        }
        self.init(
            length: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self),
            type: NetlinkMessageType(rawValue: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)),
            flags: NetlinkMessageFlags(rawValue: bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self)),
            sequence: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self),
            portID: bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
    }

    /// Appends the 16 header bytes to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        bytes.appendHostInteger(length)
        bytes.appendHostInteger(type.rawValue)
        bytes.appendHostInteger(flags.rawValue)
        bytes.appendHostInteger(sequence)
        bytes.appendHostInteger(portID)
    }

    /// The 16 header bytes.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.size)
        encode(into: &bytes)
        return bytes
    }

    /// `len 300 type 0x13 flags 0x5 seq 7 pid 0`.
    public var description: String {
        "len \(length) type \(type) flags \(flags) seq \(sequence) pid \(portID)"
    }
}

/// A netlink message type: one of the four control types every family shares, or a family's own type
/// (at least ``minimumFamilyType``; for XFRM, `XFRM_MSG_NEWSA` = 16 and up).
///
/// A struct rather than an enum, so that every 16-bit value round-trips.
public struct NetlinkMessageType: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The C value of the type (`nlmsg_type`).
    public let rawValue: UInt16

    /// Creates a type from its C value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Creates a type from an integer literal.
    public init(integerLiteral value: UInt16) { self.rawValue = value }

    /// Nothing; to be ignored. The corresponding C constant is `NLMSG_NOOP` (1).
    public static let noop = NetlinkMessageType(rawValue: 1)
    /// An acknowledgement (error 0) or an error report (negative errno), followed by the request's
    /// header; a ``NetlinkError``. The corresponding C constant is `NLMSG_ERROR` (2).
    public static let error = NetlinkMessageType(rawValue: 2)
    /// The end of a multipart message (a dump). The corresponding C constant is `NLMSG_DONE` (3).
    public static let done = NetlinkMessageType(rawValue: 3)
    /// Data lost. The corresponding C constant is `NLMSG_OVERRUN` (4).
    public static let overrun = NetlinkMessageType(rawValue: 4)
    /// The first type a netlink family may use for its own messages; below it are control messages.
    /// The corresponding C constant is `NLMSG_MIN_TYPE` (0x10).
    public static let minimumFamilyType = NetlinkMessageType(rawValue: 0x10)

    /// Whether this is a control message (`NLMSG_NOOP`, `_ERROR`, `_DONE`, `_OVERRUN`, or another type
    /// below `NLMSG_MIN_TYPE`).
    public var isControl: Bool { rawValue < Self.minimumFamilyType.rawValue }

    /// The C name of a control type (`"NLMSG_ERROR"`), or `nil`.
    public var controlName: String? {
        switch rawValue {
        case 1: "NLMSG_NOOP"
        case 2: "NLMSG_ERROR"
        case 3: "NLMSG_DONE"
        case 4: "NLMSG_OVERRUN"
        default: nil
        }
    }

    /// `NLMSG_ERROR` for a control type, else the number in hexadecimal (`0x13`).
    public var description: String {
        controlName ?? "0x" + String(rawValue, radix: 16)
    }
}

/// The flags of a netlink message (`nlmsg_flags`).
///
/// The high byte is interpreted per request kind, so several names share a value: for a GET request
/// 0x100 is ``root``, for a NEW request ``replace``, for a DELETE request ``nonRecursive``, and in an
/// acknowledgement ``capped``.
public struct NetlinkMessageFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The C value of the flags.
    public let rawValue: UInt16

    /// Creates flags from their C value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    // Standard flags.
    /// The message is a request. The corresponding C constant is `NLM_F_REQUEST` (0x1).
    public static let request = NetlinkMessageFlags(rawValue: 0x1)
    /// The message is part of a multipart reply ended by `NLMSG_DONE`. The corresponding C constant is
    /// `NLM_F_MULTI` (0x2).
    public static let multipart = NetlinkMessageFlags(rawValue: 0x2)
    /// Reply with an acknowledgement (an `NLMSG_ERROR` with error 0) on success. The corresponding C
    /// constant is `NLM_F_ACK` (0x4).
    public static let acknowledge = NetlinkMessageFlags(rawValue: 0x4)
    /// Echo this request. The corresponding C constant is `NLM_F_ECHO` (0x8).
    public static let echo = NetlinkMessageFlags(rawValue: 0x8)
    /// The dump was inconsistent because the data changed while it was produced: restart it. The
    /// corresponding C constant is `NLM_F_DUMP_INTR` (0x10).
    public static let dumpInterrupted = NetlinkMessageFlags(rawValue: 0x10)
    /// The dump was filtered as requested. The corresponding C constant is `NLM_F_DUMP_FILTERED` (0x20).
    public static let dumpFiltered = NetlinkMessageFlags(rawValue: 0x20)

    // Modifiers of a GET request.
    /// Return the complete table instead of a single entry. The corresponding C constant is
    /// `NLM_F_ROOT` (0x100).
    public static let root = NetlinkMessageFlags(rawValue: 0x100)
    /// Return all matching entries. The corresponding C constant is `NLM_F_MATCH` (0x200).
    public static let match = NetlinkMessageFlags(rawValue: 0x200)
    /// Atomic GET. The corresponding C constant is `NLM_F_ATOMIC` (0x400).
    public static let atomic = NetlinkMessageFlags(rawValue: 0x400)
    /// A dump: ``root`` and ``match``. The corresponding C constant is `NLM_F_DUMP` (0x300).
    public static let dump: NetlinkMessageFlags = [.root, .match]

    // Modifiers of a NEW request.
    /// Replace an existing entry. The corresponding C constant is `NLM_F_REPLACE` (0x100).
    public static let replace = NetlinkMessageFlags(rawValue: 0x100)
    /// Do not touch an entry that already exists. The corresponding C constant is `NLM_F_EXCL` (0x200).
    public static let exclusive = NetlinkMessageFlags(rawValue: 0x200)
    /// Create the entry if it does not exist. The corresponding C constant is `NLM_F_CREATE` (0x400).
    public static let create = NetlinkMessageFlags(rawValue: 0x400)
    /// Add to the end of the list. The corresponding C constant is `NLM_F_APPEND` (0x800).
    public static let append = NetlinkMessageFlags(rawValue: 0x800)

    // Modifiers of a DELETE request.
    /// Do not delete recursively. The corresponding C constant is `NLM_F_NONREC` (0x100).
    public static let nonRecursive = NetlinkMessageFlags(rawValue: 0x100)
    /// Delete several objects. The corresponding C constant is `NLM_F_BULK` (0x200).
    public static let bulk = NetlinkMessageFlags(rawValue: 0x200)

    // Flags of an acknowledgement (`NLMSG_ERROR`).
    /// The request's payload was not echoed: only its header follows the error code. The
    /// corresponding C constant is `NLM_F_CAPPED` (0x100).
    public static let capped = NetlinkMessageFlags(rawValue: 0x100)
    /// Extended-ACK attributes (`NLMSGERR_ATTR_*`) follow the echoed request. The corresponding C
    /// constant is `NLM_F_ACK_TLVS` (0x200).
    public static let acknowledgementTLVs = NetlinkMessageFlags(rawValue: 0x200)

    /// `0x5`, the flags in hexadecimal.
    public var description: String { "0x" + String(rawValue, radix: 16) }
}
