import Foundation
import Glibc
import LinuxSystem  // Errno

// The four programs of `salabel probe` (the VM tests' view of what a socket sees); each emits one
// event per result and stops with `.failed` when an expected event did not happen.
extension SocketProbe {
    /// Accepts `count` connections on `bind`:`port`; for each: SO_PEERSEC, one message read and echoed back.
    public func tcpServer(port: UInt16, bind: String, count: Int) throws(Stop) {
        try prepare()
        guard let address = Self.socketAddress(bind, port) else { throw .badArgument("--bind: an IPv4 address") }
        let fd = try socket(SOCK_STREAM, stage: "socket")
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        try self.bind(fd, address)
        guard listen(fd, 16) == 0 else { throw fail("listen") }
        emit(["event": "listening", "port": Int(port), "bind": bind])
        var failures = 0
        for _ in 0..<count {
            guard waitReadable(fd) else {
                emit(["event": "timeout", "stage": "accept"])
                throw .failed
            }
            var peerAddress = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let conn = withUnsafeMutablePointer(to: &peerAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(fd, $0, &length) }
            }
            guard conn >= 0 else { throw fail("accept") }
            var event = peerSecurity(conn)
            event["event"] = "accepted"
            event["from"] = Self.describe(peerAddress)
            setTimeouts(conn)
            switch receive(conn) {
            case .success(let message):
                event["message"] = message
                if send(conn, message, message.utf8.count, Int32(MSG_NOSIGNAL)) < 0 {
                    event["echo_errno"] = Errno(rawValue: errno).name
                    failures += 1
                }
            case .failure(let error):
                event["recv_errno"] = error.name
                failures += 1
            }
            close(conn)
            emit(event)
        }
        if failures > 0 { throw .failed }
    }

    /// Connects to `dst`:`port`, sends `message`, reads the echo; SO_PEERSEC on the client socket.
    public func tcpClient(dst: String, port: UInt16, message: String) throws(Stop) {
        try prepare()
        guard let address = Self.socketAddress(dst, port) else { throw .badArgument("--dst: an IPv4 address") }
        let fd = try socket(SOCK_STREAM, stage: "socket")
        defer { close(fd) }
        if let error = connect(fd, address) {
            emit(["event": "error", "stage": "connect", "errno": error.name, "timeout": error.timedOut])
            throw .failed
        }
        setTimeouts(fd)
        var event = peerSecurity(fd)
        event["event"] = "connected"
        var ok = true
        if send(fd, message, message.utf8.count, Int32(MSG_NOSIGNAL)) < 0 {
            event["send_errno"] = Errno(rawValue: errno).name
            ok = false
        } else {
            switch receive(fd) {
            case .success(let echo):
                event["echo"] = echo
                ok = echo == message
            case .failure(let error):
                event["recv_errno"] = error.name
                ok = false
            }
        }
        emit(event)
        if !ok { throw .failed }
    }

    /// Receives `count` datagrams on `bind`:`port` with IP_PASSSEC: the SCM_SECURITY payload of each.
    public func udpServer(port: UInt16, bind: String, count: Int) throws(Stop) {
        try prepare()
        guard let address = Self.socketAddress(bind, port) else { throw .badArgument("--bind: an IPv4 address") }
        let fd = try socket(SOCK_DGRAM, stage: "socket")
        defer { close(fd) }
        var one: Int32 = 1
        guard setsockopt(fd, solIP, ipPassSec, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else { throw fail("setsockopt IP_PASSSEC") }
        try self.bind(fd, address)
        emit(["event": "listening", "port": Int(port), "bind": bind])
        for _ in 0..<count {
            guard waitReadable(fd) else {
                emit(["event": "timeout", "stage": "recvmsg"])
                throw .failed
            }
            var event = try receiveDatagram(fd).fields
            event["event"] = "datagram"
            emit(event)
        }
    }

    /// Sends `message` as one UDP datagram to `dst`:`port`.
    public func udpSend(dst: String, port: UInt16, message: String) throws(Stop) {
        try prepare()
        guard let address = Self.socketAddress(dst, port) else { throw .badArgument("--dst: an IPv4 address") }
        let fd = try socket(SOCK_DGRAM, stage: "socket")
        defer { close(fd) }
        setTimeouts(fd)
        var target = address
        let sent = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, message, message.utf8.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent >= 0 else {
            emit(["event": "error", "stage": "sendto", "errno": Errno(rawValue: errno).name])
            throw .failed
        }
        emit(["event": "sent", "bytes": sent])
    }
}
