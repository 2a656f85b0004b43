public import IPsecModel
public import SecurityContexts

/// One flow's whole path of decisions between two hosts, and its reply's: the sender's SPD entry
/// and SA (or ACQUIRE), the receiver's inbound policy check, the label the receiving socket sees
/// and its checks; then the same for the reply, classified with the receiver's connection context
/// (TCP; Specs/kernel/labeled-ipsec.md, edge 23) or socket context (UDP).
public struct PathTrace: Sendable, Hashable {
    /// One stage of the path, at one host.
    public struct Leg: Sendable, Hashable {
        public enum Stage: String, Sendable, Hashable {
            case outbound, inboundPolicy = "inbound-policy", delivery
            /// A gateway's FWD policy check on a packet it forwards (Specs/kernel/labeled-ipsec.md §b.5).
            case forwardPolicy = "forward-policy"
            /// A gateway's outbound lookup and peer checks for a packet it forwards (§b.5).
            case forward
        }

        public var stage: Stage
        /// The host's address.
        public var host: IPAddress
        public var checks: [ResolutionCheck]
        public var passed: Bool
        /// What happened, for people: "sent on SA spi 0x…", "ACQUIRE carrying …", "delivered: … sees …".
        public var verdict: String
    }

    public var flow: Flow
    public var legs: [Leg]
    /// The outbound outcome at the sender.
    public var outbound: OutboundResolution.Outcome
    /// For an outcome of a missing SA: the index of the entry's template that found none
    /// (``OutboundResolution/template``).
    public var outboundTemplate: Int?
    /// The packet reached the receiving socket.
    public var delivered: Bool
    /// The peer label the receiving socket sees (getpeercon / SCM_SECURITY); `nil` when not
    /// delivered or unlabeled.
    public var peerSeen: SecurityContext?
    /// The reply's path, when one was traced and the request was delivered.
    public var reply: [PathTrace]
    /// The SAs the sender's route applies to the packet (``OutboundResolution/carrying``; empty
    /// in the clear): what `selinux_xfrm_postroute_last` looks at (D4).
    public var outboundBundle: [SecurityAssociation] = []

    /// The request and, when traced, its reply were both delivered.
    public var roundTrip: Bool { delivered && reply.allSatisfy(\.roundTrip) }

