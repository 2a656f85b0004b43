// NetlinkSocket as a NetlinkTransport: the message-level seam NetlinkConnection talks to. Receiving
// goes through recvmsg(2) here rather than libmnl's mnl_socket_recvfrom, which drops the sender's
// address: the connection needs it to accept only the kernel's unicast replies.

internal import CMnl
internal import Glibc
internal import LinuxSystem

extension NetlinkSocket: NetlinkTransport {
    /// Sends the messages in one datagram (one `sendto`).
    ///
    /// The corresponding C function is `mnl_socket_sendto`.
    public func send(messages: [NetlinkMessage]) throws(NetlinkSocketError) {
        try send(NetlinkMessage.batch(messages))
    }

    /// Receives one datagram and splits it into messages.
    ///
    /// - Returns: the messages with their sender, or ``NetlinkReception/overflow`` when the receive
    ///   queue overran (`ENOBUFS`).
    /// - Throws: ``NetlinkSocketError`` (a timeout: ``NetlinkSocketError/isTimeout``);
    ///   ``NetlinkDecodingError`` for a datagram that is not well-formed netlink.
    public func receiveMessages() throws -> NetlinkReception {
        let received: (bytes: [UInt8], sender: NetlinkSender)
        do {
            received = try receiveWithSender()
        } catch {
            if error.errno == .noBufferSpace { return .overflow }
            throw error
        }
        return .datagram(NetlinkDatagram(try NetlinkMessage.split(received.bytes), from: received.sender))
    }

    /// Receives one datagram with its sender address.
    ///
    /// - Throws: ``NetlinkSocketError`` for ``NetlinkSocketError/Operation/receive``, as ``receive()``
    ///   does: `Errno.noSpace` for a datagram larger than the buffer (`MSG_TRUNC`),
    ///   `Errno.noBufferSpace` when the receive queue overran.
    ///
    /// The corresponding C function is `recvmsg`.
    public func receiveWithSender() throws(NetlinkSocketError) -> (bytes: [UInt8], sender: NetlinkSender) {
        let (count, sender) = try receiveIntoBuffer()
        return (bytes: receivedBytes(count), sender: sender)
    }

    /// Receives one datagram into the socket's buffer and hands `body` the bytes there, uncopied.
    ///
    /// - Returns: `body`'s result, or `nil` when the receive queue overran (`ENOBUFS`).
    /// - Throws: ``NetlinkSocketError`` as ``receiveWithSender()``; what `body` throws. `body` must
    ///   not receive on this socket.
    ///
    /// The corresponding C function is `recvmsg`.
    public func receiveDatagram<R>(_ body: (UnsafeRawBufferPointer, NetlinkSender) throws -> R) throws -> R? {
        let received: (count: Int, sender: NetlinkSender)
        do {
            received = try receiveIntoBuffer()
        } catch {
            if error.errno == .noBufferSpace { return nil }
            throw error
        }
        return try withReceivedBytes(received.count) { try body($0, received.sender) }
    }

    /// `recvmsg` into the receive buffer: the byte count and the sender.
    private func receiveIntoBuffer() throws(NetlinkSocketError) -> (count: Int, sender: NetlinkSender) {
        let fd = fileDescriptor
        var address = sockaddr_nl()
        var messageFlags: Int32 = 0
        var addressLength = socklen_t(0)
        let count = try withReceiveBuffer { raw in
            withUnsafeMutablePointer(to: &address) { addressPointer in
                var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var header = msghdr()
                    header.msg_name = UnsafeMutableRawPointer(addressPointer)
                    header.msg_namelen = socklen_t(MemoryLayout<sockaddr_nl>.size)
                    header.msg_iov = vectorPointer
                    header.msg_iovlen = 1
                    let result = valueOrErrno { recvmsg(fd, &header, 0) }
                    messageFlags = header.msg_flags
                    addressLength = header.msg_namelen
                    return result
                }
            }
        }.get(.receive)
        // As mnl_socket_recvfrom: a truncated datagram is ENOSPC, a foreign address EINVAL.
        if messageFlags & Int32(MSG_TRUNC) != 0 {
            throw NetlinkSocketError(operation: .receive, errno: .noSpace, detail: "(datagram larger than \(receiveBufferSize) bytes)")
        }
        if Int(addressLength) != MemoryLayout<sockaddr_nl>.size {
            throw NetlinkSocketError(operation: .receive, errno: .invalidArgument, detail: "(sender address of \(addressLength) bytes)")
        }
        // nl_groups is a mask (1 << (group - 1)); the kernel sets one bit for a multicast datagram.
        let group = address.nl_groups == 0 ? 0 : UInt32(address.nl_groups.trailingZeroBitCount + 1)
        return (count, NetlinkSender(portID: address.nl_pid, group: group))
    }
}
