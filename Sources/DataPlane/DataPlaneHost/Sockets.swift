// The host's sockets: UDP for the wire, the local socket for clients. The socket calls are LinuxSystem's
// (`SocketDescriptor`, over the syscall funnel); this file says what each failure is called.

import Glibc
public import IPsecModel
import LinuxSystem

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

    /// The failure of `call`, with the errno the system layer read.
    init(_ call: String, _ code: Errno, _ detail: String = "") {
        self.init(call, errno: code.rawValue, detail)
    }

    public var description: String {
        "\(call)\(detail.isEmpty ? "" : " (\(detail))"): " + (errno == 0 ? "failed" : Errno(rawValue: errno).message)
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

    /// The system layer's endpoint for this address.
    var endpoint: SocketEndpoint { .internet(address: address.bytes, port: port) }

    /// The address of an endpoint the kernel filled in; `nil` for one that is not IPv4 or IPv6.
    init?(_ endpoint: SocketEndpoint?) {
        guard case .internet(let bytes, let port) = endpoint, let address = IPAddress(bytes: bytes) else { return nil }
        self.init(address, port)
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
        let family: SocketDescriptor.Family = address.address.family == .inet ? .ipv4 : .ipv6
        let socket: SocketDescriptor
        do { socket = try .open(family, .datagram, nonBlocking: true) } catch { throw HostError("socket", error) }
        do { try socket.bind(to: address.endpoint) } catch {
            socket.close()
            throw HostError("bind", error, address.description)
        }
        self.fd = socket.rawValue
        local = SocketAddress(socket.localEndpoint()) ?? address
    }

    deinit { SocketDescriptor(rawValue: fd).close() }

    /// Waits at most `timeout` for one datagram: it and its source, or `nil`.
    public func receive(timeout: Duration) -> ([UInt8], SocketAddress)? {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = Int32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        guard (try? SocketDescriptor(rawValue: fd).wait(for: .readable, milliseconds: milliseconds)) == true else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        guard let (n, from) = receive(into: &buffer) else { return nil }
        return (Array(buffer[..<n]), from)
    }

    /// Sends one datagram; a full send buffer or an unreachable peer is reported, not retried.
    public func send(_ bytes: [UInt8], to destination: SocketAddress) throws(HostError) {
        let sent = bytes.withUnsafeBytes { b in Result { () throws(Errno) in try SocketDescriptor(rawValue: fd).send(b, to: destination.endpoint) } }
        switch sent {
        case .success(let n) where n == bytes.count: return
        case .success: throw HostError("sendto", errno: 0, destination.description)
        case .failure(let code): throw HostError("sendto", code, destination.description)
        }
    }

    /// Receives one datagram into `buffer`, or `nil` when none is waiting.
    public func receive(into buffer: inout [UInt8]) -> (count: Int, from: SocketAddress)? {
        let received = buffer.withUnsafeMutableBytes { b in try? SocketDescriptor(rawValue: fd).receiveFrom(into: b) }
        guard let received, let from = SocketAddress(received.source) else { return nil }
        return (received.count, from)
    }
}

/// A `SOCK_SEQPACKET` Unix socket: the host's local socket (listening) or one connection on it.
final class SeqPacketSocket {
    let fd: Int32
    private var socket: SocketDescriptor { SocketDescriptor(rawValue: fd) }

