import Foundation
import Glibc
import LinuxSystem  // Errno, SocketDescriptor

// The four programs of `salabel probe` (the VM tests' view of what a socket sees); each emits one
// event per result and stops with `.failed` when an expected event did not happen.
extension SocketProbe {
    /// Accepts `count` connections on `bind`:`port`; for each: SO_PEERSEC, one message read and echoed back.
    public func tcpServer(port: UInt16, bind: String, count: Int) throws(Stop) {
        try prepare()
        guard let address = Self.socketAddress(bind, port) else { throw .badArgument("--bind: an IPv4 address") }
        let fd = try socket(.stream, stage: "socket")
        defer { fd.close() }
        try? fd.setOption(level: SOL_SOCKET, SO_REUSEADDR, 1)
        try self.bind(fd, address)
        do { try fd.listen(backlog: 16) } catch { throw fail("listen", error) }
        emit(["event": "listening", "port": Int(port), "bind": bind])
        var failures = 0
        for _ in 0..<count {
            guard waitReadable(fd) else {
                emit(["event": "timeout", "stage": "accept"])
                throw .failed
            }
            let conn: SocketDescriptor, peerAddress: SocketEndpoint?
            do { (conn, peerAddress) = try fd.accept() } catch { throw fail("accept", error) }
            var event = peerSecurity(conn)
            event["event"] = "accepted"
            event["from"] = Self.describe(peerAddress)
            setTimeouts(conn)
            switch receive(conn) {
            case .success(let message):
                event["message"] = message
                if case .failure(let code) = send(message, on: conn) {
                    event["echo_errno"] = code.name
                    failures += 1
                }
            case .failure(let error):
                event["recv_errno"] = error.name
                failures += 1
            }
            conn.close()
            emit(event)
        }
        if failures > 0 { throw .failed }
    }

    /// Connects to `dst`:`port`, sends `message`, reads the echo; SO_PEERSEC on the client socket.
    public func tcpClient(dst: String, port: UInt16, message: String) throws(Stop) {
        try prepare()
        guard let address = Self.socketAddress(dst, port) else { throw .badArgument("--dst: an IPv4 address") }
        let fd = try socket(.stream, stage: "socket")
        defer { fd.close() }
        if let error = connect(fd, address) {
            emit(["event": "error", "stage": "connect", "errno": error.name, "timeout": error.timedOut])
            throw .failed
        }
        setTimeouts(fd)
        var event = peerSecurity(fd)
        event["event"] = "connected"
        var ok = true
        if case .failure(let code) = send(message, on: fd) {
            event["send_errno"] = code.name
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
        let fd = try socket(.datagram, stage: "socket")
        defer { fd.close() }
        do { try fd.setOption(level: solIP, ipPassSec, 1) } catch { throw fail("setsockopt IP_PASSSEC", error) }
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
        let fd = try socket(.datagram, stage: "socket")
        defer { fd.close() }
        setTimeouts(fd)
        let bytes = Array(message.utf8)
        switch bytes.withUnsafeBytes({ b in Result { () throws(Errno) in try fd.send(b, to: address, noSignal: true) } }) {
        case .success(let sent):
            emit(["event": "sent", "bytes": sent])
        case .failure(let code):
            emit(["event": "error", "stage": "sendto", "errno": code.name])
            throw .failed
        }
    }

    /// Sends `message` on a connected socket, without SIGPIPE: the count sent, or the errno.
    private func send(_ message: String, on socket: SocketDescriptor) -> Result<Int, Errno> {
        let bytes = Array(message.utf8)
        return bytes.withUnsafeBytes { b in Result { () throws(Errno) in try socket.send(b, noSignal: true) } }
    }
}
