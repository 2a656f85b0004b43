public import IPsecModel
public import SecurityContexts

// What `salabel resolve` and `salabel trace` print: the resolver's answers as text for people and
// as JSON-ready dictionaries (strings, numbers, booleans, arrays), which the caller serializes.

extension ResolutionCheck {
    /// The check as a dictionary: `check`, `passed`, `reason`, `avc` when it wrote a record, and for
    /// a permission check `access` (``AccessQuery/json``).
    public var json: [String: Any] { json(stage: nil) }

    /// The same, with the `stage` of the path it belongs to (`outbound`, `inbound-policy`,
    /// `delivery`).
    public func json(stage: String?) -> [String: Any] {
        var o: [String: Any] = ["check": what, "passed": passed, "reason": reason]
        if let stage { o["stage"] = stage }
        if let record { o["avc"] = record.description }
        if let access { o["access"] = access.json }
        return o
    }
}

/// Traffic arriving on one SA of a host and handed to one socket, as `salabel resolve` reports it:
/// the SA's key, the peer label, every check made, and what the socket sees.
public struct SADeliveryReport {
    /// The host, as the caller names it (a scenario's host, `netns NAME`).
    public var host: String
    /// The SA's key: destination, SPI, protocol.
    public var destination: IPAddress
    public var spi: UInt32
    public var proto: IPsecProtocol
    /// The receiving socket's context, as the caller wrote it.
    public var socket: String
    /// The label the traffic gets (``Resolver/inbound(destination:spi:proto:)``).
    public var inbound: InboundResolution
    /// Whether the socket receives it (``Resolver/deliver(_:to:interface:source:)``).
    public var delivery: DeliveryResolution
    /// The peer label the receiving socket reads: the SA's, or with NetLabel the one
    /// ``Resolver/withNetLabel(_:flow:sender:)`` reconciles (`nil`: none).
    public var label: SecurityContext?

    /// A report whose socket reads the SA's label, when the traffic was labeled by one.
    public init(
        host: String, destination: IPAddress, spi: UInt32, proto: IPsecProtocol, socket: String, inbound: InboundResolution,
        delivery: DeliveryResolution
    ) {
        self.init(
            host: host, destination: destination, spi: spi, proto: proto, socket: socket, inbound: inbound, delivery: delivery,
            label: inbound.labeledBySA ? inbound.peer : nil)
    }

    /// A report whose socket reads `label` (NetLabel's part included).
    public init(
        host: String, destination: IPAddress, spi: UInt32, proto: IPsecProtocol, socket: String, inbound: InboundResolution,
        delivery: DeliveryResolution, label: SecurityContext?
    ) {
        self.host = host
        self.destination = destination
        self.spi = spi
        self.proto = proto
        self.socket = socket
        self.inbound = inbound
        self.delivery = delivery
        self.label = label
    }

    /// The label the socket sees (getpeercon): ``label`` when the packet reached the socket's checks.
    public var peerSeen: SecurityContext? { delivery.peer == nil ? nil : label }

    /// The report for people: the SA, the peer label, each check, and the delivery.
    public var lines: [String] {
        var lines = [
            "\(host): SA dst \(destination) spi 0x\(String(spi, radix: 16)) proto \(proto)",
            "peer label: \(inbound.dropped ? "none (dropped)" : inbound.peer?.description ?? "none")"
                + (label != nil || inbound.dropped ? "" : " (unlabeled traffic)"),
        ]
        lines += delivery.checks.map { "  \($0)" }
        lines.append(
            delivery.delivered
                ? "delivered to \(socket): it sees " + (peerSeen.map { "\($0)" } ?? "no peer label (getpeercon: ENOPROTOOPT)")
                : "not delivered to \(socket)")
        return lines
    }

    /// The report as a dictionary: `host`, `dst`, `spi`, `proto`, `socket`, `delivered`, `dropped`,
    /// `labeled_by_sa`, `checks` (``ResolutionCheck/json``), and `peer` and `getpeercon` when there
    /// is a label.
    public var json: [String: Any] {
        var o: [String: Any] = [
            "host": host, "dst": destination.description, "spi": Int(spi), "proto": proto.description, "socket": socket,
            "delivered": delivery.delivered, "dropped": inbound.dropped, "labeled_by_sa": inbound.labeledBySA,
            "checks": delivery.checks.map(\.json),
        ]
        if let peer = inbound.peer { o["peer"] = peer.description }
        if let peerSeen { o["getpeercon"] = peerSeen.description }
        return o
    }
}

extension PathTrace {
    /// The trace as a dictionary: `flow`, `delivered`, `round_trip`, `outcome` (the outbound
    /// outcome's case name), `steps` (stage, host, passed, verdict, checks, each naming its stage),
    /// and when they apply
    /// `peer`, `acquire_label` and `reply` (the reply's trace, the same way).
    public var json: [String: Any] {
        var o: [String: Any] = [
            "flow": flow.description, "delivered": delivered, "round_trip": roundTrip,
            "outcome": String("\(outbound)".prefix { $0 != "(" }),
            "steps": legs.map(\.json),
        ]
        if let p = peerSeen { o["peer"] = p.description }
        if case .acquire(_, let label?) = outbound { o["acquire_label"] = label.description }
        if let r = reply.first { o["reply"] = r.json }
        return o
    }

    /// The trace for people: the flow, then each stage numbered from `first` with the host's name
    /// from `names` (else its address), its checks and its verdict, then the reply's stages.
    public func lines(names: [IPAddress: String], first: Int = 1) -> [String] {
        var lines = ["flow \(flow)"] + Self.lines(of: legs, names: names, first: first)
        for r in reply {
            lines.append("reply:")
            lines += r.lines(names: names, first: first + legs.count)
        }
        return lines
    }

    /// The legs for people: each numbered from `first` with its host's name from `names` (else its
    /// address), its checks and its verdict.
    public static func lines(of legs: [Leg], names: [IPAddress: String], first: Int = 1) -> [String] {
        var lines: [String] = []
        var n = first
        for leg in legs {
            let name = names[leg.host] ?? leg.host.description
            let title: String
            switch leg.stage {
            case .outbound: title = "outbound on \(name) (\(leg.host))"
            case .inboundPolicy: title = "inbound policy check on \(name)"
            case .delivery: title = "delivery on \(name)"
            case .forwardPolicy: title = "forward policy check on \(name)"
            case .forward: title = "forwarding on \(name) (\(leg.host))"
            }
            lines.append("\(n). \(title):")
            lines += leg.checks.map { "   " + $0.description.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n   ") }
            lines.append("   → \(leg.verdict)")
            n += 1
        }
        return lines
    }
}

extension PathTrace.Leg {
    /// The leg as a dictionary: `step` (its stage), `host`, `passed`, `verdict`, `checks` (each
    /// naming the stage).
    public var json: [String: Any] {
        [
            "step": stage.rawValue, "host": host.description, "passed": passed, "verdict": verdict,
            "checks": checks.map { $0.json(stage: stage.rawValue) },
        ]
    }
}