    init(descriptor: Int32) { fd = descriptor }
    deinit { socket.close() }

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
        let descriptor: SocketDescriptor
        do { descriptor = try .open(.local, .sequencedPackets, nonBlocking: true) } catch { throw HostError("socket", error, path) }
        let s = SeqPacketSocket(descriptor: descriptor.rawValue)
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let lock = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lock >= 0 { _ = valueOrErrno { flock(lock, LOCK_EX) } }
        defer { if lock >= 0 { close(lock) } }
        do { try descriptor.bind(to: .local(path)) } catch {
            // A path too long for sun_path was refused before any bind, as `bind` (ENAMETOOLONG).
            guard error == .addressInUse else { throw HostError("bind", error, path) }
            try removeStaleSocket(at: path)
            do { try descriptor.bind(to: .local(path)) } catch { throw HostError("bind", error, path) }
        }
        chmod(path, 0o660)
        let file: ControlSocketFile
        do { file = try ControlSocketFile(existingAt: path) } catch { throw HostError("stat", error, path) }
        do { try descriptor.listen(backlog: 64) } catch {
            file.remove()
            throw HostError("listen", error, path)
        }
        return (s, file)
    }

    /// Removes the socket at `path` if no process listens on it; throws when `path` is no socket
    /// (`EEXIST`) or a process answers there (`EADDRINUSE`), and changes nothing then.
    private static func removeStaleSocket(at path: String) throws(HostError) {
        var st = stat()
        if case .failure(let code) = valueOrErrno({ lstat(path, &st) }) { throw HostError("lstat", code, path) }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw HostError("bind", errno: EEXIST, "\(path) exists and is not a socket; it is left as it is: remove it or choose another path")
        }
        let probe: SocketDescriptor
        do { probe = try .open(.local, .sequencedPackets, nonBlocking: true) } catch { throw HostError("socket", error, path) }
        defer { probe.close() }
        switch Result(catching: { () throws(Errno) in try probe.connect(to: .local(path)) }) {
        case .success:
            throw HostError("bind", errno: EADDRINUSE, "\(path) is the local socket of a running host")
        case .failure(let refused) where refused != .connectionRefused:
            throw HostError("bind", refused, "\(path) is a socket that cannot be probed; it is left as it is")
        case .failure:
            break
        }
        if case .failure(let code) = valueOrErrno({ unlink(path) }), code != .noSuchFileOrDirectory {
            throw HostError("unlink", code, "the stale socket \(path)")
        }
    }

    /// Connects to a host's local socket.
    static func connect(to path: String) throws(HostError) -> SeqPacketSocket {
        let descriptor: SocketDescriptor
        do { descriptor = try .open(.local, .sequencedPackets) } catch { throw HostError("socket", error, path) }
        let s = SeqPacketSocket(descriptor: descriptor.rawValue)
        do { try descriptor.connect(to: .local(path)) } catch {
            // A path too long for sun_path is refused before any call, and has always been named `bind`.
            throw HostError(error == .fileNameTooLong ? "bind" : "connect", error, path)
        }
        return s
    }

    func accept() -> SeqPacketSocket? {
        guard let (connection, _) = try? socket.accept(nonBlocking: true) else { return nil }
        return SeqPacketSocket(descriptor: connection.rawValue)
    }

    func send(_ bytes: [UInt8]) throws(HostError) {
        let sent = bytes.withUnsafeBytes { b in Result { () throws(Errno) in try socket.send(b, noSignal: true) } }
        switch sent {
        case .success(let n) where n == bytes.count: return
        case .success: throw HostError("send", errno: 0, "local socket")
        case .failure(let code): throw HostError("send", code, "local socket")
        }
    }

    /// Reads one record into `buffer`: its length, or `nil` at end of stream, on an error, or when
    /// none is waiting (`EAGAIN`; ``wouldBlock`` tells the two apart).
    func receive(into buffer: inout [UInt8]) -> Int? {
        let received = buffer.withUnsafeMutableBytes { b in Result { () throws(Errno) in try socket.receive(into: b) } }
        switch received {
        case .success(let n):
            wouldBlock = false
            return n > 0 ? n : nil
        case .failure(let code):
            wouldBlock = code == .wouldBlock
            return nil
        }
    }

    /// Whether the last ``receive(into:)`` found nothing waiting rather than the end.
    private(set) var wouldBlock = false

    /// Waits until a record can be read; `false` on timeout.
    func waitReadable(milliseconds: Int32) -> Bool {
        (try? socket.wait(for: .readable, milliseconds: milliseconds)) == true
    }
}

/// The file a host's local socket made: removed when the host ends, unless another file has taken
/// its path since (then that file is not this host's to remove).
public struct ControlSocketFile: Sendable, Hashable {
    public let path: String
    let device: UInt64
    let inode: UInt64

    /// The file now at `path`; the errno of `lstat` when there is none.
    init(existingAt path: String) throws(Errno) {
        var st = stat()
        _ = try valueOrErrno { lstat(path, &st) }.get()
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