    /// Traces `flow` from `sender` to `receiver`, delivered to a socket labeled `socket`; with
    /// `reply`, also the socket's answer back to the flow's socket. `socketPolicy` is the sending
    /// socket's outbound per-socket policy, for the request only (the answering socket has none).
    public static func trace(
        _ flow: Flow, sender: Resolver, receiver: Resolver, socket: SecurityContext, reply: Bool = true, socketPolicy: PolicyEntry? = nil
    ) -> PathTrace {
        var legs: [Leg] = []
        let out = sender.outbound(flow, socketPolicy: socketPolicy)
        // The trace of a packet that does not reach the socket, with the legs it went through.
        func undelivered(_ legs: [Leg]) -> PathTrace {
            PathTrace(
                flow: flow, legs: legs, outbound: out.outcome, outboundTemplate: out.template, delivered: false, peerSeen: nil, reply: [],
                outboundBundle: out.carrying)
        }
        var secPath: [SecurityAssociation]?
        let verdict: String
        switch out.outcome {
        case .bypass:
            verdict = "no SPD entry applies: sent without IPsec"
            secPath = []
        case .blocked: verdict = "blocked by the SPD entry: dropped"
        case .invalid: verdict = "EINVAL: a labeled SPD entry and a flow without a label; no ACQUIRE"
        case .acquire(_, let label):
            verdict = "no usable SA: the kernel sends an ACQUIRE" + (label.map { " carrying \($0)" } ?? " without a label") + "; the packet waits"
        case .acquireInProgress(_, let pending):
            verdict = "no usable SA; ACQUIRE seq \(pending.sequence) already in progress: no new ACQUIRE, the packet waits"
        case .noKeyManager: verdict = "no usable SA and no key manager: no ACQUIRE (EAGAIN)"
        case .protected(_, let sa):
            let bundle = out.bundle.isEmpty ? [sa] : out.bundle
            verdict =
                bundle.count == 1
                ? "sent on SA spi 0x\(String(sa.spi, radix: 16))" + (sa.securityContext.map { " labeled \($0)" } ?? " (unlabeled)")
                : "sent on nested SAs "
                    + bundle.map { "spi 0x\(String($0.spi, radix: 16)) \($0.mode)" + ($0.securityContext.map { " labeled \($0)" } ?? " (unlabeled)") }
                    .joined(separator: " inside ")
            // The receiver decapsulates the outermost SA first and stores the path in that order
            // (`sec_path`); it finds each SA by its SAD key, and a packet for an SA it lacks is dropped.
            // Sent, then dropped on arrival before the inbound policy check (no AVC record).
            func droppedOnArrival(_ what: String, _ reason: String) -> PathTrace {
                legs.append(Leg(stage: .outbound, host: flow.source, checks: out.checks, passed: true, verdict: verdict))
                legs.append(
                    Leg(
                        stage: .inboundPolicy, host: flow.destination,
                        checks: [ResolutionCheck(what: what, passed: false, reason: reason, record: nil)], passed: false, verdict: "dropped"))
                return undelivered(legs)
            }
            if sender.cipsoRewrittenUnderESP(flow, bundle: bundle) {
                return droppedOnArrival(
                    "ESP header",
                    "a second CIPSO option was pushed in front of the first after ESP (LOCAL_OUT again, IPCB zeroed): the receiver finds no SA, dropped (XFRMINNOSTATES)"
                )
            }
            var path: [SecurityAssociation] = []
            for s in bundle.reversed() {
                guard let mine = receiver.mirror.sa(destination: s.destination, spi: s.spi, proto: s.proto) else {
                    return droppedOnArrival(
                        "SA dst \(s.destination) spi 0x\(String(s.spi, radix: 16)) proto \(s.proto)", "the receiver has no such SA: dropped (XFRMINNOSTATES)")
                }
                path.append(mine)
            }
            secPath = path
        }
        legs.append(Leg(stage: .outbound, host: flow.source, checks: out.checks, passed: secPath != nil, verdict: verdict))
        guard let path = secPath else {
            return undelivered(legs)
        }
        let packet = Flow(
            context: nil, source: flow.source, destination: flow.destination, upperProtocol: flow.upperProtocol,
            sourcePort: flow.sourcePort, destinationPort: flow.destinationPort)
        let policyCheck = receiver.inboundPolicy(packet, secPath: path)
        legs.append(
            Leg(
                stage: .inboundPolicy, host: flow.destination, checks: policyCheck.checks, passed: policyCheck.accepted,
                verdict: policyCheck.accepted ? "accepted by the inbound policy check" : "dropped by the inbound policy check"))
        guard policyCheck.accepted else {
            return undelivered(legs)
        }
        let (inbound, label) = receiver.withNetLabel(receiver.inbound(secPath: path), flow: flow, sender: sender)
        let delivery = receiver.deliver(inbound, to: socket, source: flow.source)
        let seen = delivery.delivered ? label : nil
        legs.append(
            deliveryLeg(
                delivery, to: socket, on: flow.destination, seen: seen,
                unlabeled: "unlabeled traffic; checks used \(inbound.peer?.description ?? "-")"))
        var replies: [PathTrace] = []
        if reply && delivery.delivered {
            let back = replyFlow(flow, from: receiver, socket: socket, seen: seen)
            replies.append(trace(back, sender: receiver, receiver: sender, socket: flow.context ?? socket, reply: false))
        }
        return PathTrace(
            flow: flow, legs: legs, outbound: out.outcome, outboundTemplate: out.template, delivered: delivery.delivered,
            peerSeen: delivery.delivered ? seen : nil, reply: replies,
            outboundBundle: out.carrying)
    }
}

extension PathTrace {
    /// The delivery leg at `host`: delivered to `socket` with the peer label it reads (`seen`;
    /// `unlabeled` says why there is none), or not delivered.
    static func deliveryLeg(_ delivery: DeliveryResolution, to socket: SecurityContext, on host: IPAddress, seen: SecurityContext?, unlabeled: String) -> Leg {
        Leg(
            stage: .delivery, host: host, checks: delivery.checks, passed: delivery.delivered,
            verdict: delivery.delivered
                ? "delivered: \(socket) sees " + (seen.map { "the peer label \($0)" } ?? "no peer label (\(unlabeled))")
                : "not delivered")
    }

    /// The answer's flow, from `flow`'s receiver back to its sender. TCP replies are classified
    /// with the accepted socket's connection context; a UDP socket answers with its own context.
    static func replyFlow(_ flow: Flow, from receiver: Resolver, socket: SecurityContext, seen: SecurityContext?) -> Flow {
        let context = flow.upperProtocol == 6 ? receiver.connectionContext(socket: socket, peer: seen) : socket
        return Flow(
            context: context, source: flow.destination, destination: flow.source, upperProtocol: flow.upperProtocol,
            sourcePort: flow.destinationPort, destinationPort: flow.sourcePort)
    }
}
