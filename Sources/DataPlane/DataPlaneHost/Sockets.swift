import Glibc
public import IPsecModel

/// A failed system call of the data plane host: the call, the errno and what it was about.
public struct HostError: Error, Sendable, Hashable, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public var detail: String

    public init(_ call: String, errno: Int32 = Glibc.errno, _ detail: String = "") {
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        "\(call)\(detail.isEmpty ? "" : " (\(detail))"): " + (errno == 0 ? "failed" : String(cString: strerror(errno)))
    }
}

/// A UDP socket address: an IP address and a port.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String { address.family == .inet ? "\(address):\(port)" : "[\(address)]:\(port)" }

    /// Calls `body` with the `sockaddr_in`/`sockaddr_in6` of this address.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if address.family == .inet {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: address.bytes) }
            return withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: address.bytes) }
        return withUnsafePointer(to: &sin6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }

    /// Reads a `sockaddr_storage` the kernel filled in.
    init?(_ storage: sockaddr_storage) {
        var s = storage
        switch Int32(s.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &s) { $0.load(as: sockaddr_in.self) }
            let bytes = withUnsafeBytes(of: sin.sin_addr) { Array($0) }
            self.init(IPAddress(bytes: bytes)!, UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &s) { $0.load(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            self.init(IPAddress(bytes: bytes)!, UInt16(bigEndian: sin6.sin6_port))
        default:
            return nil
        }
    }
}

/// A non-blocking UDP socket bound to one address and port: one of a host's two wire sockets
/// (ESP in UDP, and clear datagrams), or the `salabel esp-wire` tool's.
public final class UDPSocket: @unchecked Sendable {  // an immutable descriptor; send and receive are system calls
    public let fd: Int32
    /// The bound address (with the port the kernel chose when 0 was asked).
    public let local: SocketAddress

    /// Binds a new socket. No `SO_REUSEADDR`: a second socket on a UDP port would take datagrams
    /// meant for the first, so a port in use is an error (`EADDRINUSE`).
    public init(binding address: SocketAddress) throws(HostError) {
        let family = address.address.family == .inet ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostError("socket") }
        let r = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard r == 0 else {
            let e = HostError("bind", errno: errno, address.description)
            close(fd)
            throw e
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        local = SocketAddress(storage) ?? address
    }

    deinit { close(fd) }

    /// Waits at most `timeout` for one datagram: it and its source, or `nil`.
    public func receive(timeout: Duration) -> ([UInt8], SocketAddress)? {
        let (seconds, attoseconds) = timeout.components
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var rc: Int32
        repeat { rc = poll(&p, 1, Int32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))) } while rc < 0 && errno == EINTR
        guard rc > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        guard let (n, from) = receive(into: &buffer) else { return nil }
        return (Array(buffer[..<n]), from)
    }

    /// Sends one datagram; a full send buffer or an unreachable peer is reported, not retried.
    public func send(_ bytes: [UInt8], to destination: SocketAddress) throws(HostError) {
        let n = bytes.withUnsafeBytes { b in destination.withSockaddr { sendto(fd, b.baseAddress, b.count, 0, $0, $1) } }
        guard n == bytes.count else { throw HostError("sendto", errno: errno, destination.description) }
    }

    /// Receives one datagram into `buffer`, or `nil` when none is waiting.
    public func receive(into buffer: inout [UInt8]) -> (count: Int, from: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = buffer.withUnsafeMutableBytes { b in
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &length) }
            }
        }
        guard n >= 0, let from = SocketAddress(storage) else { return nil }
        return (n, from)
    }
}

/// A `SOCK_SEQPACKET` Unix socket: the host's local socket (listening) or one connection on it.
final class SeqPacketSocket {
    let fd: Int32

