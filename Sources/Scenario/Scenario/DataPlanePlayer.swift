import DataPlaneNode
import DecisionEngine
import ESPDataPlane
import IPsecModel
import Resolver
import SecurityContexts

/// Plays a scenario's UDP steps on the userspace data plane, beside the model: before each UDP step
/// the two hosts become `DataPlaneNode`s holding what the model's hosts hold at that point (the
/// xfrm steps before it played by the model), and the datagram and its echo are carried between
/// them as ESP packets (or clear segments). The outcome is compared with the model's, which agrees
/// with the kernel on every step (scripts/conformance): so the data plane is checked against the
/// kernel's behaviour on every scenario that sends datagrams (Specs/dataplane/node.md).
///
/// The data plane has its own access vector cache over each kernel's security server (one for every
/// host, or one per host on kernels of their own), kept across the steps as a kernel keeps its AVC
/// (a permissive denial is audited once), and reset when the kernel's is: by a boolean step, and by
/// a step that switches permissive mode to enforcing (``ScenarioModel``'s policy-state steps); a
/// reload step resets them by itself too (`SecurityServer.reload` tells every cache).
public struct DataPlanePlayer: StepPlayer {
    public struct Step: Sendable {
        public var step: ScenarioStep
        public var model: StepOutcome
        /// `nil` for steps the data plane does not play (xfrm requests, TCP, datagrams sent with a
        /// per-socket policy).
        public var dataPlane: StepOutcome?
        /// Where the two differ (labels compared in their canonical form).
        public var differences: [String]
        /// The expectations the data plane does not meet.
        public var unmet: [String]
    }

    public let scenario: Scenario
    private var model: ScenarioModel
    private let authorizers: [String: AssociationAuthorizer]

    public init(_ scenario: Scenario) throws(Scenario.Error) {
        self.scenario = scenario
        model = try ScenarioModel(scenario)
        authorizers = model.newAuthorizers()
    }

    /// Plays every step.
    public mutating func run() -> [Step] {
        scenario.steps.map { playBeside($0) }
    }

    /// Plays one step on the data plane (a UDP step) and on the model: both outcomes and where
    /// they differ.
    public mutating func playBeside(_ step: ScenarioStep) -> Step {
        guard carries(step), case .traffic(let t) = step.action else {
            // A step that switches a kernel to enforcing resets this player's caches as the
            // model's (a boolean step resets every cache over the server by itself).
            let flushed = model.modeFlushes(step)
            let outcome = model.play(step)
            for host in flushed { authorizers[host]!.cache.reset(seqno: 0) }
            return Step(step: step, model: outcome, dataPlane: nil, differences: [], unmet: [])
        }
        let mine = carry(t)
        let theirs = model.play(step)
        let canonical = model.canonical
        return Step(
            step: step, model: theirs, dataPlane: mine,
            differences: mine.differences(from: theirs, canonical: canonical, names: ("data plane", "model")),
            unmet: mine.unmet(step.expect, canonical: canonical))
    }

    /// Whether the data plane plays `step`: a UDP step without a per-socket policy, in a scenario
    /// without NetLabel. The nodes' sockets have no per-socket policies (such a datagram is not
    /// sent without one), their datagrams carry no IP options and their hosts no NetLabel tables,
    /// so with `netlabel:` lines (CIPSO options, static labels; Specs/kernel/labeled-ipsec.md,
    /// edge 22) every step is the model's alone, as TCP steps are. So is a datagram routed through
    /// a gateway (`hosts.NAME.routes`): the data plane joins two nodes by one link and has no third
    /// that forwards (Specs/kernel/labeled-ipsec.md §b.5).
    public func carries(_ step: ScenarioStep) -> Bool {
        guard case .traffic(let t) = step.action, t.proto == .udp, t.socketPolicy == nil else { return false }
        return scenario.netLabel.isEmpty && scenario.forwarding.gateway(from: t.from, to: t.to) == nil
    }

    /// The data plane's outcome of a UDP step; the model's for the steps the data plane does not
    /// play (xfrm requests, TCP), which it needs played to hold what the model's hosts hold.
    public mutating func play(_ step: ScenarioStep) -> StepOutcome {
        let s = playBeside(step)
        return s.dataPlane ?? s.model
    }

