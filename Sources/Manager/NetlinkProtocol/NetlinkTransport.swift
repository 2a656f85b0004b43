// The seam between the netlink connection and what carries its messages: the real socket
// (NetlinkSocket) or a scripted fake kernel in tests (NetlinkTestSupport). It is at message level —
// messages out, messages in with their sender — so a fake need not imitate a socket.

/// The messages of one received datagram and where the datagram came from.
public struct NetlinkDatagram: Hashable, Sendable {
    /// The messages, in order.
    public var messages: [NetlinkMessage]
    /// The sender: the kernel (port 0) unicast for replies; a multicast group for notifications.
    public var sender: NetlinkSender

    /// Creates a datagram.
    public init(_ messages: [NetlinkMessage], from sender: NetlinkSender = .kernel) {
        self.messages = messages
        self.sender = sender
    }
}

/// What one receive produced.
public enum NetlinkReception: Hashable, Sendable {
    /// A datagram.
    case datagram(NetlinkDatagram)
    /// The socket's receive queue overran and messages were lost (`ENOBUFS` from `recvmsg`). Replies
    /// or notifications are missing; a monitor must resynchronize with a fresh dump.
    case overflow
}

/// Something that sends netlink messages to the kernel and receives its answers: a socket, or a fake
/// kernel in tests. `NetlinkConnection` talks to the kernel only through this protocol.
public protocol NetlinkTransport: AnyObject {
    /// The local port id: the kernel's replies carry it in `nlmsg_pid`.
    var portID: UInt32 { get }

    /// Sends messages to the kernel in one datagram (a batch when there are several), each encoded
    /// as given.
    func send(messages: [NetlinkMessage]) throws

    /// Waits for one datagram and returns its messages, or ``NetlinkReception/overflow``.
    /// - Throws: when the wait times out or the receive fails; a ``NetlinkDecodingError`` when the
    ///   datagram is not well-formed netlink.
    func receiveMessages() throws -> NetlinkReception

    /// Waits for one datagram and hands its bytes to `body` where they were received, without
    /// splitting them into messages (``NetlinkMessage/frames(in:)`` does that in place): the way to
    /// read a large dump without copying it. The bytes are valid only during the call.
    /// - Returns: `body`'s result, or `nil` when the receive queue overran (`ENOBUFS`; see
    ///   ``NetlinkReception/overflow``) and `body` was not called.
    /// - Throws: what ``receiveMessages()`` throws, and what `body` throws.
    func receiveDatagram<R>(_ body: (UnsafeRawBufferPointer, NetlinkSender) throws -> R) throws -> R?

    /// Joins a multicast group (for XFRM, `XFRMNLGRP_*`).
    func join(group: UInt32) throws

    /// Leaves a multicast group.
    func leave(group: UInt32) throws
}

extension NetlinkTransport {
    /// The datagram ``receiveMessages()`` returns, its messages encoded back one after the other
    /// (for transports that work at message level, such as a fake kernel in tests).
    public func receiveDatagram<R>(_ body: (UnsafeRawBufferPointer, NetlinkSender) throws -> R) throws -> R? {
        switch try receiveMessages() {
        case .overflow:
            return nil
        case .datagram(let datagram):
            var bytes: [UInt8] = []
            for message in datagram.messages { message.encode(into: &bytes) }
            return try bytes.withUnsafeBytes { try body($0, datagram.sender) }
        }
    }
}
