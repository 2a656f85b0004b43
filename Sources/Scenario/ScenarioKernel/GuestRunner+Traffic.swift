import Foundation
import Glibc
import IPsecModel
import LinuxSystem
import NetlinkProtocol
import NetlinkSocket
import Scenario
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

extension GuestRunner {
    func enter(_ path: String) -> Bool {
        (try? NetworkNamespace.path(path).enterOnCurrentThread()) != nil
    }

    /// A socket of `type` labeled `context` in `host`'s namespace; the errno name on failure.
    func labeledSocket(_ type: __socket_type, context: String, host: String) -> Result<Int32, StepFailure> {
        defer { _ = SocketProbe.setSocketCreateContext(""); try? NetworkNamespace.enterOnCurrentThread(descriptor: originalNamespace) }
        guard enter("/run/netns/\(namespace(host))") else { return .failure(StepFailure("EHARNESS", "setns")) }
        guard SocketProbe.setSocketCreateContext(context) == nil else { return .failure(StepFailure("EHARNESS", "sockcreate")) }
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { return .failure(StepFailure(Errno(rawValue: errno).name, "socket")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        return .success(fd)
    }

    struct StepFailure: Error {
        var errno: String
        var stage: String
        init(_ errno: String, _ stage: String) { self.errno = errno; self.stage = stage }
    }

    /// Closes with an RST (SO_LINGER 0), so that nothing of this step is still on the wire in the next.
    func abort(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    func traffic(_ t: ScenarioStep.Traffic, scenario: Scenario) -> StepOutcome {
        let server = scenario.layout.hosts[t.to]!.address.description
        let probe = SocketProbe(timeout: t.proto == .tcp ? 3 : 1.5, sockcreate: nil)
        let type = t.proto == .tcp ? SOCK_STREAM : SOCK_DGRAM
        var listener: Int32 = -1
        switch labeledSocket(type, context: t.serverContext.description, host: t.to) {
        case .success(let fd): listener = fd
        case .failure(let f): return StepOutcome(result: f.errno, stage: "server \(f.stage)", delivered: false)
        }
        defer { abort(listener) }
        var any = sockaddr_in()
        any.sin_family = sa_family_t(AF_INET)
        any.sin_port = t.port.bigEndian
        let bound = withUnsafePointer(to: &any) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return StepOutcome(result: Errno(rawValue: errno).name, stage: "bind", delivered: false) }
        var one: Int32 = 1
        if t.proto == .tcp {
            guard listen(listener, 8) == 0 else { return StepOutcome(result: Errno(rawValue: errno).name, stage: "listen", delivered: false) }
        } else {
            setsockopt(listener, Int32(solIP), ipPassSec, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var client: Int32 = -1
        switch labeledSocket(type, context: t.actorContext.description, host: t.from) {
        case .success(let fd): client = fd
        case .failure(let f): return StepOutcome(result: f.errno, stage: "client \(f.stage)", delivered: false)
        }
        defer { abort(client) }
        guard let address = SocketProbe.socketAddress(server, t.port) else { return StepOutcome(result: "EINVAL", stage: "harness") }
        switch t.proto {
        case .tcp:
            if let failure = probe.connect(client, address) {
                return StepOutcome(result: failure.name, stage: "connect", delivered: false)
            }
            var peer = "none"
            var delivered = false
            if probe.waitReadable(listener) {
                let accepted = accept(listener, nil, nil)
                if accepted >= 0 {
                    delivered = true
                    peer = (probe.peerSecurity(accepted)["peer"] as? String) ?? "none"
                    abort(accepted)
                }
            }
            let replyPeer = (probe.peerSecurity(client)["peer"] as? String) ?? "none"
            return StepOutcome(result: "ok", delivered: delivered, peer: delivered ? peer : nil, replyDelivered: true, replyPeer: replyPeer)
        case .udp:
            setsockopt(client, Int32(solIP), ipPassSec, &one, socklen_t(MemoryLayout<Int32>.size))
            var a = address
            let sent = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(client, "ping", 4, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard sent >= 0 else { return StepOutcome(result: Errno(rawValue: errno).name, stage: "sendto", delivered: false) }
            guard probe.waitReadable(listener), let request = try? probe.receiveDatagram(listener) else {
                return StepOutcome(result: "ok", delivered: false)
            }
            let peer = (request.fields["peer"] as? String) ?? "none"
            guard t.reply else { return StepOutcome(result: "ok", delivered: true, peer: peer) }
            // The echo: back to the datagram's source, from the server's socket.
            var back = request.source
            _ = withUnsafePointer(to: &back) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(listener, "pong", 4, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard probe.waitReadable(client), let answer = try? probe.receiveDatagram(client) else {
                return StepOutcome(result: "ok", delivered: true, peer: peer, replyDelivered: false)
            }
            return StepOutcome(result: "ok", delivered: true, peer: peer, replyDelivered: true, replyPeer: (answer.fields["peer"] as? String) ?? "none")
        }
    }
}
