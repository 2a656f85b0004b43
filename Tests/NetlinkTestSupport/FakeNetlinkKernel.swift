// A fake kernel at message level, for tests of code that talks netlink through a NetlinkTransport
// (NetlinkConnection and the layers above it). It is scripted as a function from the requests of one
// sent datagram to what the next receives return — datagrams, receive-queue overflows, malformed
// bytes — with helpers for the kernel's usual answers. It imitates the kernel's messages, not a
// socket.

import LinuxSystem
import NetlinkProtocol

/// A scripted netlink kernel that a `NetlinkConnection` can run over instead of a socket.
///
/// ```swift
/// let kernel = FakeNetlinkKernel.eachRequest { request, kernel in
///     request.type == 0x10 ? kernel.nack(request, .protocolNotSupported, message: "Requested type not found")
///                          : kernel.ack(request)
/// }
/// let connection = NetlinkConnection(transport: kernel)
/// ```
public final class FakeNetlinkKernel: NetlinkTransport {
    /// What one receive returns.
    public enum Delivery: Hashable, Sendable {
        /// A datagram of messages.
        case datagram(NetlinkDatagram)
        /// The receive queue overran (`ENOBUFS`).
        case overflow
        /// Bytes that are not well-formed netlink: the receive throws the framing error.
        case malformed([UInt8])

        /// A datagram from the kernel, unicast.
        public static func messages(_ messages: [NetlinkMessage]) -> Delivery {
            .datagram(NetlinkDatagram(messages, from: .kernel))
        }
    }

    /// Thrown by a receive when the script has nothing more to deliver (where a socket would time out).
    public struct NothingToReceive: Error, Hashable, Sendable, CustomStringConvertible {
        /// Creates the error.
        public init() {}
        /// A sentence.
        public var description: String { "fake kernel: nothing to receive (a socket would time out)" }
    }

    /// The script: from the messages of one sent datagram to the deliveries they cause, in order.
    public typealias Script = (_ requests: [NetlinkMessage], _ kernel: FakeNetlinkKernel) throws -> [Delivery]

    /// The port id of the connection's end; replies carry it in `nlmsg_pid`.
    public let portID: UInt32
    /// Every datagram sent, as messages, in order.
    public private(set) var sentDatagrams: [[NetlinkMessage]] = []
    /// The groups joined and not left.
    public private(set) var joinedGroups: Set<UInt32> = []
    /// What the next receives return, in order. Tests may append to it (``inject(_:)``).
    public var queue: [Delivery] = []
    /// How many receives were served.
    public private(set) var receiveCount = 0

    private let script: Script

    /// Creates a fake kernel.
    /// - Parameters:
    ///   - portID: the connection's port id.
    ///   - script: the kernel's behavior.
    public init(portID: UInt32 = 0x0001_E240, script: @escaping Script) {
        self.portID = portID
        self.script = script
    }

    /// A fake kernel that answers each request on its own: `answer` gives the deliveries for one
    /// request message.
    public static func eachRequest(
        portID: UInt32 = 0x0001_E240, _ answer: @escaping (_ request: NetlinkMessage, _ kernel: FakeNetlinkKernel) throws -> [Delivery]
    ) -> FakeNetlinkKernel {
        FakeNetlinkKernel(portID: portID) { requests, kernel in
            try requests.flatMap { try answer($0, kernel) }
        }
    }

    /// Every message sent, in order.
    public var sentMessages: [NetlinkMessage] { sentDatagrams.flatMap { $0 } }

    /// Adds deliveries to the queue (unsolicited notifications, an overflow).
    public func inject(_ deliveries: Delivery...) {
        queue += deliveries
    }

    // MARK: NetlinkTransport

    /// Records the datagram and queues the script's answer.
    public func send(messages: [NetlinkMessage]) throws {
        // Through the wire format and back, as a socket would carry them.
        let datagram = try NetlinkMessage.split(NetlinkMessage.batch(messages))
        sentDatagrams.append(datagram)
        queue += try script(datagram, self)
    }

    /// Returns the next delivery.
    /// - Throws: ``NothingToReceive`` when the queue is empty; a `NetlinkDecodingError` for a
    ///   ``Delivery/malformed(_:)`` delivery.
    public func receiveMessages() throws -> NetlinkReception {
        guard !queue.isEmpty else { throw NothingToReceive() }
        receiveCount += 1
        switch queue.removeFirst() {
        case .overflow:
            return .overflow
        case .datagram(let datagram):
            // Through the wire format and back.
            return .datagram(NetlinkDatagram(try NetlinkMessage.split(NetlinkMessage.batch(datagram.messages)), from: datagram.sender))
        case .malformed(let bytes):
            return .datagram(NetlinkDatagram(try NetlinkMessage.split(bytes)))
        }
    }

    /// Records the group.
    public func join(group: UInt32) throws { joinedGroups.insert(group) }

    /// Forgets the group.
    public func leave(group: UInt32) throws { joinedGroups.remove(group) }

    // MARK: Answers

