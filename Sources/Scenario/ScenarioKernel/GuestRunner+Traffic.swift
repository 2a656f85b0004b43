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
    func labeledSocket(_ kind: SocketDescriptor.Kind, context: String, host: String) -> Result<SocketDescriptor, StepFailure> {
        defer { _ = SocketProbe.setSocketCreateContext(""); try? NetworkNamespace.enterOnCurrentThread(descriptor: originalNamespace) }
        guard enter("/run/netns/\(namespace(host))") else { return .failure(StepFailure("EHARNESS", "setns")) }
        guard SocketProbe.setSocketCreateContext(context) == nil else { return .failure(StepFailure("EHARNESS", "sockcreate")) }
        let socket: SocketDescriptor
        do { socket = try .open(.ipv4, kind) } catch { return .failure(StepFailure(error.name, "socket")) }
        try? socket.setOption(level: SOL_SOCKET, SO_REUSEADDR, 1)
        return .success(socket)
    }

    /// The step's outcome when the server's socket cannot be made.
    struct ListenerFailure: Error {
        var outcome: StepOutcome
    }

    struct StepFailure: Error {
        var errno: String
        var stage: String
        init(_ errno: String, _ stage: String) { self.errno = errno; self.stage = stage }
    }

    /// Closes with an RST (SO_LINGER 0), so that nothing of this step is still on the wire in the next.
    func abort(_ socket: SocketDescriptor) {
        socket.abort()
    }

    /// The TCP probe's timeout in a scenario keyed by IKE: two negotiations (the client's ACQUIRE,
    /// then the server's for its SYN-ACK) and TCP's SYN and SYN-ACK retransmissions after each
    /// larval drop (2.5–6 s in Specs/kernel/two-hosts.md §6).
    static let ikeConnectSeconds = 10.0

    /// The probe of a traffic step: TCP's connect waits longer in a scenario keyed by IKE.
    func probe(_ t: ScenarioStep.Traffic, scenario: Scenario) -> SocketProbe {
        SocketProbe(timeout: t.proto == .tcp ? (scenario.usesIKE ? Self.ikeConnectSeconds : 3) : 1.5, sockcreate: nil)
    }

    /// The server's socket of a traffic step, bound to the port on any address (and listening, for
    /// TCP; with `IP_PASSSEC`, for UDP); the step's outcome when it cannot be made.
    func openListener(_ t: ScenarioStep.Traffic) -> Result<SocketDescriptor, ListenerFailure> {
        let kind: SocketDescriptor.Kind = t.proto == .tcp ? .stream : .datagram
        let listener: SocketDescriptor
        switch labeledSocket(kind, context: t.serverContext.description, host: t.to) {
        case .success(let socket): listener = socket
        case .failure(let f): return .failure(ListenerFailure(outcome: StepOutcome(result: f.errno, stage: "server \(f.stage)", delivered: false)))
        }
        do { try listener.bind(to: .internet(address: [0, 0, 0, 0], port: t.port)) } catch {
            abort(listener)
            return .failure(ListenerFailure(outcome: StepOutcome(result: error.name, stage: "bind", delivered: false)))
        }
        if t.proto == .tcp {
            do { try listener.listen(backlog: 8) } catch {
                abort(listener)
                return .failure(ListenerFailure(outcome: StepOutcome(result: error.name, stage: "listen", delivered: false)))
            }
        } else {
            try? listener.setOption(level: solIP, ipPassSec, 1)
        }
        return .success(listener)
    }

    func traffic(_ t: ScenarioStep.Traffic, scenario: Scenario) -> StepOutcome {
        let server = scenario.layout.hosts[t.to]!.address.description
        let probe = probe(t, scenario: scenario)
        let kind: SocketDescriptor.Kind = t.proto == .tcp ? .stream : .datagram
        let listener: SocketDescriptor
        switch openListener(t) {
        case .success(let socket): listener = socket
        case .failure(let f): return f.outcome
        }
        defer { abort(listener) }
        let client: SocketDescriptor
        switch labeledSocket(kind, context: t.actorContext.description, host: t.from) {
        case .success(let socket): client = socket
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
                if let (accepted, _) = try? listener.accept() {
                    delivered = true
                    peer = (probe.peerSecurity(accepted)["peer"] as? String) ?? "none"
                    abort(accepted)
                }
            }
            let replyPeer = (probe.peerSecurity(client)["peer"] as? String) ?? "none"
            return StepOutcome(result: "ok", delivered: delivered, peer: delivered ? peer : nil, replyDelivered: true, replyPeer: replyPeer)
        case .udp:
            try? client.setOption(level: solIP, ipPassSec, 1)
            let sent = Array("ping".utf8).withUnsafeBytes { b in Result { () throws(Errno) in try client.send(b, to: address) } }
            if case .failure(let code) = sent { return StepOutcome(result: code.name, stage: "sendto", delivered: false) }
            guard probe.waitReadable(listener), let request = try? probe.receiveDatagram(listener) else {
                return StepOutcome(result: "ok", delivered: false)
            }
            let peer = (request.fields["peer"] as? String) ?? "none"
            guard t.reply else { return StepOutcome(result: "ok", delivered: true, peer: peer) }
            // The echo: back to the datagram's source, from the server's socket.
            if let back = request.source {
                _ = Array("pong".utf8).withUnsafeBytes { b in try? listener.send(b, to: back) }
            }
            guard probe.waitReadable(client), let answer = try? probe.receiveDatagram(client) else {
                return StepOutcome(result: "ok", delivered: true, peer: peer, replyDelivered: false)
            }
            return StepOutcome(result: "ok", delivered: true, peer: peer, replyDelivered: true, replyPeer: (answer.fields["peer"] as? String) ?? "none")
        }
    }
}
