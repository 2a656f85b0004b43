// Sockets over the syscall funnel: a descriptor and the calls the data plane's UDP and local sockets
// and the socket probe make on it, each failing with the errno it read (and EINTR retried where a
// retry is the same call). `package`: salabel's modules share it, it is no public API. Like
// swift-system's `FileDescriptor`, a `SocketDescriptor` does not own the descriptor: whoever opened
// it closes it.

internal import Glibc

/// Where a socket is bound or connected: an IPv4 or IPv6 address with a port, or a path.
package enum SocketEndpoint: Hashable, Sendable {
    /// `sockaddr_in` (4 address bytes) or `sockaddr_in6` (16 address bytes); the port in host order.
    case internet(address: [UInt8], port: UInt16)
    /// `sockaddr_un`: a Unix socket's path.
    case local(String)

    /// An IPv4 address in dotted form (`inet_pton`), or `nil` when `text` is not one.
    package init?(ipv4 text: String, port: UInt16) {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        self = .internet(address: withUnsafeBytes(of: address) { Array($0) }, port: port)
    }

    /// `address:port` for an IPv4 endpoint (`inet_ntop`), `[address]:port` for IPv6, the path of a
    /// local one.
    package var text: String {
        switch self {
        case .internet(let bytes, let port):
            let family = bytes.count == 4 ? AF_INET : AF_INET6
            let address = bytes.withUnsafeBytes { raw in
                withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { buffer in
                    inet_ntop(family, raw.baseAddress, buffer.baseAddress, socklen_t(buffer.count)).map { String(cString: $0) } ?? "?"
                }
            }
            return family == AF_INET ? "\(address):\(port)" : "[\(address)]:\(port)"
        case .local(let path): return path
        }
    }

    /// Calls `body` with the `sockaddr` of this endpoint. Throws `ENAMETOOLONG` for a path longer
    /// than `sun_path` holds, `EAFNOSUPPORT` for an address neither 4 nor 16 bytes long.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(Errno) -> R {
        switch self {
        case .internet(let bytes, let port) where bytes.count == 4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        case .internet(let bytes, let port) where bytes.count == 16:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        case .internet:
            throw .addressFamilyNotSupported
        case .local(let path):
            var sun = sockaddr_un()
            sun.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: sun.sun_path) else { throw .fileNameTooLong }
            withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sun) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        }
    }

    /// Reads an address the kernel filled in; `nil` for a family other than IPv4 and IPv6.
    init?(_ storage: sockaddr_storage) {
        var s = storage
        switch Int32(s.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &s) { $0.load(as: sockaddr_in.self) }
            self = .internet(address: withUnsafeBytes(of: sin.sin_addr) { Array($0) }, port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &s) { $0.load(as: sockaddr_in6.self) }
            self = .internet(address: withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }, port: UInt16(bigEndian: sin6.sin6_port))
        default:
            return nil
        }
    }
}

