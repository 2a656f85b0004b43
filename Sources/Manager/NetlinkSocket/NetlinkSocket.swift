// An owned netlink socket over libmnl: open (optionally inside a network namespace), bind, options,
// multicast groups, send and receive whole datagrams. Framing and parsing belong to the codecs above
// this layer; this file only moves bytes.

internal import CMnl
internal import Glibc
public import LinuxSystem

/// A netlink protocol family: the `protocol` argument of `socket(AF_NETLINK, SOCK_RAW, protocol)`.
public struct NetlinkProtocol: RawRepresentable, Hashable, Sendable {
    /// The C value of the protocol (`NETLINK_*`).
    public let rawValue: Int32

    /// Creates a protocol from its C value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// IPsec transforms: the SAD and SPD. The corresponding C constant is `NETLINK_XFRM` (6).
    public static let xfrm = NetlinkProtocol(rawValue: 6)
    /// Routing and links. The corresponding C constant is `NETLINK_ROUTE` (0).
    public static let route = NetlinkProtocol(rawValue: 0)
}

/// An open netlink socket, bound to a kernel-assigned port id.
///
/// On creation the socket asks for extended ACKs (`NETLINK_EXT_ACK`: a NACK carries the kernel's
/// message and the offset of the offending attribute) and capped ACKs (`NETLINK_CAP_ACK`: an ACK or
/// NACK echoes only the request's header, not the whole request). The socket is closed when the
/// object is released.
///
/// One owner at a time: the class keeps one receive buffer and is not `Sendable`. Use one socket per
/// task (for example one for requests, one for a multicast monitor).
///
/// ```swift
/// let socket = try NetlinkSocket(protocol: .xfrm, namespace: .named("blue"), receiveTimeout: .seconds(2))
/// try socket.send(request)
/// let datagram = try socket.receive()   // one or more netlink messages
/// ```
public final class NetlinkSocket {
    /// The receive buffer size used unless another is given: 32 KiB.
    ///
    /// libmnl's `MNL_SOCKET_BUFFER_SIZE` is `min(page size, 8192)`, its minimum for a message; libmnl
    /// 1.0.5 adds `MNL_SOCKET_DUMP_SIZE` = 32768, the size the kernel's netlink documentation
    /// recommends for dumps (the kernel sizes dump batches to the reader's buffer, up to 32 KiB), so
    /// no reply is truncated.
    public static let defaultReceiveBufferSize = 32768

    /// The smallest receive buffer accepted: libmnl's `MNL_SOCKET_BUFFER_SIZE` (`min(page size, 8192)`).
    public static var minimumReceiveBufferSize: Int {
        min(Int(sysconf(Int32(_SC_PAGESIZE))), 8192)
    }

    /// The protocol family the socket was opened for.
    public let netlinkProtocol: NetlinkProtocol
    /// The namespace the socket was opened in; `nil` for the caller's namespace.
    public let namespace: NetworkNamespace?
    /// The port id the kernel assigned at bind time; replies to this socket carry it in
    /// `nlmsg_pid`. The corresponding C function is `mnl_socket_get_portid`.
    public let portID: UInt32

    private let handle: OpaquePointer
    private var buffer: [UInt8]

