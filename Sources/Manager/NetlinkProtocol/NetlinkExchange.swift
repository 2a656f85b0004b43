// The request/reply protocol of netlink as a state machine without I/O: a request gets a sequence
// number; received messages are matched to it (sender, port id, sequence number) and decide when it is
// finished: an ACK or a NACK (NLMSG_ERROR), the end of a dump (NLMSG_DONE), or NLMSG_OVERRUN. A socket
// layer feeds it what it receives; tests feed it messages directly.

/// A request to send: the message type, flags, payload, and whether it is a dump.
public struct NetlinkRequest: Hashable, Sendable {
    /// How the kernel answers the request.
    public enum Kind: Hashable, Sendable {
        /// An ordinary request (NEW, DEL, GET of one object, FLUSH, …): sent with `NLM_F_REQUEST |
        /// NLM_F_ACK`, answered by replies, if any, then an ACK or a NACK.
        case request
        /// A dump (GET of a table): sent with `NLM_F_REQUEST | NLM_F_DUMP`, answered by multipart
        /// messages and `NLMSG_DONE`, or a NACK.
        case dump
        /// A change with no reply when it succeeds (NEW, UPD, DEL, FLUSH): alone, or last in a batch,
        /// it is sent as a ``request``. Earlier in a batch it is sent with `NLM_F_REQUEST` alone, so
        /// that the kernel answers it only to refuse it (`netlink_rcv_skb` acknowledges a message
        /// without `NLM_F_ACK` only when its handler failed); the answer to a later request of the
        /// batch then says it succeeded, because the kernel handles and answers a batch's messages
        /// in order. A batch of thousands of changes is then answered by its refusals and one ACK,
        /// not one datagram per change (Specs/manager/wire-format.md §3, "Acknowledgements").
        case change
    }

    /// How the kernel answers the request. It cannot be read from the flags: `NLM_F_DUMP`'s bits are
    /// `NLM_F_EXCL | NLM_F_REPLACE` in a NEW request.
    public var kind: Kind
    /// The message type (for XFRM, `XFRM_MSG_NEWSA` = 16, …).
    public var type: NetlinkMessageType
    /// Flags besides the ones ``kind`` implies (`NLM_F_CREATE`, `NLM_F_EXCL`, …).
    public var flags: NetlinkMessageFlags
    /// The payload: family header and attributes.
    public var payload: [UInt8]
    /// What the request does, for error messages (`"add SA"`); `nil` names it by type.
    public var operation: String?

    /// Creates a request.
    public init(
        _ kind: Kind = .request, type: NetlinkMessageType, flags: NetlinkMessageFlags = [], payload: [UInt8] = [],
        operation: String? = nil
    ) {
        self.kind = kind
        self.type = type
        self.flags = flags
        self.payload = payload
        self.operation = operation
    }

    /// The flags sent: ``flags`` plus `NLM_F_REQUEST`, plus `NLM_F_ACK` for a request or `NLM_F_DUMP`
    /// for a dump. (The kernel never acknowledges a dump; `NLMSG_DONE` ends it.)
    public var effectiveFlags: NetlinkMessageFlags {
        flags.union(kind == .dump ? [.request, .dump] : [.request, .acknowledge])
    }

    /// The flags sent for a ``Kind/change`` answered by a later request of its batch: without
    /// `NLM_F_ACK`.
    public var quietFlags: NetlinkMessageFlags {
        kind == .change ? flags.union(.request) : effectiveFlags
    }

    /// The request's name for messages: ``operation``, or `message type 0x10`.
    public var operationName: String { operation ?? "message type \(type)" }

    /// The message to send with `sequence` (port id 0: the kernel).
    public func message(sequence: UInt32, quiet: Bool = false) -> NetlinkMessage {
        NetlinkMessage(type: type, flags: quiet ? quietFlags : effectiveFlags, sequence: sequence, portID: 0, payload: payload)
    }
}

/// Sequence numbers for requests: increasing, wrapping around, never 0 (the kernel's notifications
/// use 0).
public struct NetlinkSequenceNumbers: Hashable, Sendable {
    /// The number the next call to ``next()`` returns.
    public private(set) var upcoming: UInt32