    init(descriptor: Int32) { fd = descriptor }
    deinit { close(fd) }

    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(HostError) -> R {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: sun.sun_path) else { throw HostError("bind", errno: ENAMETOOLONG, path) }
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &sun) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    }

    /// Listens at `path`, mode 0660. Nothing at `path` is replaced but a stale socket, one no
    /// process listens on any more (a connection is refused: `ECONNREFUSED`), which a host killed
    /// before it could remove its socket leaves behind:
    /// - something else there (a regular file, a directory, a link) is refused with `EEXIST` and
    ///   left as it is;
    /// - a socket some process answers on (another host) is refused with `EADDRINUSE`.
    ///
    /// The check and the bind hold an exclusive `flock` on the directory, so two hosts starting
    /// at once on one path do not both take a stale socket for their own. Returns the socket and
    /// the identity (device, inode) of the file it made, for ``ControlSocketFile/remove()``.
    static func listen(at path: String) throws(HostError) -> (SeqPacketSocket, ControlSocketFile) {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostError("socket", errno: errno, path) }
        let s = SeqPacketSocket(descriptor: fd)
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let lock = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lock >= 0 { while flock(lock, LOCK_EX) != 0 && errno == EINTR {} }
        defer { if lock >= 0 { close(lock) } }
        var bound = try withAddress(path, { Glibc.bind(fd, $0, $1) }) == 0
        if !bound {
            guard errno == EADDRINUSE else { throw HostError("bind", errno: errno, path) }
            try removeStaleSocket(at: path)
            bound = try withAddress(path, { Glibc.bind(fd, $0, $1) }) == 0
            guard bound else { throw HostError("bind", errno: errno, path) }
        }
        chmod(path, 0o660)
        guard let file = ControlSocketFile(path: path) else { throw HostError("stat", errno: errno, path) }
        guard Glibc.listen(fd, 64) == 0 else {
            let e = HostError("listen", errno: errno, path)
            file.remove()
            throw e
        }
        return (s, file)
    }

    /// Removes the socket at `path` if no process listens on it; throws when `path` is no socket
    /// (`EEXIST`) or a process answers there (`EADDRINUSE`), and changes nothing then.
    private static func removeStaleSocket(at path: String) throws(HostError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw HostError("lstat", errno: errno, path) }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw HostError("bind", errno: EEXIST, "\(path) exists and is not a socket; it is left as it is: remove it or choose another path")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw HostError("socket", errno: errno, path) }
        defer { close(probe) }
        if try withAddress(path, { Glibc.connect(probe, $0, $1) }) == 0 {
            throw HostError("bind", errno: EADDRINUSE, "\(path) is the local socket of a running host")
        }
        let refused = errno
        guard refused == ECONNREFUSED else {
            throw HostError("bind", errno: refused, "\(path) is a socket that cannot be probed; it is left as it is")
        }
        guard unlink(path) == 0 || errno == ENOENT else { throw HostError("unlink", errno: errno, "the stale socket \(path)") }
    }

    /// Connects to a host's local socket.
    static func connect(to path: String) throws(HostError) -> SeqPacketSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostError("socket", errno: errno, path) }
        let s = SeqPacketSocket(descriptor: fd)
        guard try withAddress(path, { Glibc.connect(fd, $0, $1) }) == 0 else { throw HostError("connect", errno: errno, path) }
        return s
    }

    func accept() -> SeqPacketSocket? {
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { return nil }
        _ = fcntl(c, F_SETFL, O_NONBLOCK)
        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
        return SeqPacketSocket(descriptor: c)
    }

    func send(_ bytes: [UInt8]) throws(HostError) {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n == bytes.count else { throw HostError("send", errno: errno, "local socket") }
    }

    /// Reads one record into `buffer`: its length, or `nil` at end of stream, on an error, or when
    /// none is waiting (`EAGAIN`; ``wouldBlock`` tells the two apart).
    func receive(into buffer: inout [UInt8]) -> Int? {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        wouldBlock = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        return n > 0 ? n : nil
    }

    /// Whether the last ``receive(into:)`` found nothing waiting rather than the end.
    private(set) var wouldBlock = false

    /// Waits until a record can be read; `false` on timeout.
    func waitReadable(milliseconds: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, milliseconds) > 0
    }
}

/// The file a host's local socket made: removed when the host ends, unless another file has taken
/// its path since (then that file is not this host's to remove).
public struct ControlSocketFile: Sendable, Hashable {
    public let path: String
    let device: UInt64
    let inode: UInt64

    /// The file now at `path`, or `nil` when there is none.
    init?(path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        self.path = path
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    /// Unlinks the path if it is still this file.
    public func remove() {
        var st = stat()
        guard lstat(path, &st) == 0, UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode else { return }
        unlink(path)
    }
}