    /// Opens, configures and binds a netlink socket.
    ///
    /// With a namespace, the socket is created on a short-lived helper thread that enters the
    /// namespace first (`setns(fd, CLONE_NEWNET)`); a socket belongs to the namespace it was created
    /// in, and the calling thread never changes namespace.
    ///
    /// - Parameters:
    ///   - protocol: the netlink family; ``NetlinkProtocol/xfrm`` by default.
    ///   - namespace: the network namespace to open the socket in; `nil` for the caller's.
    ///   - groups: multicast groups to join (for XFRM, `XFRMNLGRP_*`: 1 acquire, 2 expire, 3 SA,
    ///     4 policy, …).
    ///   - receiveBufferSize: the size of the buffer one ``receive()`` reads into; at least
    ///     ``minimumReceiveBufferSize``.
    ///   - receiveTimeout: how long ``receive()`` waits; `nil` waits indefinitely.
    /// - Throws: ``NetlinkSocketError`` naming the step that failed: ``NetlinkSocketError/Operation/openNamespace``
    ///   with `Errno.noSuchFileOrDirectory` when the namespace does not exist.
    ///
    /// The corresponding C functions are `mnl_socket_open2`, `mnl_socket_bind`, `setns`.
    public init(
        protocol netlinkProtocol: NetlinkProtocol = .xfrm,
        namespace: NetworkNamespace? = nil,
        groups: [UInt32] = [],
        receiveBufferSize: Int = NetlinkSocket.defaultReceiveBufferSize,
        receiveTimeout: Duration? = nil
    ) throws(NetlinkSocketError) {
        precondition(receiveBufferSize >= Self.minimumReceiveBufferSize, "receive buffer smaller than MNL_SOCKET_BUFFER_SIZE")
        let handle = try Self.makeHandle(netlinkProtocol, in: namespace)
        do {
            _ = try valueOrErrno { mnl_socket_bind(handle, 0, pid_t(MNL_SOCKET_AUTOPID)) }.get(.bind)
            try Self.enable(NETLINK_EXT_ACK, named: "NETLINK_EXT_ACK", on: handle)
            try Self.enable(NETLINK_CAP_ACK, named: "NETLINK_CAP_ACK", on: handle)
            for group in groups {
                try Self.membership(NETLINK_ADD_MEMBERSHIP, group: group, on: handle, operation: .joinGroup)
            }
            if let receiveTimeout {
                try Self.setReceiveTimeout(receiveTimeout, on: handle)
            }
        } catch {
            _ = mnl_socket_close(handle)
            throw error
        }
        self.handle = handle
        self.netlinkProtocol = netlinkProtocol
        self.namespace = namespace
        self.portID = mnl_socket_get_portid(handle)
        self.buffer = [UInt8](repeating: 0, count: receiveBufferSize)
    }

    deinit {
        // close(2) is not retried on EINTR: on Linux the descriptor is released either way.
        _ = mnl_socket_close(handle)
    }

    /// The socket's file descriptor, for polling. It stays owned by this object.
    ///
    /// The corresponding C function is `mnl_socket_get_fd`.
    public var fileDescriptor: Int32 { mnl_socket_get_fd(handle) }

    /// The size of the buffer one ``receive()`` reads into.
    public var receiveBufferSize: Int { buffer.count }

    /// Sends one datagram (one or more complete netlink messages) to the kernel.
    ///
    /// The bytes are sent as given: the caller fills `nlmsg_len`, `nlmsg_seq` and leaves `nlmsg_pid`
    /// 0 (the kernel is port 0).
    ///
    /// The corresponding C function is `mnl_socket_sendto`.
    public func send(_ bytes: [UInt8]) throws(NetlinkSocketError) {
        let sent = try bytes.withUnsafeBytes { raw in
            valueOrErrno { mnl_socket_sendto(handle, raw.baseAddress, raw.count) }
        }.get(.send)
        if sent != bytes.count {
            throw NetlinkSocketError(operation: .send, errno: .messageTooLong, detail: "(\(sent) of \(bytes.count) bytes)")
        }
    }

    /// Receives one datagram: one or more netlink messages, exactly as the kernel sent them.
    ///
    /// - Returns: the bytes received (never more than ``receiveBufferSize``).
    /// - Throws: ``NetlinkSocketError`` with operation ``NetlinkSocketError/Operation/receive``:
    ///   `Errno.wouldBlock` when the receive timeout expired (``NetlinkSocketError/isTimeout``),
    ///   `Errno.noSpace` when the datagram was larger than the buffer (libmnl reports `MSG_TRUNC`
    ///   so), `Errno.noBufferSpace` when the socket's queue overran and messages were lost.
    ///
    /// The corresponding C function is `mnl_socket_recvfrom`.
    public func receive() throws(NetlinkSocketError) -> [UInt8] {
        let handle = self.handle
        let count = try buffer.withUnsafeMutableBytes { raw in
            valueOrErrno { mnl_socket_recvfrom(handle, raw.baseAddress, raw.count) }
        }.get(.receive)
        return Array(buffer[..<count])
    }

