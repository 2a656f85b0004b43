// The netlink transport between the codecs and the socket: requests with ACKs, dumps that restart when
// interrupted, batches in one send, and a monitor for multicast notifications. The protocol decisions
// are NetlinkExchange's (NetlinkProtocol); this file moves messages through a NetlinkTransport and
// traces them when SALABEL_NLDEBUG=1.

internal import Glibc
public import LinuxSystem

/// A notification from a multicast group, or the news that some were lost.
public enum NetlinkNotification: Hashable, Sendable {
    /// A message the kernel multicast to `group` (for XFRM, `XFRMNLGRP_*`).
    case message(NetlinkMessage, group: UInt32)
    /// The socket's receive queue overran (`ENOBUFS`): notifications were lost. The caller must
    /// resynchronize, for example with a fresh dump.
    case overflow
}

/// A netlink connection to the kernel: requests and their answers, dumps, batches, notifications.
///
/// ```swift
/// let connection = try NetlinkConnection(namespace: .named("blue"))
/// let policies = try connection.dump(type: 0x15)                       // XFRM_MSG_GETPOLICY
/// try connection.request(type: 0x13, flags: [.create, .exclusive], payload: policy)   // XFRM_MSG_NEWPOLICY
/// ```
///
/// Every request is sent with `NLM_F_ACK`, so it always ends with an ACK or a NACK; only the kernel's
/// unicast replies with this request's sequence number and this socket's port id are taken, anything
/// else is ignored and counted (``ignoredMessageCount``). Multicast notifications that arrive while a
/// request waits are kept for ``nextNotification()`` once the connection has joined a group.
///
/// With `SALABEL_NLDEBUG=1` in the environment, every message sent and received is written to standard
/// error in the layout of libmnl's `mnl_nlmsg_fprintf` (see ``NetlinkTrace``).
///
/// One owner at a time, like the socket: not `Sendable`.
public final class NetlinkConnection {
    /// How many requests ``requests(_:)`` sends in one datagram at most: 64. The kernel queues one
    /// answer per request on the socket and drops answers that overflow the receive buffer, so a batch
    /// is sent in parts whose answers fit, each part after the previous one's answers arrived.
    public static let defaultMaximumBatchCount = 64
    /// How many bytes ``requests(_:)`` sends in one datagram at most (unless a single request is
    /// larger): 64 KiB, well under the default socket send buffer.
    public static let defaultMaximumBatchBytes = 65536
    /// How many notifications are kept while requests run before the oldest give way to an
    /// ``NetlinkNotification/overflow``: 4096.
    public static let maximumPendingNotifications = 4096

    /// What carries the messages: a ``NetlinkSocket``, or a fake kernel in tests.
    public let transport: any NetlinkTransport
    /// The most requests per datagram in ``requests(_:)``.
    public var maximumBatchCount = NetlinkConnection.defaultMaximumBatchCount
    /// The most bytes per datagram in ``requests(_:)``.
    public var maximumBatchBytes = NetlinkConnection.defaultMaximumBatchBytes
    /// The size of each message type's family header, for the trace's `extra header` rows (the XFRM
    /// layer knows them: 168 for `XFRM_MSG_NEWPOLICY`, …). 0 by default.
    public var extraHeaderSize: (NetlinkMessageType) -> Int = { _ in 0 }
    /// Where the trace goes; `nil` for no trace. Standard error when `SALABEL_NLDEBUG=1`.
    public var trace: ((String) -> Void)?

    /// How many received messages were not taken: not from the kernel, for another port id or
    /// sequence number (a late answer to an abandoned request), `NLMSG_NOOP`, unsolicited.
    public private(set) var ignoredMessageCount = 0
    /// Why the last ignored message was ignored.
    public private(set) var lastIgnoredReason: NetlinkIgnoredReason?

    private var sequenceNumbers: NetlinkSequenceNumbers
    private var joinedGroups: Set<UInt32> = []
    private var pending: [NetlinkNotification] = []
    private var pendingStart = 0