    /// Starts at `first` (1 if `first` is 0).
    public init(first: UInt32) { upcoming = first == 0 ? 1 : first }

    /// Returns a number and advances.
    public mutating func next() -> UInt32 {
        let value = upcoming
        upcoming = upcoming == .max ? 1 : upcoming + 1
        return value
    }
}

/// Where a datagram came from, as the receiving socket reports it (`struct sockaddr_nl`).
public struct NetlinkSender: Hashable, Sendable {
    /// The sender's port id: 0 for the kernel. The corresponding C field is `nl_pid`.
    public var portID: UInt32
    /// The multicast group the datagram was sent to (1 for the lowest), or 0 for a unicast datagram.
    /// Derived from the C field `nl_groups`, a bit mask.
    public var group: UInt32

    /// Creates a sender.
    public init(portID: UInt32 = 0, group: UInt32 = 0) {
        self.portID = portID
        self.group = group
    }

    /// The kernel, unicast: where replies come from.
    public static let kernel = NetlinkSender()

    /// Whether the datagram was multicast (a notification).
    public var isMulticast: Bool { group != 0 }
}

/// Why a received message was not taken as part of an exchange.
public enum NetlinkIgnoredReason: Hashable, Sendable {
    /// The datagram did not come from the kernel (sender port id ≠ 0).
    case notFromKernel(senderPortID: UInt32)
    /// The datagram was a multicast notification, not a reply.
    case multicast(group: UInt32)
    /// `nlmsg_pid` is not this socket's port id.
    case portMismatch(expected: UInt32, received: UInt32)
    /// `nlmsg_seq` belongs to no request in progress.
    case sequenceMismatch(received: UInt32)
    /// An `NLMSG_NOOP`.
    case noop
    /// A message for a request that has already finished.
    case afterCompletion
}

/// One request's exchange with the kernel, without I/O: built from a request and a sequence number, it
/// gives the message to send, then takes the received messages one by one and says what each means.
///
/// Only messages from the kernel (sender port id 0), unicast, carrying this socket's port id in
/// `nlmsg_pid` and this request's sequence number count; anything else is ignored and counted
/// (``ignoredCount``), never returned as a reply. The exchange finishes with:
/// - an `NLMSG_ERROR` with error 0: ``Outcome/acknowledged(_:)``, with the replies before it (a GET
///   of one object answers with a reply, then the ACK);
/// - an `NLMSG_ERROR` with a negative errno: ``Outcome/rejected(_:)``;
/// - `NLMSG_DONE`: ``Outcome/completed(_:)``, or ``Outcome/dumpInterrupted(_:)`` when a part of the
///   dump carried `NLM_F_DUMP_INTR` (the data changed while it was dumped: restart the dump), or
///   ``Outcome/dumpFailed(_:)`` when `NLMSG_DONE` carries an errno;
/// - `NLMSG_OVERRUN`: ``Outcome/overrun``;
/// - an `NLMSG_ERROR` or `NLMSG_DONE` for this request that cannot be decoded: ``Outcome/malformed(_:)``.
///
/// ```swift
/// var exchange = NetlinkExchange(request, sequence: numbers.next(), portID: socket.portID)
/// send(exchange.message)
/// while exchange.outcome == nil {
///     for message in receive() { exchange.consume(message, from: .kernel) }
/// }
/// ```
public struct NetlinkExchange: Sendable {
    /// What a received message meant.
    public enum Step: Hashable, Sendable {
        /// A reply that is not part of a dump; the exchange waits for the ACK.
        case reply
        /// A part of a multipart reply (a dump); the exchange waits for `NLMSG_DONE`. `interrupted`:
        /// the part carried `NLM_F_DUMP_INTR`.
        case dumpPart(interrupted: Bool)
        /// The message is not for this exchange.
        case ignored(NetlinkIgnoredReason)
        /// The exchange is finished.
        case finished(Outcome)
    }