/// A socket's file descriptor and the calls on it. It does not own the descriptor: `close()` it.
package struct SocketDescriptor: Hashable, Sendable {
    /// The address family: `AF_INET`, `AF_INET6`, `AF_UNIX`.
    package enum Family: Sendable {
        case ipv4, ipv6, local
        var rawValue: Int32 {
            switch self {
            case .ipv4: AF_INET
            case .ipv6: AF_INET6
            case .local: AF_UNIX
            }
        }
    }

    /// The socket type: `SOCK_DGRAM`, `SOCK_STREAM`, `SOCK_SEQPACKET`.
    package enum Kind: Sendable {
        case datagram, stream, sequencedPackets
        var rawValue: Int32 {
            switch self {
            case .datagram: Int32(SOCK_DGRAM.rawValue)
            case .stream: Int32(SOCK_STREAM.rawValue)
            case .sequencedPackets: Int32(SOCK_SEQPACKET.rawValue)
            }
        }
    }

    /// Readiness to wait for with `wait(for:milliseconds:)`: `POLLIN`, `POLLOUT`.
    package enum Readiness: Sendable {
        case readable, writable
    }

    /// The C descriptor.
    package let rawValue: Int32

    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// Opens a socket, close-on-exec; non-blocking when asked. The corresponding C function is `socket`.
    package static func open(_ family: Family, _ kind: Kind, nonBlocking: Bool = false) throws(Errno) -> SocketDescriptor {
        let flags = Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        return SocketDescriptor(rawValue: try valueOrErrno { socket(family.rawValue, kind.rawValue | flags, 0) }.get())
    }

    /// The family of an endpoint's socket.
    package static func family(of endpoint: SocketEndpoint) -> Family {
        switch endpoint {
        case .internet(let address, _): address.count == 4 ? .ipv4 : .ipv6
        case .local: .local
        }
    }

    /// Closes the descriptor; not retried on `EINTR` (on Linux the descriptor is released either way).
    package func close() {
        _ = Glibc.close(rawValue)
    }

    /// The corresponding C function is `bind`.
    package func bind(to endpoint: SocketEndpoint) throws(Errno) {
        _ = try endpoint.withSockaddr { address, length in valueOrErrno { Glibc.bind(rawValue, address, length) } }.get()
    }

    /// Connects; a non-blocking socket fails with `EINPROGRESS` and connects in the background.
    /// Not retried on `EINTR` (the connection then goes on in the background too). The corresponding C
    /// function is `connect`.
    package func connect(to endpoint: SocketEndpoint) throws(Errno) {
        _ = try endpoint.withSockaddr { address, length in
            valueOrErrno(retryOnInterrupt: false) { Glibc.connect(rawValue, address, length) }
        }.get()
    }

    /// The corresponding C function is `listen`.
    package func listen(backlog: Int32) throws(Errno) {
        _ = try valueOrErrno { Glibc.listen(rawValue, backlog) }.get()
    }

    /// Accepts a connection: its descriptor (close-on-exec, non-blocking when asked) and the peer's
    /// address (`nil` for a local socket's). The corresponding C function is `accept`.
    package func accept(nonBlocking: Bool = false) throws(Errno) -> (SocketDescriptor, SocketEndpoint?) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = try withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in valueOrErrno { Glibc.accept(rawValue, address, &length) } }
        }.get()
        if nonBlocking { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return (SocketDescriptor(rawValue: fd), SocketEndpoint(storage))
    }

    /// The address the socket is bound to. The corresponding C function is `getsockname`.
    package func localEndpoint() -> SocketEndpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(rawValue, $0, &length) } }
        return rc == 0 ? SocketEndpoint(storage) : nil
    }

    /// Sets or clears `O_NONBLOCK`, the other status flags as they are. The corresponding C function
    /// is `fcntl`.
    package func setNonBlocking(_ on: Bool) {
        let flags = fcntl(rawValue, F_GETFL)
        _ = fcntl(rawValue, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    /// Sends bytes on a connected socket: the count sent. The corresponding C function is `send`.
    package func send(_ bytes: UnsafeRawBufferPointer, noSignal: Bool = false) throws(Errno) -> Int {
        try valueOrErrno { Glibc.send(rawValue, bytes.baseAddress, bytes.count, noSignal ? Int32(MSG_NOSIGNAL) : 0) }.get()
    }

    /// Sends one datagram to `endpoint`: the count sent. The corresponding C function is `sendto`.
    package func send(_ bytes: UnsafeRawBufferPointer, to endpoint: SocketEndpoint, noSignal: Bool = false) throws(Errno) -> Int {
        try endpoint.withSockaddr { address, length in
            valueOrErrno { sendto(rawValue, bytes.baseAddress, bytes.count, noSignal ? Int32(MSG_NOSIGNAL) : 0, address, length) }
        }.get()
    }

    /// Receives into `buffer`: the count received (0 at the end of a stream). The corresponding C
    /// function is `recv`.
    package func receive(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try valueOrErrno { recv(rawValue, buffer.baseAddress, buffer.count, 0) }.get()
    }

    /// Receives one datagram into `buffer`: the count and the source. The corresponding C function is
    /// `recvfrom`.
    package func receiveFrom(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> (count: Int, source: SocketEndpoint?) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = try withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                valueOrErrno { recvfrom(rawValue, buffer.baseAddress, buffer.count, 0, address, &length) }
            }
        }.get()
        return (n, SocketEndpoint(storage))
    }

    /// One `recvmsg` with a control buffer: the count, the control bytes' length, the message flags
    /// (`MSG_CTRUNC`: `controlTruncated`), and the source.
    package func receiveMessage(
        into data: UnsafeMutableRawBufferPointer, control: UnsafeMutableRawBufferPointer
    ) throws(Errno) -> (count: Int, controlLength: Int, flags: Int32, source: SocketEndpoint?) {
        var storage = sockaddr_storage()
        var controlLength = 0
        var flags: Int32 = 0
        let n = try withUnsafeMutablePointer(to: &storage) { sourcePointer in
            var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
            return withUnsafeMutablePointer(to: &iov) { iovPointer in
                var message = msghdr()
                message.msg_name = UnsafeMutableRawPointer(sourcePointer)
                message.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                message.msg_iov = iovPointer
                message.msg_iovlen = 1
                message.msg_control = control.baseAddress
                message.msg_controllen = control.count
                let result = valueOrErrno { recvmsg(rawValue, &message, 0) }
                controlLength = message.msg_controllen
                flags = message.msg_flags
                return result
            }
        }.get()
        return (n, controlLength, flags, SocketEndpoint(storage))
    }

    /// `MSG_CTRUNC` in `receiveMessage(into:control:)`'s flags: the control messages did not fit.
    package static let controlTruncated = Int32(MSG_CTRUNC)

    /// Waits at most `milliseconds` until the socket is ready: `false` on timeout. `EINTR` is retried
    /// with the whole timeout again. The corresponding C function is `poll`.
    package func wait(for readiness: Readiness, milliseconds: Int32) throws(Errno) -> Bool {
        var p = pollfd(fd: rawValue, events: Int16(readiness == .readable ? POLLIN : POLLOUT), revents: 0)
        return try valueOrErrno { poll(&p, 1, milliseconds) }.get() > 0
    }

    /// Sets a socket option to an integer. The corresponding C function is `setsockopt`.
    package func setOption(level: Int32, _ name: Int32, _ value: Int32) throws(Errno) {
        var v = value
        _ = try valueOrErrno { setsockopt(rawValue, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }.get()
    }

    /// Sets a socket option to the bytes of a struct. The corresponding C function is `setsockopt`.
    package func setOption(level: Int32, _ name: Int32, bytes: [UInt8]) throws(Errno) {
        _ = try valueOrErrno { bytes.withUnsafeBytes { setsockopt(rawValue, level, name, $0.baseAddress, socklen_t($0.count)) } }.get()
    }

    /// Sets `SO_RCVTIMEO` and `SO_SNDTIMEO` to `seconds` (down to microseconds); failures are ignored.
    package func setTimeouts(seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(rawValue, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(rawValue, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Closes with an RST (`SO_LINGER` 0) rather than a FIN: nothing of the connection stays on the wire.
    package func abort() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(rawValue, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    /// Reads a socket option into `buffer`: the length the kernel gave back, which on `ERANGE` is the
    /// length it needs. The corresponding C function is `getsockopt`.
    package func option(level: Int32, _ name: Int32, into buffer: UnsafeMutableRawBufferPointer) -> (length: Int, error: Errno?) {
        var length = socklen_t(buffer.count)
        let result = valueOrErrno { getsockopt(rawValue, level, name, buffer.baseAddress, &length) }
        if case .failure(let code) = result { return (Int(length), code) }
        return (Int(length), nil)
    }

    /// The pending error of a non-blocking connect (`SO_ERROR`), or `nil` when there is none.
    package func pendingError() throws(Errno) -> Errno? {
        var error: Int32 = 0
        let (_, failure) = withUnsafeMutableBytes(of: &error) { option(level: SOL_SOCKET, SO_ERROR, into: $0) }
        if let failure { throw failure }
        return error == 0 ? nil : Errno(rawValue: error)
    }
}
