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

    /// A socket of `kind` and `family` labeled `context` in `host`'s namespace; the errno name on failure.
    func labeledSocket(
        _ kind: SocketDescriptor.Kind, context: String, host: String, family: IPAddress.Family
    ) -> Result<SocketDescriptor, StepFailure> {
        defer { _ = SocketProbe.setSocketCreateContext(""); try? NetworkNamespace.enterOnCurrentThread(descriptor: originalNamespace) }
        guard enter("/run/netns/\(namespace(host))") else { return .failure(StepFailure("EHARNESS", "setns")) }
        // The kernel refuses a context the policy in force does not know (EINVAL: after a reload
        // step, an actor whose domain the new policy lacks).
        if let code = SocketProbe.setSocketCreateContext(context) { return .failure(StepFailure(Errno(rawValue: code).name, "sockcreate")) }
        let socket: SocketDescriptor
        do { socket = try .open(family == .inet ? .ipv4 : .ipv6, kind) } catch { return .failure(StepFailure(error.name, "socket")) }
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

    /// The server's socket of a traffic step, bound to the port on any address of `family` (and
    /// listening, for TCP; with `IP_PASSSEC`, for UDP: an IPv6 socket takes it too, and gets
    /// `SCM_SECURITY` for IPv4 datagrams only); the step's outcome when it cannot be made.
    func openListener(_ t: ScenarioStep.Traffic, family: IPAddress.Family) -> Result<SocketDescriptor, ListenerFailure> {
        let kind: SocketDescriptor.Kind = t.proto == .tcp ? .stream : .datagram
        let listener: SocketDescriptor
        switch labeledSocket(kind, context: t.serverContext.description, host: t.to, family: family) {
        case .success(let socket): listener = socket
        case .failure(let f): return .failure(ListenerFailure(outcome: StepOutcome(result: f.errno, stage: "server \(f.stage)", delivered: false)))
        }
        do { try listener.bind(to: .internet(address: IPAddress.any(family).bytes, port: t.port)) } catch {
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
        let server = scenario.layout.hosts[t.to]!.address
        let probe = probe(t, scenario: scenario)
        let kind: SocketDescriptor.Kind = t.proto == .tcp ? .stream : .datagram
        let listener: SocketDescriptor
        switch openListener(t, family: server.family) {
        case .success(let socket): listener = socket
        case .failure(let f): return f.outcome
        }
        defer { abort(listener) }
        let client: SocketDescriptor
        switch labeledSocket(kind, context: t.actorContext.description, host: t.from, family: server.family) {
        case .success(let socket): client = socket
        case .failure(let f): return StepOutcome(result: f.errno, stage: "client \(f.stage)", delivered: false)
        }
        defer { abort(client) }
        if let sp = t.socketPolicy, let failure = setSocketPolicy(sp, on: client, actor: t.actorContext) { return failure }
        let address = SocketEndpoint.internet(address: server.bytes, port: t.port)
        switch t.proto {
        case .tcp:
            if let failure = probe.connect(client, address) {
                return StepOutcome(result: failure.name, stage: "connect", delivered: false)
            }
            let peer = acceptedPeer(listener, probe)
            return StepOutcome(result: "ok", delivered: peer != nil, peer: peer, replyDelivered: true, replyPeer: peerLabel(client, probe))
        case .udp:
            if let code = sendDatagram(client, to: address) { return StepOutcome(result: code.name, stage: "sendto", delivered: false) }
            guard let request = receivedDatagram(listener, probe) else { return StepOutcome(result: "ok", delivered: false) }
            guard t.reply else { return StepOutcome(result: "ok", delivered: true, peer: request.peer) }
            echo(listener, to: request.source)
            guard let answer = receivedDatagram(client, probe) else {
                return StepOutcome(result: "ok", delivered: true, peer: request.peer, replyDelivered: false)
            }
            return StepOutcome(result: "ok", delivered: true, peer: request.peer, replyDelivered: true, replyPeer: answer.peer)
        }
    }

    // The socket calls of a traffic step, shared by the one-kernel runner and the pair's halves.

    /// Sets the step's socket policy on the client's socket as the actor, through a
    /// `guest-setsockopt` child that gets the socket as its descriptor 3 (``GuestSetSocketOption``);
    /// nil when set, else the step's outcome (the errno, stage `setsockopt`).
    func setSocketPolicy(_ sp: ScenarioStep.SocketPolicy, on socket: SocketDescriptor, actor: SecurityContext) -> StepOutcome? {
        let (level, name, bytes) = SocketPolicyOption.value(sp)
        let run = ChildProcess.run(
            [
                salabel, "scenario", "guest-setsockopt", "--context", actor.description, "--level", String(level), "--option", String(name),
                "--value", bytes.map { String(format: "%02x", $0) }.joined(),
            ], inheriting: [socket.rawValue])
        if run.status == 0 { return nil }
        if run.status > 0 && run.status < Self.actFailure {
            return StepOutcome(
                result: Errno(rawValue: run.status).name, stage: "setsockopt", delivered: false,
                notes: ["setsockopt(\(level == 0 ? "SOL_IP" : "SOL_IPV6"), \(sp.optionName)) as \(actor): exit \(run.status)"])
        }
        return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["guest-setsockopt exit \(run.status): \(run.output)"])
    }

    /// The peer label (getpeercon) of the connection waiting on `listener`, accepted then closed;
    /// nil when none came within the probe's timeout.
    func acceptedPeer(_ listener: SocketDescriptor, _ probe: SocketProbe) -> String? {
        guard probe.waitReadable(listener), let (accepted, _) = try? listener.accept() else { return nil }
        defer { abort(accepted) }
        return peerLabel(accepted, probe)
    }

    /// A connected socket's peer label (getpeercon), `none` when it has none.
    func peerLabel(_ socket: SocketDescriptor, _ probe: SocketProbe) -> String {
        (probe.peerSecurity(socket)["peer"] as? String) ?? "none"
    }

    /// Sends the request datagram, with `IP_PASSSEC` on for the echo; the errno when `sendto` failed.
    func sendDatagram(_ client: SocketDescriptor, to address: SocketEndpoint) -> Errno? {
        try? client.setOption(level: solIP, ipPassSec, 1)
        let sent = Array("ping".utf8).withUnsafeBytes { b in Result { () throws(Errno) in try client.send(b, to: address) } }
        if case .failure(let code) = sent { return code }
        return nil
    }

    /// A datagram that reached `socket` within the probe's timeout: its peer label (SCM_SECURITY,
    /// `none` without one) and its source.
    func receivedDatagram(_ socket: SocketDescriptor, _ probe: SocketProbe) -> (peer: String, source: SocketEndpoint?)? {
        guard probe.waitReadable(socket), let d = try? probe.receiveDatagram(socket) else { return nil }
        return ((d.fields["peer"] as? String) ?? "none", d.source)
    }

    /// The echo: back to the datagram's source, from the server's socket.
    func echo(_ listener: SocketDescriptor, to source: SocketEndpoint?) {
        guard let source else { return }
        _ = Array("pong".utf8).withUnsafeBytes { b in try? listener.send(b, to: source) }
    }
}