    /// Creates a connection over a transport.
    ///
    /// - Parameters:
    ///   - transport: a ``NetlinkSocket`` or a fake kernel.
    ///   - firstSequence: the first sequence number; random by default (as iproute2 seeds it from the
    ///     clock), so that a new connection does not take answers meant for an old one.
    ///   - trace: where to write the trace; by default standard error when `SALABEL_NLDEBUG=1`.
    public init(
        transport: any NetlinkTransport, firstSequence: UInt32? = nil,
        trace: ((String) -> Void)? = NetlinkConnection.environmentTrace()
    ) {
        self.transport = transport
        self.sequenceNumbers = NetlinkSequenceNumbers(first: firstSequence ?? UInt32.random(in: 1...UInt32.max))
        self.trace = trace
    }

    /// Opens a ``NetlinkSocket`` and creates a connection over it.
    ///
    /// - Parameters:
    ///   - protocol: the netlink family; XFRM by default.
    ///   - namespace: the network namespace; `nil` for the caller's.
    ///   - receiveTimeout: how long a receive waits before the call fails; 5 seconds by default.
    /// - Throws: ``NetlinkSocketError``.
    public convenience init(
        protocol netlinkProtocol: NetlinkProtocol = .xfrm, namespace: NetworkNamespace? = nil,
        receiveTimeout: Duration? = .seconds(5)
    ) throws(NetlinkSocketError) {
        let socket = try NetlinkSocket(protocol: netlinkProtocol, namespace: namespace, receiveTimeout: receiveTimeout)
        self.init(transport: socket)
    }