    /// How an exchange ended.
    public enum Outcome: Hashable, Sendable {
        /// The kernel acknowledged the request (`NLMSG_ERROR`, error 0); the replies that came first.
        case acknowledged([NetlinkMessage])
        /// A multipart reply ended with `NLMSG_DONE`, error 0; the replies.
        case completed([NetlinkMessage])
        /// The dump ended, but a part carried `NLM_F_DUMP_INTR`: its contents may be inconsistent, and
        /// the dump must be restarted. The replies, for inspection.
        case dumpInterrupted([NetlinkMessage])
        /// The kernel refused the request (`NLMSG_ERROR` with a negative errno).
        case rejected(NetlinkError)
        /// The dump failed part-way (`NLMSG_DONE` with a negative errno).
        case dumpFailed(NetlinkDone)
        /// The kernel reported lost data (`NLMSG_OVERRUN`).
        case overrun
        /// An `NLMSG_ERROR` or `NLMSG_DONE` for this request could not be decoded.
        case malformed(NetlinkDecodingError)
    }

    /// The request.
    public let request: NetlinkRequest
    /// The message to send: the request with its sequence number.
    public let message: NetlinkMessage
    /// This socket's port id: replies must carry it in `nlmsg_pid`. 0 accepts any.
    public let portID: UInt32
    /// Whether replies are kept in ``replies`` and in the outcome. A dump read as it arrives
    /// (``consume(header:payload:from:)``, the caller handing each part on) keeps none: its outcome
    /// then carries no replies.
    public let keepsReplies: Bool
    /// The replies so far.
    public private(set) var replies: [NetlinkMessage] = []
    /// How the exchange ended; `nil` while it is in progress.
    public private(set) var outcome: Outcome?
    /// Whether a part of the dump carried `NLM_F_DUMP_INTR`.
    public private(set) var sawDumpInterrupted = false
    /// The messages not taken, by reason, in order of arrival.
    public private(set) var ignored: [NetlinkIgnoredReason] = []

    /// Creates the exchange for `request` with `sequence`.
    ///
    /// - Parameters:
    ///   - request: what to send.
    ///   - sequence: the request's sequence number (from ``NetlinkSequenceNumbers``).
    ///   - portID: this socket's port id; replies carry it.
    ///   - keepingReplies: whether to keep the replies (``keepsReplies``).
    public init(_ request: NetlinkRequest, sequence: UInt32, portID: UInt32, keepingReplies: Bool = true) {
        self.init(request, sequence: sequence, portID: portID, quiet: false, keepingReplies: keepingReplies)
    }

    /// `quiet`: a ``NetlinkRequest/Kind/change`` sent without `NLM_F_ACK`, which its batch finishes
    /// (``NetlinkBatchExchange``).
    init(_ request: NetlinkRequest, sequence: UInt32, portID: UInt32, quiet: Bool, keepingReplies: Bool = true) {
        self.request = request
        self.isQuiet = quiet && request.kind == .change
        self.message = request.message(sequence: sequence, quiet: isQuiet)
        self.portID = portID
        self.keepsReplies = keepingReplies
    }

    /// Whether the request was sent without `NLM_F_ACK`: the kernel answers it only to refuse it.
    public let isQuiet: Bool

    /// The sequence number.
    public var sequence: UInt32 { message.header.sequence }

    /// Whether the exchange is finished (it has an ``outcome``).
    public private(set) var isFinished = false

    /// How many messages were ignored.
    public var ignoredCount: Int { ignored.count }

    /// Why a message would not be taken by any exchange of this socket, before looking at its sequence
    /// number: not from the kernel, multicast, another port id, `NLMSG_NOOP`.
    public static func rejection(of message: NetlinkMessage, from sender: NetlinkSender, portID: UInt32) -> NetlinkIgnoredReason? {
        rejection(of: message.header, from: sender, portID: portID)
    }

    /// Why a message with this header would not be taken by any exchange of this socket (see
    /// ``rejection(of:from:portID:)-(NetlinkMessage,_,_)``).
    public static func rejection(of header: NetlinkHeader, from sender: NetlinkSender, portID: UInt32) -> NetlinkIgnoredReason? {
        if sender.portID != 0 { return .notFromKernel(senderPortID: sender.portID) }
        if sender.isMulticast { return .multicast(group: sender.group) }
        if portID != 0 && header.portID != portID {
            return .portMismatch(expected: portID, received: header.portID)
        }
        if header.type == .noop { return .noop }
        return nil
    }

