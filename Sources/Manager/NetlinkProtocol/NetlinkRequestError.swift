public import LinuxSystem  // Errno

/// A netlink request that did not succeed: the kernel refused it (a NACK), a dump failed or stayed
/// inconsistent, or its answer was lost or malformed. It names the operation and carries the error
/// number and, when the kernel gave them, the extended-ACK message and offset.
///
/// Failures of the socket itself (a timeout, a failed `send`) are the transport's errors, not this one.
public struct NetlinkRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why the request failed.
    public enum Kind: Hashable, Sendable {
        /// The kernel refused the request: `NLMSG_ERROR` with a negative errno.
        case rejected
        /// The dump failed part-way: `NLMSG_DONE` with a negative errno.
        case dumpFailed
        /// Every attempt at the dump was interrupted (`NLM_F_DUMP_INTR`) by concurrent changes; errno
        /// `EINTR`, as libmnl reports it.
        case dumpInterrupted(attempts: Int)
        /// The kernel sent `NLMSG_OVERRUN`; errno `ENOBUFS`.
        case overrun
        /// The socket's receive queue overran (`ENOBUFS`) before the answer arrived: the answer is lost
        /// and whether the kernel applied the request is unknown.
        case receiveQueueOverflow
        /// The answer (`NLMSG_ERROR` or `NLMSG_DONE`) could not be decoded; errno `EBADMSG`.
        case malformedReply(NetlinkDecodingError)
    }

    /// Why the request failed.
    public var kind: Kind
    /// What the request did (``NetlinkRequest/operationName``).
    public var operation: String
    /// The request's message type.
    public var type: NetlinkMessageType
    /// The request's sequence number.
    public var sequence: UInt32
    /// The error number (positive).
    public var errno: Errno
    /// The kernel's extended-ACK message (`NLMSGERR_ATTR_MSG`), if any.
    public var message: String?
    /// The offset of the offending attribute in the request, from the start of its `nlmsghdr`
    /// (`NLMSGERR_ATTR_OFFS`), if any.
    public var offset: UInt32?
    /// The NACK as received, for ``Kind/rejected``.
    public var reply: NetlinkError?

    /// Creates an error.
    public init(
        _ kind: Kind, operation: String, type: NetlinkMessageType, sequence: UInt32, errno: Errno,
        message: String? = nil, offset: UInt32? = nil, reply: NetlinkError? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.type = type
        self.sequence = sequence
        self.errno = errno
        self.message = message
        self.offset = offset
        self.reply = reply
    }

    /// `netlink: add SA (seq 7): Protocol not supported (EPROTONOSUPPORT): Requested type not found`.
    public var description: String {
        var text = "netlink: \(operation) (seq \(sequence)): "
        switch kind {
        case .dumpInterrupted(let attempts):
            text += "dump interrupted by concurrent changes \(attempts) times (NLM_F_DUMP_INTR)"
        case .overrun:
            text += "the kernel reported lost data (NLMSG_OVERRUN)"
        case .receiveQueueOverflow:
            text += "the receive queue overran (ENOBUFS) before the answer arrived; the request's effect is unknown"
        case .malformedReply(let error):
            text += "malformed answer: \(error)"
        case .rejected, .dumpFailed:
            text += errno.messageAndName
            if let message { text += ": \(message)" }
            if let offset { text += " (attribute at byte \(offset) of the request)" }
        }
        return text
    }
}

extension NetlinkExchange {
    /// The exchange's result: the replies, or the error its outcome means; `nil` while it is in
    /// progress.
    public var result: Result<[NetlinkMessage], NetlinkRequestError>? {
        guard let outcome else { return nil }
        func failure(
            _ kind: NetlinkRequestError.Kind, _ errno: Errno, _ ack: ExtendedAck = ExtendedAck(), _ reply: NetlinkError? = nil
        ) -> Result<[NetlinkMessage], NetlinkRequestError> {
            .failure(
                NetlinkRequestError(
                    kind, operation: request.operationName, type: request.type, sequence: sequence, errno: errno,
                    message: ack.message, offset: ack.offset, reply: reply))
        }
        switch outcome {
        case .acknowledged(let replies), .completed(let replies):
            return .success(replies)
        case .dumpInterrupted:
            return failure(.dumpInterrupted(attempts: 1), .interrupted)
        case .rejected(let error):
            return failure(.rejected, error.errno ?? .invalidArgument, error.extendedAck, error)
        case .dumpFailed(let done):
            return failure(.dumpFailed, done.errno ?? .invalidArgument, done.extendedAck)
        case .overrun:
            return failure(.overrun, .noBufferSpace)
        case .malformed(let error):
            return failure(.malformedReply(error), .badMessage)
        }
    }
}