    /// The ACK for `request`, as a kernel with `NETLINK_CAP_ACK` sends it: `NLMSG_ERROR`, error 0,
    /// `NLM_F_CAPPED`, the request's header.
    public func ack(_ request: NetlinkMessage) -> NetlinkMessage {
        try! NetlinkError(code: 0, request: request.header).message(sequence: request.header.sequence, portID: portID)
    }

    /// A NACK for `request`: `NLMSG_ERROR` with `-errno`, the request's header (and payload unless
    /// `capped`), and extended-ACK attributes for `message` and `offset`.
    public func nack(
        _ request: NetlinkMessage, _ errno: Errno, message: String? = nil, offset: UInt32? = nil, capped: Bool = true
    ) -> NetlinkMessage {
        let error = NetlinkError(
            code: -errno.rawValue, request: request.header, requestPayload: capped ? nil : request.payload,
            extendedAck: ExtendedAck(message: message, offset: offset))
        return try! error.message(sequence: request.header.sequence, portID: portID)
    }

    /// A reply to `request` that is not part of a dump.
    public func reply(to request: NetlinkMessage, type: NetlinkMessageType? = nil, flags: NetlinkMessageFlags = [], payload: [UInt8]) -> NetlinkMessage {
        NetlinkMessage(type: type ?? request.type, flags: flags, sequence: request.header.sequence, portID: portID, payload: payload)
    }

    /// The `NLMSG_DONE` that ends a dump for `request`.
    public func done(_ request: NetlinkMessage, code: Int32 = 0, message: String? = nil, flags: NetlinkMessageFlags = []) -> NetlinkMessage {
        try! NetlinkDone(code: code, extendedAck: ExtendedAck(message: message))
            .message(sequence: request.header.sequence, portID: portID, extraFlags: flags)
    }

    /// A multipart answer to a dump request: one message per payload (type `type`, or the request's),
    /// flagged `NLM_F_MULTI` (and `NLM_F_DUMP_INTR` when `interrupted`), then `NLMSG_DONE`, split into
    /// datagrams of at most `perDatagram` messages, as the kernel fills one buffer per receive.
    public func dump(
        _ request: NetlinkMessage, type: NetlinkMessageType? = nil, payloads: [[UInt8]], perDatagram: Int = 2,
        interrupted: Bool = false
    ) -> [Delivery] {
        let extra: NetlinkMessageFlags = interrupted ? [.dumpInterrupted] : []
        var messages = payloads.map {
            reply(to: request, type: type, flags: NetlinkMessageFlags.multipart.union(extra), payload: $0)
        }
        messages.append(done(request, flags: extra))
        return stride(from: 0, to: messages.count, by: max(1, perDatagram)).map {
            .messages(Array(messages[$0..<min($0 + max(1, perDatagram), messages.count)]))
        }
    }

    /// Messages that are not answers to `request`, each in its own datagram: a wrong sequence number, a
    /// wrong port id, a datagram from another socket (port ≠ 0), a multicast notification, an
    /// `NLMSG_NOOP`. A connection must ignore (and count) every one.
    public func strangers(for request: NetlinkMessage, multicastGroup: UInt32 = 4) -> [Delivery] {
        let sequence = request.header.sequence
        let wrongSequence = NetlinkMessage(type: .error, sequence: sequence &+ 1000, portID: portID, payload: nackPayload(request, sequence &+ 1000))
        let wrongPort = NetlinkMessage(type: .error, sequence: sequence, portID: portID &+ 1, payload: nackPayload(request, sequence))
        let fromUser = NetlinkMessage(type: .error, sequence: sequence, portID: portID, payload: nackPayload(request, sequence))
        let notification = NetlinkMessage(type: request.type, sequence: sequence, portID: portID, payload: request.payload)
        let noop = NetlinkMessage(type: .noop, sequence: sequence, portID: portID)
        return [
            .messages([wrongSequence]),
            .messages([wrongPort]),
            .datagram(NetlinkDatagram([fromUser], from: NetlinkSender(portID: 777))),
            .datagram(NetlinkDatagram([notification], from: NetlinkSender(portID: 0, group: multicastGroup))),
            .messages([noop]),
        ]
    }

    /// The payload of a NACK (`EPERM`, "stranger") for `request` with `sequence`.
    private func nackPayload(_ request: NetlinkMessage, _ sequence: UInt32) -> [UInt8] {
        var header = request.header
        header.sequence = sequence
        let error = NetlinkError(code: -Errno.notPermitted.rawValue, request: header, extendedAck: ExtendedAck(message: "stranger"))
        return try! error.message(sequence: sequence, portID: portID).payload
    }

    // MARK: Behaviors

    /// A kernel that answers every dump request with `payloads`, but the first one with
    /// `NLM_F_DUMP_INTR` on every part (the data changed while it was dumped), and ACKs everything else.
    public static func dumpInterruptedOnFirstAttempt(
        portID: UInt32 = 0x0001_E240, payloads: [[UInt8]], interruptedAttempts: Int = 1
    ) -> FakeNetlinkKernel {
        var attempts = 0
        return eachRequest(portID: portID) { request, kernel in
            guard request.flags.isSuperset(of: .dump) else { return [.messages([kernel.ack(request)])] }
            attempts += 1
            return kernel.dump(request, payloads: payloads, interrupted: attempts <= interruptedAttempts)
        }
    }
}
