// Error numbers, as Linux defines them (asm-generic/errno-base.h, asm-generic/errno.h: the values of
// x86, arm, arm64, riscv, s390; alpha, mips, parisc and sparc number some codes differently and are not
// supported). Pure Swift, so that the protocol layer names the errno of a kernel NACK without libc;
// the messages are glibc's `strerror` texts (generated from glibc 2.36, checked against the host's
// `strerror` by NetlinkProtocolTests).

/// An error number (`errno`): from a system call, or from the kernel in a netlink NACK.
///
/// A struct rather than an enum, so that codes this type does not name survive unchanged. Codes have
/// Swift names (``Errno/noSuchFileOrDirectory``); each C spelling is an unavailable alias that points
/// to the Swift name, so typing `ENOENT` finds it. ``cName`` and ``description`` know every Linux code.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    /// The C value of the error number (positive).
    public let rawValue: Int32

    /// Creates an error number from its C value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Operation not permitted. The corresponding C constant is `EPERM` (1).
    public static let notPermitted = Errno(rawValue: 1)
    /// No such file or directory (netlink: no such SA or policy). The corresponding C constant is `ENOENT` (2).
    public static let noSuchFileOrDirectory = Errno(rawValue: 2)
    /// No such process (netlink: the reply came from an unexpected port; XFRM: no such SA). The corresponding C
    /// constant is `ESRCH` (3).
    public static let noSuchProcess = Errno(rawValue: 3)
    /// Interrupted system call (libmnl: a dump was interrupted, `NLM_F_DUMP_INTR`). The corresponding C constant is
    /// `EINTR` (4).
    public static let interrupted = Errno(rawValue: 4)
    /// Input/output error. The corresponding C constant is `EIO` (5).
    public static let ioError = Errno(rawValue: 5)
    /// Argument list too long. The corresponding C constant is `E2BIG` (7).
    public static let argumentListTooLong = Errno(rawValue: 7)
    /// Bad file descriptor. The corresponding C constant is `EBADF` (9).
    public static let badFileDescriptor = Errno(rawValue: 9)
    /// Resource temporarily unavailable; a receive timeout expired. The corresponding C constant is
    /// `EAGAIN` (also spelled `EWOULDBLOCK`).
    public static let wouldBlock = Errno(rawValue: 11)
    /// Cannot allocate memory. The corresponding C constant is `ENOMEM` (12).
    public static let noMemory = Errno(rawValue: 12)
    /// Permission denied. The corresponding C constant is `EACCES` (13).
    public static let permissionDenied = Errno(rawValue: 13)
    /// Bad address. The corresponding C constant is `EFAULT` (14).
    public static let badAddress = Errno(rawValue: 14)
    /// Device or resource busy. The corresponding C constant is `EBUSY` (16).
    public static let resourceBusy = Errno(rawValue: 16)
    /// File exists (netlink: the SA or policy already exists). The corresponding C constant is `EEXIST` (17).
    public static let fileExists = Errno(rawValue: 17)
    /// No such device. The corresponding C constant is `ENODEV` (19).
    public static let noSuchDevice = Errno(rawValue: 19)
    /// Invalid argument. The corresponding C constant is `EINVAL` (22).
    public static let invalidArgument = Errno(rawValue: 22)
    /// No space left (libmnl: a received message did not fit the buffer). The corresponding C constant is `ENOSPC`
    /// (28).
    public static let noSpace = Errno(rawValue: 28)
    /// Numerical result out of range. The corresponding C constant is `ERANGE` (34).
    public static let outOfRange = Errno(rawValue: 34)
    /// Function not implemented. The corresponding C constant is `ENOSYS` (38).
    public static let notImplemented = Errno(rawValue: 38)
    /// No data available. The corresponding C constant is `ENODATA` (61).
    public static let noData = Errno(rawValue: 61)
    /// Protocol error (netlink: unexpected sequence number). The corresponding C constant is `EPROTO` (71).
    public static let protocolError = Errno(rawValue: 71)
    /// Bad message. The corresponding C constant is `EBADMSG` (74).
    public static let badMessage = Errno(rawValue: 74)
    /// Value too large for defined data type. The corresponding C constant is `EOVERFLOW` (75).
    public static let overflow = Errno(rawValue: 75)
    /// Message too long. The corresponding C constant is `EMSGSIZE` (90).
    public static let messageTooLong = Errno(rawValue: 90)
    /// Protocol not available (an unknown socket option). The corresponding C constant is `ENOPROTOOPT` (92).
    public static let protocolNotAvailable = Errno(rawValue: 92)
    /// Protocol not supported (netlink: the kernel lacks the family, or a transform such as ESP). The corresponding
    /// C constant is `EPROTONOSUPPORT` (93).
    public static let protocolNotSupported = Errno(rawValue: 93)
    /// Operation not supported. The corresponding C constant is `EOPNOTSUPP` (95).
    public static let notSupported = Errno(rawValue: 95)
    /// Address family not supported by protocol. The corresponding C constant is `EAFNOSUPPORT` (97).
    public static let addressFamilyNotSupported = Errno(rawValue: 97)
    /// Address already in use. The corresponding C constant is `EADDRINUSE` (98).
    public static let addressInUse = Errno(rawValue: 98)
    /// No buffer space available (netlink: the socket's receive queue overran and messages were lost). The
    /// corresponding C constant is `ENOBUFS` (105).
    public static let noBufferSpace = Errno(rawValue: 105)
    /// Connection refused. The corresponding C constant is `ECONNREFUSED` (111).
    public static let connectionRefused = Errno(rawValue: 111)
    /// Connection timed out. The corresponding C constant is `ETIMEDOUT` (110).
    public static let connectionTimedOut = Errno(rawValue: 110)

    @available(*, unavailable, renamed: "notPermitted") public static var EPERM: Errno { .notPermitted }
    @available(*, unavailable, renamed: "noSuchFileOrDirectory") public static var ENOENT: Errno { .noSuchFileOrDirectory }
    @available(*, unavailable, renamed: "noSuchProcess") public static var ESRCH: Errno { .noSuchProcess }
    @available(*, unavailable, renamed: "interrupted") public static var EINTR: Errno { .interrupted }
    @available(*, unavailable, renamed: "ioError") public static var EIO: Errno { .ioError }
    @available(*, unavailable, renamed: "argumentListTooLong") public static var E2BIG: Errno { .argumentListTooLong }
    @available(*, unavailable, renamed: "badFileDescriptor") public static var EBADF: Errno { .badFileDescriptor }
    @available(*, unavailable, renamed: "wouldBlock") public static var EAGAIN: Errno { .wouldBlock }
    @available(*, unavailable, renamed: "noMemory") public static var ENOMEM: Errno { .noMemory }
    @available(*, unavailable, renamed: "permissionDenied") public static var EACCES: Errno { .permissionDenied }
    @available(*, unavailable, renamed: "badAddress") public static var EFAULT: Errno { .badAddress }
    @available(*, unavailable, renamed: "resourceBusy") public static var EBUSY: Errno { .resourceBusy }
    @available(*, unavailable, renamed: "fileExists") public static var EEXIST: Errno { .fileExists }
    @available(*, unavailable, renamed: "noSuchDevice") public static var ENODEV: Errno { .noSuchDevice }
    @available(*, unavailable, renamed: "invalidArgument") public static var EINVAL: Errno { .invalidArgument }
    @available(*, unavailable, renamed: "noSpace") public static var ENOSPC: Errno { .noSpace }
    @available(*, unavailable, renamed: "outOfRange") public static var ERANGE: Errno { .outOfRange }
    @available(*, unavailable, renamed: "notImplemented") public static var ENOSYS: Errno { .notImplemented }
    @available(*, unavailable, renamed: "noData") public static var ENODATA: Errno { .noData }
    @available(*, unavailable, renamed: "protocolError") public static var EPROTO: Errno { .protocolError }
    @available(*, unavailable, renamed: "badMessage") public static var EBADMSG: Errno { .badMessage }
    @available(*, unavailable, renamed: "overflow") public static var EOVERFLOW: Errno { .overflow }
    @available(*, unavailable, renamed: "messageTooLong") public static var EMSGSIZE: Errno { .messageTooLong }
    @available(*, unavailable, renamed: "protocolNotAvailable") public static var ENOPROTOOPT: Errno { .protocolNotAvailable }
    @available(*, unavailable, renamed: "protocolNotSupported") public static var EPROTONOSUPPORT: Errno { .protocolNotSupported }
    @available(*, unavailable, renamed: "notSupported") public static var EOPNOTSUPP: Errno { .notSupported }
    @available(*, unavailable, renamed: "addressFamilyNotSupported") public static var EAFNOSUPPORT: Errno { .addressFamilyNotSupported }
    @available(*, unavailable, renamed: "addressInUse") public static var EADDRINUSE: Errno { .addressInUse }
    @available(*, unavailable, renamed: "noBufferSpace") public static var ENOBUFS: Errno { .noBufferSpace }
    @available(*, unavailable, renamed: "connectionRefused") public static var ECONNREFUSED: Errno { .connectionRefused }
    @available(*, unavailable, renamed: "connectionTimedOut") public static var ETIMEDOUT: Errno { .connectionTimedOut }

    /// The C spelling of the code (`"ENOENT"`), or `nil` for a code Linux does not define.
    public var cName: String? { Self.table[rawValue]?.name }

    /// The C name, or `errno N` for a code Linux does not define: how results and events name an error.
    public var name: String { cName ?? "errno \(rawValue)" }

    /// The system's message for the code followed by its C name: `No such file or directory (ENOENT)`;
    /// `Unknown error 200 (errno 200)` for a code Linux does not define.
    ///
    /// The corresponding C function is `strerror`.
    public var description: String {
        guard let entry = Self.table[rawValue] else { return "Unknown error \(rawValue) (errno \(rawValue))" }
        return "\(entry.message) (\(entry.name))"
    }

    /// The message alone: `No such file or directory`. The corresponding C function is `strerror`.
    public var message: String { Self.table[rawValue]?.message ?? "Unknown error \(rawValue)" }

    /// Matches an error against an error number, so that `catch Errno.wouldBlock` works.
    public static func ~= (pattern: Errno, value: any Error) -> Bool {
        (value as? Errno) == pattern
    }

    /// Every code Linux defines: C name and glibc `strerror` text.
    private static let table: [Int32: (name: String, message: String)] = [
        1: ("EPERM", "Operation not permitted"),
        2: ("ENOENT", "No such file or directory"),
        3: ("ESRCH", "No such process"),
        4: ("EINTR", "Interrupted system call"),
        5: ("EIO", "Input/output error"),
        6: ("ENXIO", "No such device or address"),
        7: ("E2BIG", "Argument list too long"),
        8: ("ENOEXEC", "Exec format error"),
        9: ("EBADF", "Bad file descriptor"),
        10: ("ECHILD", "No child processes"),
        11: ("EAGAIN", "Resource temporarily unavailable"),
        12: ("ENOMEM", "Cannot allocate memory"),
        13: ("EACCES", "Permission denied"),
        14: ("EFAULT", "Bad address"),
        15: ("ENOTBLK", "Block device required"),
        16: ("EBUSY", "Device or resource busy"),
        17: ("EEXIST", "File exists"),
        18: ("EXDEV", "Invalid cross-device link"),
        19: ("ENODEV", "No such device"),
        20: ("ENOTDIR", "Not a directory"),
        21: ("EISDIR", "Is a directory"),
        22: ("EINVAL", "Invalid argument"),
        23: ("ENFILE", "Too many open files in system"),
        24: ("EMFILE", "Too many open files"),
        25: ("ENOTTY", "Inappropriate ioctl for device"),
        26: ("ETXTBSY", "Text file busy"),
        27: ("EFBIG", "File too large"),
        28: ("ENOSPC", "No space left on device"),
        29: ("ESPIPE", "Illegal seek"),
        30: ("EROFS", "Read-only file system"),
        31: ("EMLINK", "Too many links"),
        32: ("EPIPE", "Broken pipe"),
        33: ("EDOM", "Numerical argument out of domain"),
        34: ("ERANGE", "Numerical result out of range"),
        35: ("EDEADLK", "Resource deadlock avoided"),
        36: ("ENAMETOOLONG", "File name too long"),
        37: ("ENOLCK", "No locks available"),
        38: ("ENOSYS", "Function not implemented"),
        39: ("ENOTEMPTY", "Directory not empty"),
        40: ("ELOOP", "Too many levels of symbolic links"),
        42: ("ENOMSG", "No message of desired type"),
        43: ("EIDRM", "Identifier removed"),
        44: ("ECHRNG", "Channel number out of range"),
        45: ("EL2NSYNC", "Level 2 not synchronized"),
        46: ("EL3HLT", "Level 3 halted"),
        47: ("EL3RST", "Level 3 reset"),
        48: ("ELNRNG", "Link number out of range"),
        49: ("EUNATCH", "Protocol driver not attached"),
        50: ("ENOCSI", "No CSI structure available"),
        51: ("EL2HLT", "Level 2 halted"),
        52: ("EBADE", "Invalid exchange"),
        53: ("EBADR", "Invalid request descriptor"),
        54: ("EXFULL", "Exchange full"),
        55: ("ENOANO", "No anode"),
        56: ("EBADRQC", "Invalid request code"),
        57: ("EBADSLT", "Invalid slot"),
        59: ("EBFONT", "Bad font file format"),
        60: ("ENOSTR", "Device not a stream"),
        61: ("ENODATA", "No data available"),
        62: ("ETIME", "Timer expired"),
        63: ("ENOSR", "Out of streams resources"),
        64: ("ENONET", "Machine is not on the network"),
        65: ("ENOPKG", "Package not installed"),
        66: ("EREMOTE", "Object is remote"),
        67: ("ENOLINK", "Link has been severed"),
        68: ("EADV", "Advertise error"),
        69: ("ESRMNT", "Srmount error"),
        70: ("ECOMM", "Communication error on send"),
        71: ("EPROTO", "Protocol error"),
        72: ("EMULTIHOP", "Multihop attempted"),
        73: ("EDOTDOT", "RFS specific error"),
        74: ("EBADMSG", "Bad message"),
        75: ("EOVERFLOW", "Value too large for defined data type"),
        76: ("ENOTUNIQ", "Name not unique on network"),
        77: ("EBADFD", "File descriptor in bad state"),
        78: ("EREMCHG", "Remote address changed"),
        79: ("ELIBACC", "Can not access a needed shared library"),
        80: ("ELIBBAD", "Accessing a corrupted shared library"),
        81: ("ELIBSCN", ".lib section in a.out corrupted"),
        82: ("ELIBMAX", "Attempting to link in too many shared libraries"),
        83: ("ELIBEXEC", "Cannot exec a shared library directly"),
        84: ("EILSEQ", "Invalid or incomplete multibyte or wide character"),
        85: ("ERESTART", "Interrupted system call should be restarted"),
        86: ("ESTRPIPE", "Streams pipe error"),
        87: ("EUSERS", "Too many users"),
        88: ("ENOTSOCK", "Socket operation on non-socket"),
        89: ("EDESTADDRREQ", "Destination address required"),
        90: ("EMSGSIZE", "Message too long"),
        91: ("EPROTOTYPE", "Protocol wrong type for socket"),
        92: ("ENOPROTOOPT", "Protocol not available"),
        93: ("EPROTONOSUPPORT", "Protocol not supported"),
        94: ("ESOCKTNOSUPPORT", "Socket type not supported"),
        95: ("EOPNOTSUPP", "Operation not supported"),
        96: ("EPFNOSUPPORT", "Protocol family not supported"),
        97: ("EAFNOSUPPORT", "Address family not supported by protocol"),
        98: ("EADDRINUSE", "Address already in use"),
        99: ("EADDRNOTAVAIL", "Cannot assign requested address"),
        100: ("ENETDOWN", "Network is down"),
        101: ("ENETUNREACH", "Network is unreachable"),
        102: ("ENETRESET", "Network dropped connection on reset"),
        103: ("ECONNABORTED", "Software caused connection abort"),
        104: ("ECONNRESET", "Connection reset by peer"),
        105: ("ENOBUFS", "No buffer space available"),
        106: ("EISCONN", "Transport endpoint is already connected"),
        107: ("ENOTCONN", "Transport endpoint is not connected"),
        108: ("ESHUTDOWN", "Cannot send after transport endpoint shutdown"),
        109: ("ETOOMANYREFS", "Too many references: cannot splice"),
        110: ("ETIMEDOUT", "Connection timed out"),
        111: ("ECONNREFUSED", "Connection refused"),
        112: ("EHOSTDOWN", "Host is down"),
        113: ("EHOSTUNREACH", "No route to host"),
        114: ("EALREADY", "Operation already in progress"),
        115: ("EINPROGRESS", "Operation now in progress"),
        116: ("ESTALE", "Stale file handle"),
        117: ("EUCLEAN", "Structure needs cleaning"),
        118: ("ENOTNAM", "Not a XENIX named type file"),
        119: ("ENAVAIL", "No XENIX semaphores available"),
        120: ("EISNAM", "Is a named type file"),
        121: ("EREMOTEIO", "Remote I/O error"),
        122: ("EDQUOT", "Disk quota exceeded"),
        123: ("ENOMEDIUM", "No medium found"),
        124: ("EMEDIUMTYPE", "Wrong medium type"),
        125: ("ECANCELED", "Operation canceled"),
        126: ("ENOKEY", "Required key not available"),
        127: ("EKEYEXPIRED", "Key has expired"),
        128: ("EKEYREVOKED", "Key has been revoked"),
        129: ("EKEYREJECTED", "Key was rejected by service"),
        130: ("EOWNERDEAD", "Owner died"),
        131: ("ENOTRECOVERABLE", "State not recoverable"),
        132: ("ERFKILL", "Operation not possible due to RF-kill"),
        133: ("EHWPOISON", "Memory page has hardware error"),
    ]
}