    /// Sets how long ``receive()`` waits for a datagram; `nil` waits indefinitely.
    ///
    /// - Parameter timeout: a positive duration, rounded down to microseconds (at least one).
    ///
    /// The corresponding C socket option is `SO_RCVTIMEO`.
    public func setReceiveTimeout(_ timeout: Duration?) throws(NetlinkSocketError) {
        try Self.setReceiveTimeout(timeout, on: handle)
    }

    /// Joins a multicast group: the socket then also receives the kernel's notifications for it.
    ///
    /// - Parameter group: the group number (for XFRM, `XFRMNLGRP_SA` = 3, `XFRMNLGRP_POLICY` = 4, …).
    ///
    /// The corresponding C socket option is `NETLINK_ADD_MEMBERSHIP`.
    public func join(group: UInt32) throws(NetlinkSocketError) {
        try Self.membership(NETLINK_ADD_MEMBERSHIP, group: group, on: handle, operation: .joinGroup)
    }

    /// Leaves a multicast group.
    ///
    /// The corresponding C socket option is `NETLINK_DROP_MEMBERSHIP`.
    public func leave(group: UInt32) throws(NetlinkSocketError) {
        try Self.membership(NETLINK_DROP_MEMBERSHIP, group: group, on: handle, operation: .leaveGroup)
    }

    // MARK: - Plumbing

    /// Runs `body` on the receive buffer (for `recvmsg` in NetlinkSocket+Transport.swift).
    internal func withReceiveBuffer<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        buffer.withUnsafeMutableBytes(body)
    }

    /// The first `count` bytes of the receive buffer.
    internal func receivedBytes(_ count: Int) -> [UInt8] {
        Array(buffer[..<count])
    }

    /// Runs `body` on the first `count` bytes of the receive buffer, in place.
    internal func withReceivedBytes<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Creates the libmnl socket, in `namespace` when given.
    private static func makeHandle(
        _ netlinkProtocol: NetlinkProtocol, in namespace: NetworkNamespace?
    ) throws(NetlinkSocketError) -> OpaquePointer {
        let create = { () -> Result<OpaquePointer, Errno> in
            pointerOrErrno { mnl_socket_open2(netlinkProtocol.rawValue, Int32(SOCK_CLOEXEC.rawValue)) }
        }
        guard let namespace else { return try create().get(.open) }

        let created: Result<OpaquePointer, Errno>
        do {
            created = try namespace.run(create)
        } catch {
            throw NetlinkSocketError(error, as: error.operation == NetworkNamespace.openOperation ? .openNamespace : .enterNamespace)
        }
        return try created.mapError { NetlinkSocketError(operation: .open, errno: $0, detail: "in \(namespace.path)") }.get()
    }

    /// Sets an integer `SOL_NETLINK` option to 1.
    private static func enable(_ option: Int32, named name: String, on handle: OpaquePointer) throws(NetlinkSocketError) {
        var one: Int32 = 1
        _ = try withUnsafeMutableBytes(of: &one) { raw in
            valueOrErrno { mnl_socket_setsockopt(handle, option, raw.baseAddress, socklen_t(raw.count)) }
        }.get(.setOption, name)
    }

    private static func membership(
        _ option: Int32, group: UInt32, on handle: OpaquePointer, operation: NetlinkSocketError.Operation
    ) throws(NetlinkSocketError) {
        var value = group
        _ = try withUnsafeMutableBytes(of: &value) { raw in
            valueOrErrno { mnl_socket_setsockopt(handle, option, raw.baseAddress, socklen_t(raw.count)) }
        }.get(operation, "\(group)")
    }

    private static func setReceiveTimeout(_ timeout: Duration?, on handle: OpaquePointer) throws(NetlinkSocketError) {
        var value = timeval()  // zero: wait indefinitely
        if let timeout {
            precondition(timeout > .zero, "a receive timeout must be positive; use nil to wait indefinitely")
            let (seconds, attoseconds) = timeout.components
            value.tv_sec = Int(seconds)
            value.tv_usec = Int(attoseconds / 1_000_000_000_000)
            if value.tv_sec == 0 && value.tv_usec == 0 { value.tv_usec = 1 }
        }
        let fd = mnl_socket_get_fd(handle)
        _ = try withUnsafeBytes(of: &value) { raw in
            valueOrErrno { setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, raw.baseAddress, socklen_t(raw.count)) }
        }.get(.setOption, "SO_RCVTIMEO")
    }
}