    /// Takes one received message.
    ///
    /// - Parameters:
    ///   - received: a message, as split from a datagram.
    ///   - sender: where the datagram came from.
    /// - Returns: what the message meant for this exchange.
    @discardableResult
    public mutating func consume(_ received: NetlinkMessage, from sender: NetlinkSender = .kernel) -> Step {
        if let reason = refusal(of: received.header, from: sender) { return ignore(reason) }
        return take(received)
    }

    /// Takes one received message read in place: its header and its payload in the receive buffer
    /// (``NetlinkMessage/frames(in:)``). The same as ``consume(_:from:)``, without copying the
    /// payload of a part that is not kept (``keepsReplies``); the caller reads a ``Step/dumpPart(interrupted:)``
    /// or ``Step/reply`` from `payload` before the buffer is reused.
    @discardableResult
    public mutating func consume(header: NetlinkHeader, payload: UnsafeRawBufferPointer, from sender: NetlinkSender = .kernel) -> Step {
        if let reason = refusal(of: header, from: sender) { return ignore(reason) }
        return take(header, payload: payload)
    }

    /// Why this exchange does not take a message with `header`, or `nil` when it does.
    private func refusal(of header: NetlinkHeader, from sender: NetlinkSender) -> NetlinkIgnoredReason? {
        if let reason = Self.rejection(of: header, from: sender, portID: portID) { return reason }
        guard header.sequence == sequence else { return .sequenceMismatch(received: header.sequence) }
        guard !isFinished else { return .afterCompletion }
        return nil
    }

    /// Takes a message already matched to this exchange by sequence number (the batch does the
    /// matching).
    internal mutating func take(_ received: NetlinkMessage) -> Step {
        if received.flags.contains(.dumpInterrupted) { sawDumpInterrupted = true }
        switch received.type {
        case .error:
            let error: NetlinkError
            do {
                error = try NetlinkError(decoding: received)
            } catch {
                return finish(.malformed(error))
            }
            return finish(error.isAcknowledgement ? .acknowledged(replies) : .rejected(error))
        case .done:
            let done: NetlinkDone
            do {
                done = try NetlinkDone(decoding: received)
            } catch {
                return finish(.malformed(error))
            }
            if done.code != 0 { return finish(.dumpFailed(done)) }
            return finish(sawDumpInterrupted ? .dumpInterrupted(replies) : .completed(replies))
        case .overrun:
            return finish(.overrun)
        default:
            return takePart(received.header) { received }
        }
    }

    /// Takes a message read in place, already matched to this exchange (the batch does the matching).
    internal mutating func take(_ header: NetlinkHeader, payload: UnsafeRawBufferPointer) -> Step {
        switch header.type {
        case .error, .done, .overrun:
            // The end of the exchange: rare, decoded from a copy.
            return take(NetlinkMessage(received: header, payload: Array(payload)))
        default:
            if header.flags.contains(.dumpInterrupted) { sawDumpInterrupted = true }
            return takePart(header) { NetlinkMessage(received: header, payload: Array(payload)) }
        }
    }

    /// A reply or a part of a dump: kept when ``keepsReplies``.
    private mutating func takePart(_ header: NetlinkHeader, _ message: () -> NetlinkMessage) -> Step {
        if keepsReplies { replies.append(message()) }
        if header.flags.contains(.multipart) || request.kind == .dump {
            return .dumpPart(interrupted: header.flags.contains(.dumpInterrupted))
        }
        return .reply
    }

    /// Finishes a quiet exchange the kernel has passed without refusing it (it answered a later
    /// message of the batch).
    internal mutating func finishUnrefused() -> Step {
        finish(.acknowledged(replies))
    }

    internal mutating func ignore(_ reason: NetlinkIgnoredReason) -> Step {
        ignored.append(reason)
        return .ignored(reason)
    }

    private mutating func finish(_ outcome: Outcome) -> Step {
        self.outcome = outcome
        isFinished = true
        return .finished(outcome)
    }
}

