import ArgumentParser
import Foundation
import NetlinkProtocol  // Errno: the C names of error numbers (a dependency of XfrmManager)

#if canImport(Glibc)
import Glibc
#endif

// `salabel probe …` (hidden): the guest-side test program that asks the kernel what a socket sees —
// getsockopt(SO_PEERSEC) on TCP sockets, SCM_SECURITY control messages on IPv4 UDP sockets with
// IP_PASSSEC (Specs/kernel/labeled-ipsec.md §b.4, edge cases 24 and 25). Plain Glibc sockets; every blocking
// call has a timeout; one JSON object per line on standard output, flushed at once, so that a script
// can read results while the probe still runs. The resolver's predictions are compared with these
// lines in the VM (Tests/KernelVMTests/ResolverVMTests.swift).
//
// Exit status: 0 when every expected event happened, 1 otherwise (a timeout, a refused connection,
// a failed call), 2 for bad arguments.

/// `SOL_SOCKET` option `SO_PEERSEC` (asm-generic/socket.h).
let soPeerSec: Int32 = 31
/// `SOL_IP` (0) option `IP_PASSSEC` (linux/in.h).
let ipPassSec: Int32 = 18
/// `SOL_IP` control message type `SCM_SECURITY` (linux/in.h).
let scmSecurity: Int32 = 3
let solIP: Int32 = 0

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Test sockets: what getpeercon (SO_PEERSEC) and SCM_SECURITY report (for the VM tests).",
        discussion: """
            Each result is one line of JSON. Run under runcon to give the process (and so its sockets) a context, or pass --sockcreate CTX to label the probe's sockets through /proc/thread-self/attr/sockcreate.
            """,
        shouldDisplay: false,
        subcommands: [TCPServer.self, TCPClient.self, UDPServer.self, UDPSend.self])

    struct Common: ParsableArguments {
        @Option(help: "Seconds every blocking call may take.") var timeout: Double = 10
        @Option(help: "Context for the probe's sockets (written to /proc/thread-self/attr/sockcreate first).") var sockcreate: String?
    }

    // MARK: - tcp-server

    struct TCPServer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tcp-server",
            abstract: "Accept N connections; for each: SO_PEERSEC, read a message, echo it back.")
        @Option(help: "The local port to listen on.") var port: UInt16
        @Option(help: "Local IPv4 address to bind.") var bind: String = "0.0.0.0"
        @Option(help: "Connections to accept.") var count: Int = 1
        @OptionGroup var common: Common

        func run() throws {
            let probe = Probe(common)
            try probe.prepare()
            guard let address = Probe.socketAddress(bind, port) else { throw ValidationError("--bind: an IPv4 address") }
            let fd = try probe.socket(SOCK_STREAM, stage: "socket")
            defer { close(fd) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            try probe.bind(fd, address)
            guard listen(fd, 16) == 0 else { throw probe.fail("listen") }
            probe.emit(["event": "listening", "port": Int(port), "bind": bind])
            var failures = 0
            for _ in 0..<count {
                guard probe.waitReadable(fd) else {
                    probe.emit(["event": "timeout", "stage": "accept"])
                    throw ExitCode(1)
                }
                var peerAddress = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let conn = withUnsafeMutablePointer(to: &peerAddress) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(fd, $0, &length) }
                }
                guard conn >= 0 else { throw probe.fail("accept") }
                var event = probe.peerSecurity(conn)
                event["event"] = "accepted"
                event["from"] = Probe.describe(peerAddress)
                probe.setTimeouts(conn)
                switch probe.receive(conn) {
                case .success(let message):
                    event["message"] = message
                    if send(conn, message, message.utf8.count, Int32(MSG_NOSIGNAL)) < 0 {
                        event["echo_errno"] = Probe.errnoName(errno)
                        failures += 1
                    }
                case .failure(let error):
                    event["recv_errno"] = error.name
                    failures += 1
                }
                close(conn)
                probe.emit(event)
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    // MARK: - tcp-client

    struct TCPClient: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tcp-client",
            abstract: "Connect, send a message, read the echo; SO_PEERSEC on the client's socket.")
        @Option(help: "The destination's IPv4 address.") var dst: String
        @Option(help: "The destination port.") var port: UInt16
        @Option(help: "The message to send.") var message: String = "salabel-probe"
        @OptionGroup var common: Common

        func run() throws {
            let probe = Probe(common)
            try probe.prepare()
            guard let address = Probe.socketAddress(dst, port) else { throw ValidationError("--dst: an IPv4 address") }
            let fd = try probe.socket(SOCK_STREAM, stage: "socket")
            defer { close(fd) }
            if let error = probe.connect(fd, address) {
                probe.emit(["event": "error", "stage": "connect", "errno": error.name, "timeout": error.timedOut])
                throw ExitCode(1)
            }
            probe.setTimeouts(fd)
            var event = probe.peerSecurity(fd)
            event["event"] = "connected"
            var ok = true
            if send(fd, message, message.utf8.count, Int32(MSG_NOSIGNAL)) < 0 {
                event["send_errno"] = Probe.errnoName(errno)
                ok = false
            } else {
                switch probe.receive(fd) {
                case .success(let echo):
                    event["echo"] = echo
                    ok = echo == message
                case .failure(let error):
                    event["recv_errno"] = error.name
                    ok = false
                }
            }
            probe.emit(event)
            if !ok { throw ExitCode(1) }
        }
    }

    // MARK: - udp-server

    struct UDPServer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "udp-server",
            abstract: "An IPv4 UDP socket with IP_PASSSEC: the SCM_SECURITY payload of each datagram.")
        @Option(help: "The local port to listen on.") var port: UInt16
        @Option(help: "Local IPv4 address to bind.") var bind: String = "0.0.0.0"
        @Option(help: "Datagrams to receive.") var count: Int = 1
        @OptionGroup var common: Common

        func run() throws {
            let probe = Probe(common)
            try probe.prepare()
            guard let address = Probe.socketAddress(bind, port) else { throw ValidationError("--bind: an IPv4 address") }
            let fd = try probe.socket(SOCK_DGRAM, stage: "socket")
            defer { close(fd) }
            var one: Int32 = 1
            guard setsockopt(fd, solIP, ipPassSec, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else { throw probe.fail("setsockopt IP_PASSSEC") }
            try probe.bind(fd, address)
            probe.emit(["event": "listening", "port": Int(port), "bind": bind])
            for _ in 0..<count {
                guard probe.waitReadable(fd) else {
                    probe.emit(["event": "timeout", "stage": "recvmsg"])
                    throw ExitCode(1)
                }
                var event = try probe.receiveDatagram(fd).fields
                event["event"] = "datagram"
                probe.emit(event)
            }
        }
    }

    // MARK: - udp-send

    struct UDPSend: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "udp-send", abstract: "Send one UDP datagram.")
        @Option(help: "The destination's IPv4 address.") var dst: String
        @Option(help: "The destination port.") var port: UInt16
        @Option(help: "The message to send.") var message: String = "salabel-probe"
        @OptionGroup var common: Common

        func run() throws {
            let probe = Probe(common)
            try probe.prepare()
            guard let address = Probe.socketAddress(dst, port) else { throw ValidationError("--dst: an IPv4 address") }
            let fd = try probe.socket(SOCK_DGRAM, stage: "socket")
            defer { close(fd) }
            probe.setTimeouts(fd)
            var target = address
            let sent = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, message, message.utf8.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard sent >= 0 else {
                probe.emit(["event": "error", "stage": "sendto", "errno": Probe.errnoName(errno)])
                throw ExitCode(1)
            }
            probe.emit(["event": "sent", "bytes": sent])
        }
    }
}