    /// The trace to standard error when the environment has `SALABEL_NLDEBUG=1`, else `nil`.
    public static func environmentTrace() -> ((String) -> Void)? {
        guard let value = getenv("SALABEL_NLDEBUG"), String(cString: value) == "1" else { return nil }
        return { text in
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { raw in
                    valueOrErrno { write(2, raw.baseAddress! + offset, raw.count - offset) }
                }
                guard case .success(let count) = written, count > 0 else { return }  // stderr closed: drop the trace
                offset += count
            }
        }
    }

    /// The local port id.
    public var portID: UInt32 { transport.portID }

    // MARK: - Requests

    /// Sends a request with `NLM_F_ACK` and waits for its answer.
    ///
    /// - Parameters:
    ///   - type: the message type (for XFRM, `XFRM_MSG_NEWSA` = 16, …).
    ///   - flags: flags besides `NLM_F_REQUEST | NLM_F_ACK` (`NLM_F_CREATE`, `NLM_F_EXCL`, …).
    ///   - payload: the family header and attributes.
    ///   - operation: what the request does, for error messages.
    /// - Returns: the replies before the ACK (none for NEW/DEL; the object for a GET).
    /// - Throws: ``NetlinkRequestError`` when the kernel refuses the request (errno, extended-ACK
    ///   message and offset) or the answer is lost; the transport's errors (a timeout).
    @discardableResult
    public func request(
        type: NetlinkMessageType, flags: NetlinkMessageFlags = [], payload: [UInt8] = [], operation: String? = nil
    ) throws -> [NetlinkMessage] {
        try perform([NetlinkRequest(.request, type: type, flags: flags, payload: payload, operation: operation)])[0].get()
    }

    /// Dumps a table: sends a request with `NLM_F_DUMP` and collects the multipart answer up to
    /// `NLMSG_DONE`. A dump interrupted by concurrent changes (`NLM_F_DUMP_INTR`) is read to its end,
    /// then started again, up to `maximumAttempts` times.
    ///
    /// - Parameters:
    ///   - type: the message type (for XFRM, `XFRM_MSG_GETSA` = 18, `XFRM_MSG_GETPOLICY` = 21).
    ///   - flags: flags besides `NLM_F_REQUEST | NLM_F_DUMP`.
    ///   - payload: the family header and attributes (a filter), if any.
    ///   - operation: what the request does, for error messages.
    ///   - maximumAttempts: how many times to try; at least 1.
    /// - Returns: the dumped messages.
    /// - Throws: ``NetlinkRequestError`` (``NetlinkRequestError/Kind/dumpInterrupted(attempts:)`` when
    ///   every attempt was interrupted); the transport's errors.
    public func dump(
        type: NetlinkMessageType, flags: NetlinkMessageFlags = [], payload: [UInt8] = [], operation: String? = nil,
        maximumAttempts: Int = 5
    ) throws -> [NetlinkMessage] {
        precondition(maximumAttempts >= 1, "a dump needs at least one attempt")
        let request = NetlinkRequest(.dump, type: type, flags: flags, payload: payload, operation: operation)
        return try retryingInterrupted(maximumAttempts: maximumAttempts) { _ in try perform([request])[0] }
    }

    /// Dumps a table as the answer arrives: the request and the restarts of
    /// ``dump(type:flags:payload:operation:maximumAttempts:)``, but each part of the answer is handed
    /// to `part` where it was received — its header and its payload, valid only during the call —
    /// and nothing is collected, so a dump of any size is read without copying it.
    ///
    /// - Parameters:
    ///   - type: the message type (for XFRM, `XFRM_MSG_GETSA` = 18, `XFRM_MSG_GETPOLICY` = 21).
    ///   - flags: flags besides `NLM_F_REQUEST | NLM_F_DUMP`.
    ///   - payload: the family header and attributes (a filter), if any.
    ///   - operation: what the request does, for error messages.
    ///   - maximumAttempts: how many times to try; at least 1.
    ///   - restart: called before each attempt after the first (the previous one was interrupted by
    ///     concurrent changes), for the caller to drop what it took from it.
    ///   - part: takes one part of the answer, in order.
    /// - Throws: ``NetlinkRequestError`` as the collecting dump does; the transport's errors; what
    ///   `restart` or `part` throws, which abandons the dump.
    public func dump(
        type: NetlinkMessageType, flags: NetlinkMessageFlags = [], payload: [UInt8] = [], operation: String? = nil,
        maximumAttempts: Int = 5, restart: () throws -> Void, part: (NetlinkHeader, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        precondition(maximumAttempts >= 1, "a dump needs at least one attempt")
        let request = NetlinkRequest(.dump, type: type, flags: flags, payload: payload, operation: operation)
        try retryingInterrupted(maximumAttempts: maximumAttempts) { attempt in
            if attempt > 1 { try restart() }
            return try performInPlace(request, part: part)
        }
    }

    /// Runs a dump's attempts (`attempt` counts from 1) until one is not interrupted by concurrent
    /// changes (`NLM_F_DUMP_INTR`), at most `maximumAttempts`; the last interruption is thrown with
    /// the number of attempts.
    private func retryingInterrupted<T>(
        maximumAttempts: Int, _ attempt: (Int) throws -> Result<T, NetlinkRequestError>
    ) throws -> T {
        var n = 1
        while true {
            switch try attempt(n) {
            case .success(let value):
                return value
            case .failure(var error):
                guard case .dumpInterrupted = error.kind else { throw error }
                guard n < maximumAttempts else {
                    error.kind = .dumpInterrupted(attempts: n)
                    throw error
                }
                n += 1
            }
        }
    }

    /// Sends several requests in one datagram (a netlink batch) and collects each one's answer.
    ///
    /// The kernel handles a batch's requests in order and answers each, so one refused request does
    /// not stop the others. More than ``maximumBatchCount`` requests or ``maximumBatchBytes`` bytes are
    /// sent as several batches, each after the previous one's answers arrived.
    ///
    /// - Parameter batch: the requests, ordinary or dumps.
    /// - Returns: one result per request, in order: its replies, or the ``NetlinkRequestError`` its
    ///   answer means. When the receive queue overflows, the requests still unanswered get
    ///   ``NetlinkRequestError/Kind/receiveQueueOverflow`` and the rest of the batch is not sent.
    /// - Throws: the transport's errors (a timeout), which abandon the batch.
    public func requests(_ batch: [NetlinkRequest]) throws -> [Result<[NetlinkMessage], NetlinkRequestError>] {
        var results: [Result<[NetlinkMessage], NetlinkRequestError>] = []
        results.reserveCapacity(batch.count)
        var start = 0
        while start < batch.count {
            var end = start
            var bytes = 0
            while end < batch.count && end - start < max(1, maximumBatchCount) {
                let size = NetlinkHeader.size + netlinkAlignedSize(batch[end].payload.count)
                if end > start && bytes + size > maximumBatchBytes { break }
                bytes += size
                end += 1
            }
            let part = try perform(Array(batch[start..<end]))
            results += part
            start = end
            if part.contains(where: { if case .failure(let error) = $0, error.kind == .receiveQueueOverflow { true } else { false } }) {
                for request in batch[start...] {
                    results.append(
                        .failure(
                            NetlinkRequestError(
                                .receiveQueueOverflow, operation: request.operationName, type: request.type, sequence: 0,
                                errno: .noBufferSpace, message: "not sent: an earlier part of the batch lost its answers")))
                }
                break
            }
        }
        return results
    }

    /// Sends `requests` in one datagram and waits until each is answered.
    private func perform(_ requests: [NetlinkRequest]) throws -> [Result<[NetlinkMessage], NetlinkRequestError>] {
        var batch = NetlinkBatchExchange(requests, sequenceNumbers: &sequenceNumbers, portID: transport.portID)
        let messages = batch.messages
        trace?(
            "# salabel netlink: send \(messages.count) message\(messages.count == 1 ? "" : "s") from port \(transport.portID)\n"
                + NetlinkTrace.format(messages, extraHeaderSize: extraHeaderSize))
        try transport.send(messages: messages)

        var overflowed = false
        receiving: while !batch.isFinished {
            switch try receive() {
            case .overflow:
                // Replies and notifications alike may be lost: a monitor must hear of it too.
                if !joinedGroups.isEmpty { enqueue(.overflow) }
                overflowed = true
                break receiving
            case .datagram(let datagram):
                for message in datagram.messages {
                    if keepIfNotification(message, from: datagram.sender) { continue }
                    let (_, step) = batch.consume(message, from: datagram.sender)
                    if case .ignored(let reason) = step { noteIgnored(reason) }
                }
            }
        }

        return batch.exchanges.map { exchange in
            if let result = exchange.result { return result }
            precondition(overflowed, "an unfinished exchange after the receive loop")
            return .failure(
                NetlinkRequestError(
                    .receiveQueueOverflow, operation: exchange.request.operationName, type: exchange.request.type,
                    sequence: exchange.sequence, errno: .noBufferSpace))
        }
    }

    /// Sends one request and hands the parts of its answer to `part` as they are received, keeping
    /// none (the in-place counterpart of ``perform(_:)``).
    private func performInPlace(
        _ request: NetlinkRequest, part: (NetlinkHeader, UnsafeRawBufferPointer) throws -> Void
    ) throws -> Result<Void, NetlinkRequestError> {
        var batch = NetlinkBatchExchange([request], sequenceNumbers: &sequenceNumbers, portID: transport.portID, keepingReplies: false)
        let messages = batch.messages
        trace?(
            "# salabel netlink: send \(messages.count) message\(messages.count == 1 ? "" : "s") from port \(transport.portID)\n"
                + NetlinkTrace.format(messages, extraHeaderSize: extraHeaderSize))
        try transport.send(messages: messages)

        var overflowed = false
        while !batch.isFinished {
            let received: Void? = try transport.receiveDatagram { bytes, sender in
                let frames = try NetlinkMessage.frames(in: bytes)
                if trace != nil {
                    traceReceived(frames.map { NetlinkMessage(received: $0.header, payload: Array(bytes[$0.payload])) }, from: sender)
                }
                for frame in frames {
                    let payload = UnsafeRawBufferPointer(rebasing: bytes[frame.payload])
                    if sender.isMulticast, sender.portID == 0, !joinedGroups.isEmpty {
                        enqueue(.message(NetlinkMessage(received: frame.header, payload: Array(payload)), group: sender.group))
                        continue
                    }
                    switch batch.consume(header: frame.header, payload: payload, from: sender).step {
                    case .reply, .dumpPart: try part(frame.header, payload)
                    case .ignored(let reason): noteIgnored(reason)
                    case .finished: break
                    }
                }
            }
            if received == nil {
                trace?("# salabel netlink: receive on port \(transport.portID): ENOBUFS, the receive queue overran\n")
                if !joinedGroups.isEmpty { enqueue(.overflow) }
                overflowed = true
                break
            }
        }

        let exchange = batch.exchanges[0]
        if let result = exchange.result { return result.map { _ in () } }
        precondition(overflowed, "an unfinished exchange after the receive loop")
        return .failure(
            NetlinkRequestError(
                .receiveQueueOverflow, operation: request.operationName, type: request.type, sequence: exchange.sequence, errno: .noBufferSpace))
    }

    // MARK: - Notifications

    /// Joins a multicast group: the kernel then sends this connection its notifications (for XFRM,
    /// `XFRMNLGRP_SA` = 3, `XFRMNLGRP_POLICY` = 4, …).
    public func join(group: UInt32) throws {
        try transport.join(group: group)
        joinedGroups.insert(group)
    }

    /// Leaves a multicast group.
    public func leave(group: UInt32) throws {
        try transport.leave(group: group)
        joinedGroups.remove(group)
    }

    /// The next notification: a message from a joined multicast group, in order of arrival, or
    /// ``NetlinkNotification/overflow`` when the receive queue overran and notifications were lost —
    /// never skipped silently. Unicast messages (late answers to abandoned requests) are ignored.
    ///
    /// - Throws: the transport's errors: a timeout when nothing arrives in time.
    public func nextNotification() throws -> NetlinkNotification {
        while true {
            if pendingStart < pending.count {
                let notification = pending[pendingStart]
                pendingStart += 1
                if pendingStart == pending.count {
                    pending.removeAll(keepingCapacity: true)
                    pendingStart = 0
                }
                return notification
            }
            switch try receive() {
            case .overflow:
                return .overflow
            case .datagram(let datagram):
                for message in datagram.messages where !keepIfNotification(message, from: datagram.sender) {
                    noteIgnored(
                        NetlinkExchange.rejection(of: message, from: datagram.sender, portID: transport.portID)
                            ?? .sequenceMismatch(received: message.header.sequence))
                }
            }
        }
    }

    /// Runs `body` for each notification until it returns `false`.
    /// - Throws: what `body` or ``nextNotification()`` throws.
    public func monitor(_ body: (NetlinkNotification) throws -> Bool) throws {
        while try body(nextNotification()) {}
    }

    // MARK: - Plumbing

    private func receive() throws -> NetlinkReception {
        let reception = try transport.receiveMessages()
        switch reception {
        case .overflow:
            trace?("# salabel netlink: receive on port \(transport.portID): ENOBUFS, the receive queue overran\n")
        case .datagram(let datagram):
            traceReceived(datagram.messages, from: datagram.sender)
        }
        return reception
    }

    private func traceReceived(_ messages: [NetlinkMessage], from sender: NetlinkSender) {
        trace?(
            "# salabel netlink: received \(messages.count) message\(messages.count == 1 ? "" : "s")"
                + " on port \(transport.portID) from port \(sender.portID)"
                + (sender.isMulticast ? " (group \(sender.group))" : "") + "\n"
                + NetlinkTrace.format(messages, extraHeaderSize: extraHeaderSize))
    }

    /// Keeps a multicast message from the kernel for ``nextNotification()`` when a group is joined.
    private func keepIfNotification(_ message: NetlinkMessage, from sender: NetlinkSender) -> Bool {
        guard sender.isMulticast, sender.portID == 0, !joinedGroups.isEmpty else { return false }
        enqueue(.message(message, group: sender.group))
        return true
    }

    private func enqueue(_ notification: NetlinkNotification) {
        if pending.count - pendingStart >= Self.maximumPendingNotifications {
            // Full: the oldest give way, and the loss is reported, as the kernel reports ENOBUFS.
            pending.removeFirst(pendingStart + Self.maximumPendingNotifications / 2)
            pendingStart = 0
            pending.append(.overflow)
        }
        if notification == .overflow, pending.last == .overflow, pending.count > pendingStart { return }
        pending.append(notification)
    }

    private func noteIgnored(_ reason: NetlinkIgnoredReason) {
        ignoredMessageCount += 1
        lastIgnoredReason = reason
        trace?("# salabel netlink: ignored: \(reason)\n")
    }
}

/// The size of a payload padded to 4 bytes.
private func netlinkAlignedSize(_ count: Int) -> Int { (count + 3) & ~3 }
