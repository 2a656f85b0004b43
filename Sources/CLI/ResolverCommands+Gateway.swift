import ArgumentParser
import DecisionEngine
import IPsecModel
import Resolver
import Scenario

// `salabel trace --scenario` and `salabel resolve --scenario` through a scenario's gateways
// (Specs/scenarios/README.md, "Gateways"; the kernel's side in Specs/kernel/labeled-ipsec.md §b.5):
// the paths the model plays (`PathTrace.traceForwarded`, `PathTrace.forwarded`), never a second
// implementation.

/// A flow's upper-layer protocol as an option gives it: `tcp`, `udp`, `icmp` or a number.
func parseUpperProtocol(_ text: String, _ option: String) throws -> UInt8 {
    switch text {
    case "tcp": return 6
    case "udp": return 17
    case "icmp": return 1
    default:
        guard let v = UInt8(text) else { throw ValidationError("\(option): tcp, udp, icmp or a number") }
        return v
    }
}

/// A scenario's gateway host: its name, address and resolver.
struct GatewayHost {
    var name: String
    var address: IPAddress
    var resolver: Resolver
}

/// The gateway `sender` reaches `receiver` through, by the scenario's routes (`hosts.NAME.routes`);
/// `nil` when they are directly connected.
func routedGateway(_ scenario: Scenario, from sender: String, to receiver: String, authorizer: AssociationAuthorizer) throws -> GatewayHost? {
    guard let name = scenario.forwarding.gateway(from: sender, to: receiver), let address = scenario.layout.hosts[name]?.address else { return nil }
    do { return GatewayHost(name: name, address: address, resolver: try scenario.resolver(host: name, authorizer: authorizer)) } catch {
        throw CommandFailure.error("\(error)")
    }
}

extension ResolveCommand {
    /// The host a packet on `sa`, which ends at the scenario's host `host`, is forwarded to: the
    /// one `--inner-dst` names, else the one host the SA's source reaches through `host` by its
    /// routes; `nil` when the packet is for `host` itself.
    func forwardingDestination(_ scenario: Scenario, host: String, sa: SecurityAssociation) throws -> String? {
        let forwards = scenario.forwarding.gateways.contains(host)
        if let innerDst {
            guard let address = IPAddress(innerDst) else { throw ValidationError("--inner-dst: not an address") }
            guard address != sa.destination else { return nil }
            guard sa.mode == .tunnel else {
                throw CommandFailure.error("--inner-dst: SA spi 0x\(String(sa.spi, radix: 16)) is in \(sa.mode) mode: its packets are for \(sa.destination)")
            }
            guard let target = scenario.host(with: address) else { throw CommandFailure.noHost(address, in: scenario) }
            guard forwards else {
                throw CommandFailure.error(
                    "--inner-dst: \(host) does not forward (no forwarding: true in scenario \(scenario.name)): it drops packets for \(target)")
            }
            return target
        }
        guard forwards, sa.mode == .tunnel, let source = scenario.host(with: sa.source) else { return nil }
        let routed = scenario.forwarding.destinations(from: source, through: host)
        guard routed.count <= 1 else {
            throw CommandFailure.error(
                "\(source) reaches \(routed.joined(separator: ", ")) through \(host): give the forwarded packet's destination with --inner-dst")
        }
        return routed.first
    }

    /// Traffic on the gateway's SA `sa` (of the scenario's host `gateway`) forwarded to the host
    /// `target`, sent from `source` (default: the SA's source): ``PathTrace/forwarded(_:arrivedOn:gateway:gatewayAddress:receiver:socket:)`` from the
    /// gateway's FWD check to the target's socket.
    func runForwarded(
        _ scenario: Scenario, gateway: (name: String, resolver: Resolver), sa: SecurityAssociation, to target: String, source: IPAddress?,
        decider: AssociationAuthorizer
    ) throws -> ForwardedSAReport {
        if interface != nil { throw ValidationError("--interface: not used for traffic \(gateway.name) forwards") }
        if from != nil { throw ValidationError("--from: not used for traffic \(gateway.name) forwards (the label is the SA's)") }
        let receiver: Resolver
        do { receiver = try scenario.resolver(host: target, authorizer: decider) } catch { throw CommandFailure.error("\(error)") }
        // The forwarded flow's label is the SA's (`__xfrm_route_forward`); `forwarded` takes it from the SA path.
        let flow = Flow(
            context: sa.securityContext, source: source ?? sa.source, destination: scenario.layout.hosts[target]!.address,
            upperProtocol: try parseUpperProtocol(flowProto, "--flow-proto"), sourcePort: sport, destinationPort: dport)
        let path = PathTrace.forwarded(
            flow, arrivedOn: [sa], gateway: gateway.resolver, gatewayAddress: sa.destination, receiver: receiver,
            socket: try parseContext(socket, "--socket"))
        return ForwardedSAReport(
            gateway: gateway.name, receiver: target, destination: sa.destination, spi: sa.spi, proto: sa.proto, flow: flow, socket: socket,
            forwarded: path)
    }
}

extension CommandFailure {
    /// A flow's address no host of `scenario` has (exit status 2), naming the hosts it has.
    static func noHost(_ address: IPAddress, in scenario: Scenario) -> CommandFailure {
        .error(
            "no host has the address \(address) in scenario \(scenario.name) (hosts: "
                + scenario.hosts.map { "\($0) \(scenario.layout.hosts[$0]!.address)" }.joined(separator: ", ") + ")")
    }
}