/// The socket calls the probes share.
struct Probe {
    struct Failure: Error {
        var name: String
        var timedOut: Bool = false
    }

    let timeout: Double
    let sockcreate: String?

    init(_ common: ProbeCommand.Common) {
        timeout = common.timeout
        sockcreate = common.sockcreate
    }

    init(timeout: Double, sockcreate: String?) {
        self.timeout = timeout
        self.sockcreate = sockcreate
    }

    static func errnoName(_ code: Int32) -> String { Errno(rawValue: code).cName ?? "errno \(code)" }

    /// This thread's context, or nil without SELinux.
    static func ownContext() -> String? {
        for path in ["/proc/thread-self/attr/current", "/proc/self/attr/current"] {
            if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
                return String(decoding: data.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return nil
    }

    /// SIGPIPE off; the socket-creation context when --sockcreate is given.
    func prepare() throws {
        signal(SIGPIPE, SIG_IGN)
        guard let sockcreate else { return }
        if let error = Self.setSocketCreateContext(sockcreate) {
            emit(["event": "error", "stage": "sockcreate", "errno": Self.errnoName(error), "context": sockcreate])
            throw ExitCode(1)
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

    func emit(_ fields: [String: Any]) {
        var object = fields
        object["self"] = Self.ownContext() ?? NSNull()
        if let sockcreate { object["sockcreate"] = sockcreate }
        // Unbuffered: a script reads the lines while the probe still runs.
        FileHandle.standardOutput.write(Data((jsonText(object) + "\n").utf8))
    }

    /// Prints an error event for a failed call and returns the exit to throw.
    func fail(_ stage: String) -> ExitCode {
        emit(["event": "error", "stage": stage, "errno": Self.errnoName(errno)])
        return ExitCode(1)
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

    func socket(_ type: __socket_type, stage: String) throws -> Int32 {
        let fd = Glibc.socket(AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { throw fail(stage) }
        return fd
    }

    func bind(_ fd: Int32, _ address: sockaddr_in) throws {
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
        guard errno == EINPROGRESS else { return Failure(name: Self.errnoName(errno)) }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&p, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
        if ready == 0 { return Failure(name: Self.errnoName(ETIMEDOUT), timedOut: true) }
        if ready < 0 { return Failure(name: Self.errnoName(errno)) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return Failure(name: Self.errnoName(errno)) }
        return error == 0 ? nil : Failure(name: Self.errnoName(error))
    }

    /// One recv of up to 4 KiB, as text; a timeout is EAGAIN.
    func receive(_ fd: Int32) -> Result<String, Failure> {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n >= 0 else { return .failure(Failure(name: Self.errnoName(errno), timedOut: errno == EAGAIN)) }
        return .success(String(decoding: buffer[0..<n], as: UTF8.self))
    }

    /// getsockopt(SOL_SOCKET, SO_PEERSEC) with the kernel's semantics (Specs/kernel/labeled-ipsec.md, edge
    /// 24): ENOPROTOOPT when the socket has no peer label; ERANGE with the required length in optlen when the
    /// buffer is short (the first call uses a 16-byte buffer on purpose, then retries with that length); the
    /// returned length counts the trailing NUL. Fields: peer (the string up to the first NUL, or null),
    /// errno, peer_len (the returned length), nul (whether the last byte is NUL), erange_len.
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
            fields["errno"] = Self.errnoName(errno)
            return fields
        }
        let bytes = buffer[0..<min(Int(length), buffer.count)]
        fields["peer"] = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        fields["peer_len"] = bytes.count
        fields["nul"] = bytes.last == 0
        return fields
    }

    /// recvmsg with a control buffer: the datagram, its source, and the SOL_IP/SCM_SECURITY payload (peer:
    /// the string up to the first NUL, nul: whether the payload ends with one, peer_len), or peer null when
    /// no such control message came (unlabeled traffic; Specs/kernel/labeled-ipsec.md, edge 25). Other
    /// control messages are listed as "cmsgs" [level, type, length]. Also returns the source's address, for
    /// an answer.
    func receiveDatagram(_ fd: Int32) throws -> (fields: [String: Any], source: sockaddr_in) {
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
