import Foundation
import Glibc
import LinuxSystem  // Errno: the C names of error numbers

/// `SOL_SOCKET` option `SO_PEERSEC` (asm-generic/socket.h).
let soPeerSec: Int32 = 31
/// `SOL_IP` (0) option `IP_PASSSEC` (linux/in.h).
let ipPassSec: Int32 = 18
/// `SOL_IP` control message type `SCM_SECURITY` (linux/in.h).
let scmSecurity: Int32 = 3
let solIP: Int32 = 0

/// The socket calls of `salabel probe` and of the kernel run's traffic steps: sockets labeled
/// through `sockcreate`, the peer label as `getsockopt(SO_PEERSEC)` and `SCM_SECURITY` report it
/// (Specs/kernel/labeled-ipsec.md §b.4, edges 24 and 25), every blocking call bounded by `timeout`.
/// Results are JSON-ready fields, given to `emit` one event at a time.
public struct SocketProbe {
    /// A call that failed: the errno's C name, and whether it was the timeout.
    public struct Failure: Error {
        public var name: String
        public var timedOut: Bool = false
    }

    /// Why a probe program stopped early: its arguments were wrong (nothing was done), or an
    /// event saying what failed has been emitted.
    public enum Stop: Error {
        case badArgument(String)
        case failed
    }

    public let timeout: Double
    public let sockcreate: String?
    /// Where events go (the command prints each as a line of JSON).
    let emitFields: ([String: Any]) -> Void

    /// A probe whose calls wait at most `timeout` seconds, whose sockets are labeled `sockcreate`
    /// (nil: the process's own context) once ``prepare()`` has run, and whose events go to `emit`.
    public init(timeout: Double, sockcreate: String?, emit: @escaping ([String: Any]) -> Void = { _ in }) {
        self.timeout = timeout
        self.sockcreate = sockcreate
        emitFields = emit
    }

