public import IPsecModel

/// Traffic arriving on one SA of a gateway that forwards it to another host, as `salabel resolve`
/// reports it (Specs/kernel/labeled-ipsec.md §b.5): the SA's key, the forwarded packet, the
/// gateway's and the receiver's legs (``PathTrace/forwarded(_:arrivedOn:gateway:gatewayAddress:receiver:socket:)``)
/// and what the receiving socket sees.
public struct ForwardedSAReport {
    /// The gateway and the receiver, as the caller names them (a scenario's hosts).
    public var gateway: String
    public var receiver: String
    /// The SA's key at the gateway: destination, SPI, protocol.
    public var destination: IPAddress
    public var spi: UInt32
    public var proto: IPsecProtocol
    /// The forwarded packet: the tunnel's inner addresses, protocol and ports.
    public var flow: Flow
    /// The receiving socket's context, as the caller wrote it.
    public var socket: String
    /// What the gateway and the receiver did with the packet.
    public var forwarded: PathTrace.Forwarded

    /// A report of `forwarded`, the path of `flow` that arrived on the SA (`destination`, `spi`,
    /// `proto`) of `gateway` and went on to `receiver`'s socket `socket`.
    public init(
        gateway: String, receiver: String, destination: IPAddress, spi: UInt32, proto: IPsecProtocol, flow: Flow, socket: String,
        forwarded: PathTrace.Forwarded
    ) {
        self.gateway = gateway
        self.receiver = receiver
        self.destination = destination
        self.spi = spi
        self.proto = proto
        self.flow = flow
        self.socket = socket
        self.forwarded = forwarded
    }

    /// The report for people: the SA, the forwarded packet, each leg (numbered, with its checks),
    /// and the delivery.
    public var lines: [String] {
        var lines = [
            "\(gateway): SA dst \(destination) spi 0x\(String(spi, radix: 16)) proto \(proto)",
            "\(gateway) forwards to \(receiver): \(flow)",
        ]
        lines += PathTrace.lines(of: forwarded.legs, names: [destination: gateway, flow.destination: receiver])
        lines.append(
            forwarded.delivered
                ? "delivered to \(socket) on \(receiver): it sees "
                    + (forwarded.peerSeen.map { "\($0)" } ?? "no peer label (getpeercon: ENOPROTOOPT)")
                : "not delivered to \(socket) on \(receiver)")
        return lines
    }

    /// The report as a dictionary: `host` (the gateway), `dst`, `spi`, `proto`, `socket`,
    /// `forwarded_to` (`host`, `address`), `flow`, `delivered`, `steps` (``PathTrace/Leg/json``),
    /// and `getpeercon` when the socket reads a label.
    public var json: [String: Any] {
        var o: [String: Any] = [
            "host": gateway, "dst": destination.description, "spi": Int(spi), "proto": proto.description, "socket": socket,
            "forwarded_to": ["host": receiver, "address": flow.destination.description], "flow": flow.description,
            "delivered": forwarded.delivered, "steps": forwarded.legs.map(\.json),
        ]
        if let peer = forwarded.peerSeen { o["getpeercon"] = peer.description }
        return o
    }
}