/// Several exchanges sent in one datagram (a netlink batch): received messages go to the exchange whose
/// sequence number they carry. The kernel processes a batch's messages in order and answers each in
/// order, so every request gets its own ACK or NACK, except a ``NetlinkRequest/Kind/change`` that is
/// not last: it is sent without `NLM_F_ACK`, answered only if refused, and finished as acknowledged
/// as soon as a later exchange of the batch hears from the kernel.
public struct NetlinkBatchExchange: Sendable {
    /// The exchanges, in the order of the requests.
    public private(set) var exchanges: [NetlinkExchange]
    /// This socket's port id.
    public let portID: UInt32
    /// The messages no exchange took, by reason.
    public private(set) var ignored: [NetlinkIgnoredReason] = []
    private var indexBySequence: [UInt32: Int] = [:]
    private var unfinished: Int
    /// Quiet exchanges before this index are finished.
    private var quietSettled = 0

    /// Creates exchanges for `requests`, numbering them with `sequenceNumbers`; `keepingReplies`
    /// false for dumps whose parts the caller takes as they arrive (``NetlinkExchange/keepsReplies``).
    public init(
        _ requests: [NetlinkRequest], sequenceNumbers: inout NetlinkSequenceNumbers, portID: UInt32, keepingReplies: Bool = true
    ) {
        var exchanges: [NetlinkExchange] = []
        exchanges.reserveCapacity(requests.count)
        for request in requests {
            var sequence = sequenceNumbers.next()
            while indexBySequence[sequence] != nil { sequence = sequenceNumbers.next() }  // a batch over 2^32 requests
            indexBySequence[sequence] = exchanges.count
            let last = exchanges.count == requests.count - 1
            exchanges.append(NetlinkExchange(request, sequence: sequence, portID: portID, quiet: !last, keepingReplies: keepingReplies))
        }
        self.exchanges = exchanges
        self.portID = portID
        self.unfinished = exchanges.count
    }

    /// The messages to send, in order: one datagram.
    public var messages: [NetlinkMessage] { exchanges.map(\.message) }

    /// Whether every exchange is finished.
    public var isFinished: Bool { unfinished == 0 }

    /// How many messages were ignored.
    public var ignoredCount: Int { ignored.count }

    /// Takes one received message.
    /// - Returns: the index of the exchange that took it and what it meant, or `nil` and the reason it
    ///   was ignored.
    @discardableResult
    public mutating func consume(
        _ received: NetlinkMessage, from sender: NetlinkSender = .kernel
    ) -> (index: Int?, step: NetlinkExchange.Step) {
        route(received.header, from: sender) { $0.take(received) }
    }

    /// Takes one received message read in place (``NetlinkExchange/consume(header:payload:from:)``).
    /// - Returns: as ``consume(_:from:)``.
    @discardableResult
    public mutating func consume(
        header: NetlinkHeader, payload: UnsafeRawBufferPointer, from sender: NetlinkSender = .kernel
    ) -> (index: Int?, step: NetlinkExchange.Step) {
        route(header, from: sender) { $0.take(header, payload: payload) }
    }

    /// Finds the exchange a message with `header` is for and lets it `take` the message; or says
    /// why no exchange takes it. One path for messages copied and messages read in place.
    private mutating func route(
        _ header: NetlinkHeader, from sender: NetlinkSender, _ take: (inout NetlinkExchange) -> NetlinkExchange.Step
    ) -> (index: Int?, step: NetlinkExchange.Step) {
        if let reason = NetlinkExchange.rejection(of: header, from: sender, portID: portID) {
            ignored.append(reason)
            return (nil, .ignored(reason))
        }
        guard let index = indexBySequence[header.sequence] else {
            let reason = NetlinkIgnoredReason.sequenceMismatch(received: header.sequence)
            ignored.append(reason)
            return (nil, .ignored(reason))
        }
        guard !exchanges[index].isFinished else {
            ignored.append(.afterCompletion)
            return (index, exchanges[index].ignore(.afterCompletion))
        }
        // The kernel has handled every message before this one: a quiet exchange it did not refuse
        // by now succeeded.
        while quietSettled < index {
            if exchanges[quietSettled].isQuiet && !exchanges[quietSettled].isFinished {
                _ = exchanges[quietSettled].finishUnrefused()
                unfinished -= 1
            }
            quietSettled += 1
        }
        let step = take(&exchanges[index])
        if case .finished = step { unfinished -= 1 }
        return (index, step)
    }
}