    /// This thread's context, or nil without SELinux.
    static func ownContext() -> String? {
        for path in ["/proc/thread-self/attr/current", "/proc/self/attr/current"] {
            if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
                return String(decoding: data.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return nil
    }

    /// SIGPIPE off; the socket-creation context when `sockcreate` is given.
    public func prepare() throws(Stop) {
        signal(SIGPIPE, SIG_IGN)
        guard let sockcreate else { return }
        if let error = Self.setSocketCreateContext(sockcreate) {
            emit(["event": "error", "stage": "sockcreate", "errno": Errno(rawValue: error).name, "context": sockcreate])
            throw .failed
        }
    }

    /// Sets the context of the sockets this thread creates from now on (`setsockcreatecon`: the
    /// attribute is per thread, as libselinux writes it; /proc/self is the fallback for kernels
    /// without thread-self); `""` goes back to the default. Returns nil, or the errno.
    static func setSocketCreateContext(_ context: String) -> Int32? {
        var lastError: Int32 = 0
        // A lone newline clears the attribute (selinux_setprocattr).
        let text = context.isEmpty ? "\n" : context
        for path in ["/proc/thread-self/attr/sockcreate", "/proc/self/attr/sockcreate"] {
            let fd = open(path, O_WRONLY)
            if fd < 0 { lastError = errno; continue }
            let n = text.withCString { write(fd, $0, strlen($0)) }
            if n < 0 { lastError = errno }
            close(fd)
            if n >= 0 { return nil }
        }
        return lastError
    }

    /// Emits an event, with the probe's own context (`self`) and its `sockcreate`.
    func emit(_ fields: [String: Any]) {
        var object = fields
        object["self"] = Self.ownContext() ?? NSNull()
        if let sockcreate { object["sockcreate"] = sockcreate }
        emitFields(object)
    }

    /// Emits an error event for the call that just failed (its `errno`) and returns the stop to throw.
    func fail(_ stage: String) -> Stop {
        emit(["event": "error", "stage": stage, "errno": Errno(rawValue: errno).name])
        return .failed
    }

    static func socketAddress(_ text: String, _ port: UInt16) -> sockaddr_in? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { return nil }
        return address
    }

    static func describe(_ address: sockaddr_in) -> String {
        var a = address.sin_addr
        let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET_ADDRSTRLEN)) { buffer in
            inet_ntop(AF_INET, &a, buffer.baseAddress, socklen_t(buffer.count)).map { String(cString: $0) } ?? "?"
        }
        return "\(text):\(UInt16(bigEndian: address.sin_port))"
    }

    func socket(_ type: __socket_type, stage: String) throws(Stop) -> Int32 {
        let fd = Glibc.socket(AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { throw fail(stage) }
        return fd
    }

    func bind(_ fd: Int32, _ address: sockaddr_in) throws(Stop) {
        var a = address
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw fail("bind") }
    }

    private var timeoutMilliseconds: Int32 { Int32(max(0, min(timeout * 1000, Double(Int32.max)))) }

    /// poll(POLLIN) with the timeout; false on timeout.
    func waitReadable(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let rc = poll(&p, 1, timeoutMilliseconds)
            if rc < 0 && errno == EINTR { continue }
            return rc > 0
        }
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO set to the timeout.
    func setTimeouts(_ fd: Int32) {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A non-blocking connect waited for with poll: nil when connected, else the errno (ETIMEDOUT
    /// after the timeout, marked `timedOut`).
    func connect(_ fd: Int32, _ address: sockaddr_in) -> Failure? {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        var a = address
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc == 0 { return nil }
        guard errno == EINPROGRESS else { return Failure(name: Errno(rawValue: errno).name) }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&p, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
        if ready == 0 { return Failure(name: Errno(rawValue: ETIMEDOUT).name, timedOut: true) }
        if ready < 0 { return Failure(name: Errno(rawValue: errno).name) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return Failure(name: Errno(rawValue: errno).name) }
        return error == 0 ? nil : Failure(name: Errno(rawValue: error).name)
    }

    /// One recv of up to 4 KiB, as text; a timeout is EAGAIN.
    func receive(_ fd: Int32) -> Result<String, Failure> {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n >= 0 else { return .failure(Failure(name: Errno(rawValue: errno).name, timedOut: errno == EAGAIN)) }
        return .success(String(decoding: buffer[0..<n], as: UTF8.self))
    }

    /// getsockopt(SOL_SOCKET, SO_PEERSEC) with the kernel's semantics (edge 24): ENOPROTOOPT when the
    /// socket has no peer label; ERANGE with the required length in optlen when the buffer is short
    /// (the first call uses a 16-byte buffer on purpose, then retries with that length); the returned
    /// length counts the trailing NUL. Fields: peer (the string up to the first NUL, or null), errno,
    /// peer_len (the returned length), nul (whether the last byte is NUL), erange_len.
    func peerSecurity(_ fd: Int32) -> [String: Any] {
        var fields: [String: Any] = ["peer": NSNull(), "errno": NSNull()]
        var buffer = [UInt8](repeating: 0, count: 16)
        var length = socklen_t(buffer.count)
        var rc = getsockopt(fd, SOL_SOCKET, soPeerSec, &buffer, &length)
        if rc < 0 && errno == ERANGE {
            fields["erange_len"] = Int(length)
            buffer = [UInt8](repeating: 0, count: Int(length))
            length = socklen_t(buffer.count)
            rc = getsockopt(fd, SOL_SOCKET, soPeerSec, &buffer, &length)
        }
        guard rc == 0 else {
            fields["errno"] = Errno(rawValue: errno).name
            return fields
        }
        let bytes = buffer[0..<min(Int(length), buffer.count)]
        fields["peer"] = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        fields["peer_len"] = bytes.count
        fields["nul"] = bytes.last == 0
        return fields
    }

    /// recvmsg with a control buffer: the datagram, its source, and the SOL_IP/SCM_SECURITY payload
    /// (peer: the string up to the first NUL, nul: whether the payload ends with one, peer_len), or
    /// peer null when no such control message came (unlabeled traffic, edge 25). Other control
    /// messages are listed as "cmsgs" [level, type, length]. Also returns the source's address, for
    /// an answer.
    func receiveDatagram(_ fd: Int32) throws(Stop) -> (fields: [String: Any], source: sockaddr_in) {
        var data = [UInt8](repeating: 0, count: 4096)
        var control = [UInt8](repeating: 0, count: 1024)
        var source = sockaddr_in()
        let received: Int
        var controlLength = 0
        var flags: Int32 = 0
        received = data.withUnsafeMutableBytes { dataBytes in
            control.withUnsafeMutableBytes { controlBytes in
                withUnsafeMutablePointer(to: &source) { sourcePointer in
                    var iov = iovec(iov_base: dataBytes.baseAddress, iov_len: dataBytes.count)
                    return withUnsafeMutablePointer(to: &iov) { iovPointer in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(sourcePointer)
                        message.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                        message.msg_iov = iovPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let n = recvmsg(fd, &message, 0)
                        controlLength = message.msg_controllen
                        flags = message.msg_flags
                        return n
                    }
                }
            }
        }
        guard received >= 0 else { throw fail("recvmsg") }
        var fields: [String: Any] = [
            "message": String(decoding: data[0..<received], as: UTF8.self), "from": Self.describe(source), "peer": NSNull(),
        ]
        if flags & Int32(MSG_CTRUNC) != 0 { fields["ctrunc"] = true }
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the data, every
        // header aligned to sizeof(size_t) (CMSG_FIRSTHDR/CMSG_NXTHDR; the macros are not in Swift).
        let header = MemoryLayout<Int>.size + 2 * MemoryLayout<Int32>.size
        let align = MemoryLayout<Int>.size
        var others: [[Int]] = []
        var offset = 0
        while offset + header <= controlLength {
            let length = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int.self) }
            let level = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + MemoryLayout<Int>.size, as: Int32.self) }
            let type = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + MemoryLayout<Int>.size + 4, as: Int32.self) }
            guard length >= header, offset + length <= controlLength else { break }
            let payload = control[(offset + header)..<(offset + length)]
            if level == solIP && type == scmSecurity {
                fields["peer"] = String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
                fields["peer_len"] = payload.count
                fields["nul"] = payload.last == 0
            } else {
                others.append([Int(level), Int(type), payload.count])
            }
            offset += (length + align - 1) / align * align
        }
        if !others.isEmpty { fields["cmsgs"] = others }
        return (fields, source)
    }
}
