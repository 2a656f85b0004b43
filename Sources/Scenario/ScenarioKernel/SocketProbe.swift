import Foundation
import Glibc
import LinuxSystem  // Errno, SocketDescriptor

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
            let fd: Int32
            switch valueOrErrno({ open(path, O_WRONLY) }) {
            case .success(let opened): fd = opened
            case .failure(let code):
                lastError = code.rawValue
                continue
            }
            defer { close(fd) }
            switch valueOrErrno({ text.withCString { write(fd, $0, strlen($0)) } }) {
            case .success: return nil
            case .failure(let code): lastError = code.rawValue
            }
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

    /// Emits an error event for the call that failed with `code` and returns the stop to throw.
    func fail(_ stage: String, _ code: Errno) -> Stop {
        emit(["event": "error", "stage": stage, "errno": code.name])
        return .failed
    }

    /// An IPv4 address and port, or nil when `text` is not an IPv4 address.
    static func socketAddress(_ text: String, _ port: UInt16) -> SocketEndpoint? {
        SocketEndpoint(ipv4: text, port: port)
    }

    /// `address:port`.
    static func describe(_ address: SocketEndpoint?) -> String {
        address?.text ?? "0.0.0.0:0"
    }

    /// An IPv4 socket of `kind`.
    func socket(_ kind: SocketDescriptor.Kind, stage: String) throws(Stop) -> SocketDescriptor {
        do { return try .open(.ipv4, kind) } catch { throw fail(stage, error) }
    }

    func bind(_ socket: SocketDescriptor, _ address: SocketEndpoint) throws(Stop) {
        do { try socket.bind(to: address) } catch { throw fail("bind", error) }
    }

    private var timeoutMilliseconds: Int32 { Int32(max(0, min(timeout * 1000, Double(Int32.max)))) }

    /// poll(POLLIN) with the timeout; false on timeout.
    func waitReadable(_ socket: SocketDescriptor) -> Bool {
        (try? socket.wait(for: .readable, milliseconds: timeoutMilliseconds)) == true
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO set to the timeout.
    func setTimeouts(_ socket: SocketDescriptor) {
        socket.setTimeouts(seconds: timeout)
    }

    /// A non-blocking connect waited for with poll: nil when connected, else the errno (ETIMEDOUT
    /// after the timeout, marked `timedOut`).
    func connect(_ socket: SocketDescriptor, _ address: SocketEndpoint) -> Failure? {
        socket.setNonBlocking(true)
        defer { socket.setNonBlocking(false) }
        do {
            try socket.connect(to: address)
            return nil
        } catch {
            guard error == .nowInProgress else { return Failure(name: error.name) }
        }
        do {
            guard try socket.wait(for: .writable, milliseconds: timeoutMilliseconds) else { return Failure(name: Errno.timedOut.name, timedOut: true) }
            return try socket.pendingError().map { Failure(name: $0.name) }
        } catch {
            return Failure(name: error.name)
        }
    }

    /// One recv of up to 4 KiB, as text; a timeout is EAGAIN.
    func receive(_ socket: SocketDescriptor) -> Result<String, Failure> {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let received = buffer.withUnsafeMutableBytes { b in Result { () throws(Errno) in try socket.receive(into: b) } }
        switch received {
        case .success(let n): return .success(String(decoding: buffer[0..<n], as: UTF8.self))
        case .failure(let code): return .failure(Failure(name: code.name, timedOut: code == .wouldBlock))
        }
    }

    /// getsockopt(SOL_SOCKET, SO_PEERSEC) with the kernel's semantics (edge 24): ENOPROTOOPT when the
    /// socket has no peer label; ERANGE with the required length in optlen when the buffer is short
    /// (the first call uses a 16-byte buffer on purpose, then retries with that length); the returned
    /// length counts the trailing NUL. Fields: peer (the string up to the first NUL, or null), errno,
    /// peer_len (the returned length), nul (whether the last byte is NUL), erange_len.
    func peerSecurity(_ socket: SocketDescriptor) -> [String: Any] {
        var fields: [String: Any] = ["peer": NSNull(), "errno": NSNull()]
        var buffer = [UInt8](repeating: 0, count: 16)
        var (length, error) = buffer.withUnsafeMutableBytes { socket.option(level: SOL_SOCKET, soPeerSec, into: $0) }
        if error == .outOfRange {
            fields["erange_len"] = length
            buffer = [UInt8](repeating: 0, count: length)
            (length, error) = buffer.withUnsafeMutableBytes { socket.option(level: SOL_SOCKET, soPeerSec, into: $0) }
        }
        if let error {
            fields["errno"] = error.name
            return fields
        }
        let bytes = buffer[0..<min(length, buffer.count)]
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
    func receiveDatagram(_ socket: SocketDescriptor) throws(Stop) -> (fields: [String: Any], source: SocketEndpoint?) {
        var data = [UInt8](repeating: 0, count: 4096)
        var control = [UInt8](repeating: 0, count: 1024)
        let message = data.withUnsafeMutableBytes { dataBytes in
            control.withUnsafeMutableBytes { controlBytes in
                Result { () throws(Errno) in try socket.receiveMessage(into: dataBytes, control: controlBytes) }
            }
        }
        let received: Int, controlLength: Int, flags: Int32, source: SocketEndpoint?
        switch message {
        case .success(let m): (received, controlLength, flags, source) = (m.count, m.controlLength, m.flags, m.source)
        case .failure(let code): throw fail("recvmsg", code)
        }
        var fields: [String: Any] = [
            "message": String(decoding: data[0..<received], as: UTF8.self), "from": Self.describe(source), "peer": NSNull(),
        ]
        if flags & SocketDescriptor.controlTruncated != 0 { fields["ctrunc"] = true }
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
