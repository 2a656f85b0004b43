// A netlink message (header + payload) and the framing of datagrams: one datagram carries one or more
// messages, each padded to 4 bytes (`NLMSG_ALIGN`).

/// A netlink message: a header and the payload that follows it (a family header, then attributes; or
/// a `struct nlmsgerr`; or a dump's end).
///
/// The payload excludes the padding that aligns the next message. ``header``'s ``NetlinkHeader/length``
/// is kept as received; ``encoded()`` writes the length of the actual payload.
public struct NetlinkMessage: Hashable, Sendable, CustomStringConvertible {
    /// The header, as received or as it will be sent (its length is recomputed on encoding).
    public var header: NetlinkHeader
    /// The bytes after the header, up to `nlmsg_len`.
    public var payload: [UInt8]

    /// Creates a message from a header and a payload, setting the header's length to match.
    public init(header: NetlinkHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
        self.header.length = UInt32(truncatingIfNeeded: NetlinkHeader.size + payload.count)
    }

    /// Creates a message.
    ///
    /// - Parameters:
    ///   - type: the message type.
    ///   - flags: the message flags.
    ///   - sequence: the sequence number.
    ///   - portID: 0 for a message to the kernel; the kernel puts the requester's port id here.
    ///   - payload: the bytes after the header (family header and attributes).
    public init(
        type: NetlinkMessageType, flags: NetlinkMessageFlags = [], sequence: UInt32 = 0, portID: UInt32 = 0,
        payload: [UInt8] = []
    ) {
        self.init(
            header: NetlinkHeader(length: 0, type: type, flags: flags, sequence: sequence, portID: portID),
            payload: payload)
    }

    /// The message type.
    public var type: NetlinkMessageType { header.type }
    /// The message flags.
    public var flags: NetlinkMessageFlags { header.flags }

    /// Appends the message to `bytes`: header (with `nlmsg_len` = 16 + payload), payload, and zero
    /// padding to a multiple of 4. `bytes` must already be 4-aligned for the next message to be.
    public func encode(into bytes: inout [UInt8]) {
        var header = self.header
        header.length = UInt32(truncatingIfNeeded: NetlinkHeader.size + payload.count)
        header.encode(into: &bytes)
        bytes.append(contentsOf: payload)
        bytes.padToAlignment()
    }

    /// The message on the wire, padded to a multiple of 4 bytes.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(netlinkAlign(NetlinkHeader.size + payload.count))
        encode(into: &bytes)
        return bytes
    }

    /// Several messages in one buffer, each 4-aligned: what one `send` of a netlink batch carries.
    ///
    /// The corresponding libmnl facility is `mnl_nlmsg_batch`.
    public static func batch(_ messages: [NetlinkMessage]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(messages.reduce(0) { $0 + netlinkAlign(NetlinkHeader.size + $1.payload.count) })
        for message in messages { message.encode(into: &bytes) }
        return bytes
    }

    /// Splits a received buffer into its messages.
    ///
    /// Each message must have a complete header, an `nlmsg_len` of at least 16, and fit the buffer;
    /// the next message starts at the 4-aligned end of the previous one. As in the kernel's
    /// `nlmsg_ok` / `nlmsg_next` (and libmnl's `mnl_nlmsg_ok`), the padding after the last message may
    /// be missing. Anything else after the last message is an error; nothing is silently dropped.
    ///
    /// - Parameter buffer: the bytes of one datagram.
    /// - Returns: the messages, in order; none for an empty buffer.
    /// - Throws: ``NetlinkDecodingError`` with the offset of the message that is malformed.
    public static func split(_ buffer: [UInt8]) throws(NetlinkDecodingError) -> [NetlinkMessage] {
        let frames = try buffer.withUnsafeBytesThrowing { raw throws(NetlinkDecodingError) in try Self.frames(in: raw) }
        return frames.map { NetlinkMessage(received: $0.header, payload: Array(buffer[$0.payload])) }
    }

    /// Where the messages of a received buffer lie, read in place (the socket's buffer, not a copy):
    /// each message's header and the range of its payload in `buffer`. The framing is checked as
    /// ``split(_:)`` checks it, for the whole buffer before anything is returned.
    ///
    /// - Parameter buffer: the bytes of one datagram.
    /// - Returns: the frames, in order; none for an empty buffer.
    /// - Throws: ``NetlinkDecodingError`` with the offset of the message that is malformed.
    public static func frames(in buffer: UnsafeRawBufferPointer) throws(NetlinkDecodingError) -> [NetlinkFrame] {
        var frames: [NetlinkFrame] = []
        var offset = 0
        while offset < buffer.count {
            let available = buffer.count - offset
            let header = try NetlinkHeader(decoding: buffer, at: offset)
            guard header.length >= UInt32(NetlinkHeader.size) else {
                throw NetlinkDecodingError(.messageLengthTooSmall(length: header.length), at: offset)
            }
            guard UInt64(header.length) <= UInt64(available) else {
                throw NetlinkDecodingError(.messageLengthExceedsBuffer(length: header.length, available: available), at: offset)
            }
            let end = offset + Int(header.length)
            frames.append(NetlinkFrame(header: header, payload: (offset + NetlinkHeader.size)..<end))
            offset = netlinkAlign(end)
        }
        return frames
    }

    /// A message exactly as received: the header's length is kept.
    public init(received header: NetlinkHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    /// `NLMSG_ERROR len 36 flags 0x100 seq 7 pid 4242, 20 bytes of payload`.
    public var description: String {
        "\(header.type) len \(header.length) flags \(header.flags) seq \(header.sequence) pid \(header.portID), \(payload.count) bytes of payload"
    }
}

/// One message of a received buffer, located in place: its header and where its payload lies in the
/// buffer (``NetlinkMessage/frames(in:)``). Reading a dump this way copies no payload.
public struct NetlinkFrame: Hashable, Sendable {
    /// The header, as received.
    public var header: NetlinkHeader
    /// The payload's bytes in the buffer: after the header, up to `nlmsg_len` (padding excluded).
    public var payload: Range<Int>

    /// Creates a frame.
    public init(header: NetlinkHeader, payload: Range<Int>) {
        self.header = header
        self.payload = payload
    }
}
