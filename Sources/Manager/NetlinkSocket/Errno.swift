internal import Glibc

/// An error number reported by a system call (`errno`).
///
/// A struct rather than an enum, so that codes this type does not name survive unchanged. Codes have
/// Swift names (``Errno/noSuchFileOrDirectory``); each C spelling is an unavailable alias that points
/// to the Swift name, so typing `ENOENT` finds it.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    /// The C value of the error number.
    public let rawValue: Int32

    /// Creates an error number from its C value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Operation not permitted. The corresponding C constant is `EPERM`.
    public static let notPermitted = Errno(rawValue: Glibc.EPERM)
    /// No such file or directory. The corresponding C constant is `ENOENT`.
    public static let noSuchFileOrDirectory = Errno(rawValue: Glibc.ENOENT)
    /// No such process (netlink: the reply came from an unexpected port). The corresponding C constant
    /// is `ESRCH`.
    public static let noSuchProcess = Errno(rawValue: Glibc.ESRCH)
    /// Interrupted system call. The corresponding C constant is `EINTR`.
    public static let interrupted = Errno(rawValue: Glibc.EINTR)
    /// Bad file descriptor. The corresponding C constant is `EBADF`.
    public static let badFileDescriptor = Errno(rawValue: Glibc.EBADF)
    /// Resource temporarily unavailable; a receive timeout expired. The corresponding C constant is
    /// `EAGAIN` (also spelled `EWOULDBLOCK`).
    public static let wouldBlock = Errno(rawValue: Glibc.EAGAIN)
    /// Cannot allocate memory. The corresponding C constant is `ENOMEM`.
    public static let noMemory = Errno(rawValue: Glibc.ENOMEM)
    /// Permission denied. The corresponding C constant is `EACCES`.
    public static let permissionDenied = Errno(rawValue: Glibc.EACCES)
    /// File exists. The corresponding C constant is `EEXIST`.
    public static let fileExists = Errno(rawValue: Glibc.EEXIST)
    /// Invalid argument. The corresponding C constant is `EINVAL`.
    public static let invalidArgument = Errno(rawValue: Glibc.EINVAL)
    /// No space left (libmnl: a received message did not fit the buffer). The corresponding C
    /// constant is `ENOSPC`.
    public static let noSpace = Errno(rawValue: Glibc.ENOSPC)
    /// Protocol error (netlink: unexpected sequence number). The corresponding C constant is `EPROTO`.
    public static let protocolError = Errno(rawValue: Glibc.EPROTO)
    /// Bad message. The corresponding C constant is `EBADMSG`.
    public static let badMessage = Errno(rawValue: Glibc.EBADMSG)
    /// Message too long. The corresponding C constant is `EMSGSIZE`.
    public static let messageTooLong = Errno(rawValue: Glibc.EMSGSIZE)
    /// Protocol not available (an unknown socket option). The corresponding C constant is
    /// `ENOPROTOOPT`.
    public static let protocolNotAvailable = Errno(rawValue: Glibc.ENOPROTOOPT)
    /// Protocol not supported (netlink: the kernel lacks the family, or a transform). The
    /// corresponding C constant is `EPROTONOSUPPORT`.
    public static let protocolNotSupported = Errno(rawValue: Glibc.EPROTONOSUPPORT)
    /// Operation not supported. The corresponding C constant is `EOPNOTSUPP`.
    public static let notSupported = Errno(rawValue: Glibc.EOPNOTSUPP)
    /// Address already in use. The corresponding C constant is `EADDRINUSE`.
    public static let addressInUse = Errno(rawValue: Glibc.EADDRINUSE)
    /// No buffer space available (netlink: the socket's receive queue overran). The corresponding C
    /// constant is `ENOBUFS`.
    public static let noBufferSpace = Errno(rawValue: Glibc.ENOBUFS)
    /// Connection refused. The corresponding C constant is `ECONNREFUSED`.
    public static let connectionRefused = Errno(rawValue: Glibc.ECONNREFUSED)

    @available(*, unavailable, renamed: "notPermitted") public static var EPERM: Errno { .notPermitted }
    @available(*, unavailable, renamed: "noSuchFileOrDirectory") public static var ENOENT: Errno { .noSuchFileOrDirectory }
    @available(*, unavailable, renamed: "noSuchProcess") public static var ESRCH: Errno { .noSuchProcess }
    @available(*, unavailable, renamed: "interrupted") public static var EINTR: Errno { .interrupted }
    @available(*, unavailable, renamed: "badFileDescriptor") public static var EBADF: Errno { .badFileDescriptor }
    @available(*, unavailable, renamed: "wouldBlock") public static var EAGAIN: Errno { .wouldBlock }
    @available(*, unavailable, renamed: "noMemory") public static var ENOMEM: Errno { .noMemory }
    @available(*, unavailable, renamed: "permissionDenied") public static var EACCES: Errno { .permissionDenied }
    @available(*, unavailable, renamed: "fileExists") public static var EEXIST: Errno { .fileExists }
    @available(*, unavailable, renamed: "invalidArgument") public static var EINVAL: Errno { .invalidArgument }
    @available(*, unavailable, renamed: "noSpace") public static var ENOSPC: Errno { .noSpace }
    @available(*, unavailable, renamed: "protocolError") public static var EPROTO: Errno { .protocolError }
    @available(*, unavailable, renamed: "badMessage") public static var EBADMSG: Errno { .badMessage }
    @available(*, unavailable, renamed: "messageTooLong") public static var EMSGSIZE: Errno { .messageTooLong }
    @available(*, unavailable, renamed: "protocolNotAvailable") public static var ENOPROTOOPT: Errno { .protocolNotAvailable }
    @available(*, unavailable, renamed: "protocolNotSupported") public static var EPROTONOSUPPORT: Errno { .protocolNotSupported }
    @available(*, unavailable, renamed: "notSupported") public static var EOPNOTSUPP: Errno { .notSupported }
    @available(*, unavailable, renamed: "addressInUse") public static var EADDRINUSE: Errno { .addressInUse }
    @available(*, unavailable, renamed: "noBufferSpace") public static var ENOBUFS: Errno { .noBufferSpace }
    @available(*, unavailable, renamed: "connectionRefused") public static var ECONNREFUSED: Errno { .connectionRefused }

    /// The C spelling of the code (`"ENOENT"`), or `nil` for a code this type does not name.
    public var cName: String? {
        switch rawValue {
        case Glibc.EPERM: "EPERM"
        case Glibc.ENOENT: "ENOENT"
        case Glibc.ESRCH: "ESRCH"
        case Glibc.EINTR: "EINTR"
        case Glibc.EBADF: "EBADF"
        case Glibc.EAGAIN: "EAGAIN"
        case Glibc.ENOMEM: "ENOMEM"
        case Glibc.EACCES: "EACCES"
        case Glibc.EEXIST: "EEXIST"
        case Glibc.EINVAL: "EINVAL"
        case Glibc.ENOSPC: "ENOSPC"
        case Glibc.EPROTO: "EPROTO"
        case Glibc.EBADMSG: "EBADMSG"
        case Glibc.EMSGSIZE: "EMSGSIZE"
        case Glibc.ENOPROTOOPT: "ENOPROTOOPT"
        case Glibc.EPROTONOSUPPORT: "EPROTONOSUPPORT"
        case Glibc.EOPNOTSUPP: "EOPNOTSUPP"
        case Glibc.EADDRINUSE: "EADDRINUSE"
        case Glibc.ENOBUFS: "ENOBUFS"
        case Glibc.ECONNREFUSED: "ECONNREFUSED"
        default: nil
        }
    }

    /// The system's message for the code followed by its C name: `No such file or directory (ENOENT)`.
    ///
    /// The corresponding C function is `strerror`.
    public var description: String {
        let message = strerror(rawValue).map { String(cString: $0) } ?? "error \(rawValue)"
        return "\(message) (\(cName ?? "errno \(rawValue)"))"
    }

    /// Matches an error against an error number, so that `catch Errno.wouldBlock` works.
    public static func ~= (pattern: Errno, value: any Error) -> Bool {
        (value as? Errno) == pattern
    }
}