    /// One UDP step on two nodes built from the model's hosts as they are now.
    private func carry(_ t: ScenarioStep.Traffic) -> StepOutcome {
        var records: [AVCLine] = []
        var notes: [String] = []
        func outcome(
            _ result: String, stage: String? = nil, delivered: Bool? = nil, peer: String? = nil, replyDelivered: Bool? = nil,
            replyPeer: String? = nil, acquire: [String: String] = [:]
        ) -> StepOutcome {
            StepOutcome(
                result: result, stage: stage, delivered: delivered, peer: peer, replyDelivered: replyDelivered, replyPeer: replyPeer,
                acquire: acquire, avc: records, notes: notes)
        }
        guard let src = scenario.layout.hosts[t.from]?.address, let dst = scenario.layout.hosts[t.to]?.address else {
            return outcome("EINVAL", stage: "data plane")
        }
        // A context the policy in force does not know labels no socket (ScenarioModel.sockcreateRefuses).
        if model.sockcreateRefuses(t.serverContext, on: t.to) { return outcome("EINVAL", stage: "server sockcreate", delivered: false) }
        if model.sockcreateRefuses(t.actorContext, on: t.from) { return outcome("EINVAL", stage: "client sockcreate", delivered: false) }
        func node(_ host: String, _ address: IPAddress) throws(DataPlaneError) -> DataPlaneNode {
            let m = model.resolver(host)
            var r = Resolver(mirror: m.mirror, authorizer: authorizers[host]!)
            r.keyManagerListening = m.keyManagerListening
            r.netLabelConfigured = m.netLabelConfigured
            r.labeledXfrmElsewhere = m.labeledXfrmElsewhere
            return try DataPlaneNode(address: address, resolver: r)
        }
        let client: DataPlaneNode, server: DataPlaneNode
        do {
            client = try node(t.from, src)
            server = try node(t.to, dst)
        } catch {
            notes.append("the data plane cannot hold these SAs: \(error)")
            return outcome("EINVAL", stage: "data plane")
        }
        // The server binds the port; the client sends from an unbound socket (autobind).
        do {
            let (_, checks) = try server.bind(port: t.port, context: t.serverContext)
            records += checks.compactMap(\.record).map { model.line($0, on: t.to) }
        } catch {
            if case .bindDenied(_, _, let r) = error { records += r.map { model.line($0, on: t.to) } }
            notes.append("\(error)")
            return outcome(error == .portInUse(t.port) ? "EADDRINUSE" : "EACCES", stage: "bind", delivered: false)
        }
        let clientPort: UInt16
        do { clientPort = try client.bind(port: 0, context: t.actorContext).port } catch {
            notes.append("\(error)")
            return outcome("EINVAL", stage: "socket")
        }
        var acquire: [String: String] = [:]
        /// Sends from `sender` and receives at `receiver`: whether it was delivered, the peer label
        /// seen, and the errno of the send (nil when the send succeeded or only waits for an SA).
        func move(
            _ data: [UInt8], from sender: DataPlaneNode, _ senderHost: String, port: UInt16, to receiver: DataPlaneNode,
            _ receiverHost: String, dport: UInt16
        ) -> (delivered: Bool, peer: SecurityContext?, error: String?) {
            let out = sender.send(data, from: port, to: receiver.address, port: dport)
            records += out.records.map { model.line($0, on: senderHost) }
            notes += out.checks.map(\.description)
            let inbound: InboundResult
            switch out.outcome {
            case .esp(let packet, _): inbound = receiver.receiveESP(packet)
            case .clear(let segment, _): inbound = receiver.receiveClear(segment, from: sender.address)
            case .acquire(let e):
                acquire[senderHost] = e.label?.description ?? "unlabeled"
                return (false, nil, nil)
            case .refused(let errno, let reason):
                notes.append("send refused: \(errno) \(reason)")
                // A postroute denial (egress, secmark, D4) is sendmsg's ECONNREFUSED
                // (`NF_DROP_ERR`, as the model counts it); an in-progress ACQUIRE only makes the
                // datagram wait.
                return (false, nil, errno == "EAGAIN" && reason.contains("in progress") ? nil : errno)
            }
            records += inbound.records.map { model.line($0, on: receiverHost) }
            notes += inbound.checks.map(\.description)
            if case .dropped(let why) = inbound.outcome { notes.append("dropped: \(why)") }
            return (inbound.delivery != nil, inbound.delivery?.peer, nil)
        }
        let request = move(Array("salabel".utf8), from: client, t.from, port: clientPort, to: server, t.to, dport: t.port)
        if let e = request.error { return outcome(e, stage: "sendto", delivered: false, acquire: acquire) }
        guard request.delivered else { return outcome("ok", delivered: false, acquire: acquire) }
        // What the server's socket reads: SCM_SECURITY is IPv4 only (ScenarioModel.peerRead).
        let peer = ScenarioModel.peerRead(model.peerContext(request.peer, on: t.to), proto: .udp, family: dst.family)
        guard t.reply else { return outcome("ok", delivered: true, peer: peer, acquire: acquire) }
        let reply = move(Array("salabel".utf8), from: server, t.to, port: t.port, to: client, t.from, dport: clientPort)
        return outcome(
            "ok", delivered: true, peer: peer, replyDelivered: reply.delivered,
            replyPeer: reply.delivered ? ScenarioModel.peerRead(model.peerContext(reply.peer, on: t.from), proto: .udp, family: src.family) : nil,
            acquire: acquire)
    }
}
