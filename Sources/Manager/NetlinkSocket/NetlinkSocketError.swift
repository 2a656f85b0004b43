public import LinuxSystem

/// A failed operation on a ``NetlinkSocket``: which operation, and the error number the system
/// reported.
///
/// Kernel NACKs (`NLMSG_ERROR` with a nonzero code) are not this error: they are messages, and the
/// protocol layer above the socket interprets them.
public struct NetlinkSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The socket operation that failed.
    public enum Operation: String, Hashable, Sendable {
        /// Opening the network namespace file (`/run/netns/NAME` or a path).
        case openNamespace = "open network namespace"
        /// Entering the namespace on the helper thread (`setns`, or creating the thread).
        case enterNamespace = "enter network namespace"
        /// Creating the socket (`socket(AF_NETLINK, SOCK_RAW, protocol)`).
        case open = "open socket"
        /// Binding the socket and reading its port id.
        case bind = "bind"
        /// Setting a socket option (`NETLINK_EXT_ACK`, `NETLINK_CAP_ACK`, `SO_RCVTIMEO`).
        case setOption = "set socket option"
        /// Joining a multicast group (`NETLINK_ADD_MEMBERSHIP`).
        case joinGroup = "join multicast group"
        /// Leaving a multicast group (`NETLINK_DROP_MEMBERSHIP`).
        case leaveGroup = "leave multicast group"
        /// Sending a message to the kernel.
        case send = "send"
        /// Receiving messages.
        case receive = "receive"
    }

    /// The operation that failed.
    public var operation: Operation
    /// The error number the system reported.
    public var errno: Errno
    /// What the operation was applied to, when that helps: a namespace path, an option name, a group.
    public var detail: String?

    public init(operation: Operation, errno: Errno, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    /// A failure of the system layer (entering a network namespace) as the socket's `operation`.
    public init(_ error: SystemError, as operation: Operation) {
        self.init(operation: operation, errno: error.errno, detail: error.detail)
    }

    /// The receive timeout expired before a message arrived (`EAGAIN` from a receive).
    public var isTimeout: Bool { operation == .receive && errno == .wouldBlock }

    /// `netlink: open network namespace /run/netns/x: No such file or directory (ENOENT)`.
    public var description: String {
        let subject = detail.map { "\(operation.rawValue) \($0)" } ?? operation.rawValue
        return "netlink: \(subject): \(errno.messageAndName)"
    }
}
