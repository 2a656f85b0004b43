import ArgumentParser
import DecisionEngine
import IKEConfig
import IPsecModel
import Resolver
import Scenario
import SecurityContexts
import SELinuxKernel
import XfrmManager
import XfrmNetlink

/// Options of the resolver commands: the policy and where each host's SAD/SPD comes from.
struct ResolverOptions: ParsableArguments {
    @Option(help: "A scenario file (Specs/scenarios/README.md): its policy, mode and hosts (default: the embedded echo example).")
    var scenario: String?
    @Option(
        help: ArgumentHelp(
            "The policy: a file (policy.conf or binary), running (the kernel's loaded policy, /sys/fs/selinux/policy) or embedded (default: with --netns the running policy where SELinux is enabled, else the embedded one; with a scenario, the scenario's).",
            valueName: "FILE|running|embedded")) var policy: String?
    @Option(help: "Read the SAD/SPD of this network namespace (a name or path) instead of a scenario.") var netns: String?
    @Flag(help: "Permissive mode.") var permissive = false
    @Flag(help: "JSON output.") var json = false

    /// The scenario (given or the embedded example) unless a live namespace was asked for.
    func loadScenario() throws -> Scenario? {
        if let scenario {
            guard netns == nil else { throw ValidationError("--scenario and --netns exclude each other") }
            do { return try Scenario.load(path: scenario) } catch { throw CommandFailure.error("\(error)") }
        }
        guard netns == nil else { return nil }
        do { return try Scenario.echoExample() } catch { throw CommandFailure.error("\(error)") }
    }

    /// The engine's checks and, when they decide with a policy source rather than the scenario's
    /// policy, the policy loaded: --policy's, else with --netns (live state) the live default.
    func authorizer(_ scenario: Scenario?) throws -> (authorizer: AssociationAuthorizer, policy: LoadedPolicy?) {
        try Self.authorizer(scenario, policy: policy, permissive: permissive)
    }

    /// ``authorizer(_:)`` for a command with options of its own (`graph`): `policy` as --policy gives it.
    static func authorizer(_ scenario: Scenario?, policy: String?, permissive: Bool) throws -> (authorizer: AssociationAuthorizer, policy: LoadedPolicy?) {
        let source = policy.map(PolicyOrigin.init(option:)) ?? (scenario == nil ? PolicyOrigin.liveDefault : nil)
        do {
            if let source {
                let loaded = try source.load(enforcing: !permissive, booleans: scenario?.booleans ?? [:])
                return (AssociationAuthorizer(cache: AccessVectorCache(server: loaded.server)), loaded)
            }
            let server = try Scenario.securityServer(policyPath: nil, scenario: scenario, permissive: permissive)
            return (AssociationAuthorizer(cache: AccessVectorCache(server: server)), nil)
        } catch {
            throw CommandFailure.error("\(error)")
        }
    }

    /// The output with the policy decided with, for live state (--netns): a first line
    /// `policy: …` in text, a `policy` field in JSON.
    func output(lines: [String], json: [String: Any], policy loaded: LoadedPolicy?) -> String {
        guard netns != nil, let loaded else { return self.json ? jsonText(json) : lines.joined(separator: "\n") }
        if self.json { return jsonText(json.merging(["policy": loaded.json]) { _, new in new }) }
        return (["policy: \(loaded)"] + lines).joined(separator: "\n")
    }

    /// The resolver of the host with `address`: the scenario's host as its kernel sees it
    /// (``Scenario/resolver(host:authorizer:)``: its SAD/SPD, the scenario's NetLabel tables, the
    /// labeled xfrm objects of the kernel's other hosts, as the model plays it), or the live namespace's SAD/SPD.
    func resolver(for address: IPAddress, in scenario: Scenario?, namespace: String? = nil, authorizer: AssociationAuthorizer) throws -> (
        name: String, resolver: Resolver
    ) {
        if let scenario {
            guard let host = scenario.host(with: address) else { throw CommandFailure.noHost(address, in: scenario) }
            do { return (host, try scenario.resolver(host: host, authorizer: authorizer)) } catch { throw CommandFailure.error("\(error)") }
        }
        let ns = namespace ?? netns!
        do { return ("netns \(ns)", Resolver(mirror: try XfrmMirror.dump(netns: ns), authorizer: authorizer)) } catch {
            throw CommandFailure.error("cannot read the SAD/SPD of \(ns): \(error)")
        }
    }
}

func parseContext(_ text: String, _ what: String) throws -> SecurityContext {
    do { return try SecurityContext(parsing: text) } catch { throw ValidationError("\(what): \(error)") }
}

/// `salabel resolve`: the label of traffic arriving on an SA, and whether the receiver gets it.
struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "The label of inbound traffic on an SA (dst, SPI, protocol) and whether the receiving socket accepts it.",
        discussion: """
            The SAs are those of the scenario's host with the --dst address (default: the embedded echo example's server, 10.77.0.2), or of --netns.

            A scenario's gateway (a host with forwarding: true) forwards the traffic of a tunnel SA that ends at it to the host behind it: the one the SA's source reaches through it by its routes, or --inner-dst. resolve then follows the packet as the scenario model does: the gateway's forward policy check, its lookup of the forwarded flow (--flow-proto, --sport, --dport) and its forwarding checks, the receiver's inbound policy check and socket.

            Exit status: 0 delivered, 1 not delivered, 2 bad input.
            """)

    @OptionGroup var options: ResolverOptions
    @Option(help: "Destination address of the SA (default: the example's server).") var dst: String = "10.77.0.2"
    @Option(help: "SPI of the SA (default: the example's client→server SA).") var spi: String?
    @Option(help: "esp, ah or comp.") var proto: String = "esp"
    @Option(help: "The receiving socket's context (default: the echo server's).") var socket: String = "system_u:system_r:echoserver_t:s0"
    @Option(help: "The interface the packet came in on (netif checks with network_peer_controls).") var interface: String?
    @Option(help: "The packet's source address (node checks with network_peer_controls).") var src: String?
    @Option(
        help: "With a scenario's NetLabel tables, the sending socket's context, whose low level the CIPSO or CALIPSO option carries (default: the SA's label).")
    var from: String?
    @Option(
        help: ArgumentHelp(
            "With a scenario, a tunnel SA's inner destination when the SA ends at a gateway: the host the gateway forwards the packet to (default: the one the SA's source reaches through the gateway by its routes).",
            valueName: "ADDRESS"))
    var innerDst: String?
    @Option(help: "The forwarded packet's protocol, for the gateway's lookups: tcp, udp, icmp or a number.") var flowProto: String = "tcp"
    @Option(help: "The forwarded packet's destination port.") var dport: UInt16 = 7
    @Option(help: "The forwarded packet's source port (0: any).") var sport: UInt16 = 0

    func run() throws {
        guard let d = IPAddress(dst) else { throw ValidationError("--dst: not an address") }
        guard let p = IPsecProtocol(name: proto) else { throw ValidationError("--proto: esp, ah or comp") }
        let source = try src.map { s -> IPAddress in
            guard let a = IPAddress(s) else { throw ValidationError("--src: not an address") }
            return a
        }
        let scenario = try options.loadScenario()
        let decider = try options.authorizer(scenario)
        let host = try options.resolver(for: d, in: scenario, authorizer: decider.authorizer)
        let resolver = host.resolver
        let spiValue: UInt32
        if let spi {
            guard let v = spi.hasPrefix("0x") ? UInt32(spi.dropFirst(2), radix: 16) : UInt32(spi) else { throw ValidationError("--spi: a number") }
            spiValue = v
        } else if let first = resolver.mirror.sas.first(where: { $0.destination == d && $0.proto == p }) {
            spiValue = first.spi
        } else {
            throw CommandFailure.error("--spi: \(host.name) has no SA to \(d) proto \(p); give one")
        }
        if let scenario, let sa = resolver.mirror.sa(destination: d, spi: spiValue, proto: p),
            let target = try forwardingDestination(scenario, host: host.name, sa: sa)
        {
            let report = try runForwarded(scenario, gateway: host, sa: sa, to: target, source: source, decider: decider.authorizer)
            print(options.output(lines: report.lines, json: report.json, policy: decider.policy))
            if !report.forwarded.delivered { throw CommandFailure.exit(Status.denied) }
            return
        }
        if innerDst != nil && scenario == nil { throw ValidationError("--inner-dst: only with --scenario") }
        var inbound = resolver.inbound(destination: d, spi: spiValue, proto: p)
        var label = inbound.labeledBySA ? inbound.peer : nil
        // NetLabel's part (a scenario's tables): the packet from the SA's source carries the
        // sending socket's CIPSO level (--from, default the SA's label), reconciled with the SA label.
        if resolver.netLabel.enabled, let sa = resolver.mirror.sa(destination: d, spi: spiValue, proto: p) {
            let sending = try from.map { try parseContext($0, "--from") } ?? sa.securityContext
            let flow = Flow(context: sending, source: source ?? sa.source, destination: d, upperProtocol: 0, sourcePort: 0, destinationPort: 0)
            (inbound, label) = resolver.withNetLabel(inbound, flow: flow, sender: resolver)
        }
        let report = SADeliveryReport(
            host: host.name, destination: d, spi: spiValue, proto: p, socket: socket, inbound: inbound,
            delivery: resolver.deliver(inbound, to: try parseContext(socket, "--socket"), interface: interface, source: source),
            label: label)
        print(options.output(lines: report.lines, json: report.json, policy: decider.policy))
        if !report.delivery.delivered { throw CommandFailure.exit(Status.denied) }
    }
}

/// For each leg of `trace` (the request, then its reply) whose sender sends an ACQUIRE: which conn
/// of that host's IKE associations in the apply file (or scenario) `file`, named `applyPath`, answers it.
func ikePredictions(_ trace: PathTrace, file: ApplyFile, applyPath: String) throws -> [(line: String, json: [String: Any])] {
    var out: [(line: String, json: [String: Any])] = []
    for leg in [trace] + trace.reply {
        guard case .acquire(let entry, let label?) = leg.outbound else { continue }
        let f = leg.flow
        guard let host = file.hosts.first(where: { $0.value.address == f.source })?.key else {
            out.append(("ike: no host of \(applyPath) has the address \(f.source), the ACQUIRE's sender", ["label": label.description]))
            continue
        }
        let config: LibreswanConfiguration
        do { config = try LibreswanConfiguration.forHost(file, host: host, psks: nil) } catch { throw CommandFailure.error("\(applyPath): \(error)") }
        let match = config.acquireMatch(
            AcquireFlow(
                source: f.source, destination: f.destination, upperProtocol: f.upperProtocol, sourcePort: f.sourcePort,
                destinationPort: f.destinationPort, context: label),
            entryLabel: entry.securityContext)
        var json = match.json
        json["host"] = host
        out.append((match.line(host: host, file: applyPath), json))
    }
    return out
}

/// `salabel trace`: one flow's whole path of decisions, like a traceroute of decisions.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract:
            "Follow one flow: the SPD entry it matches, the SA it uses (or the ACQUIRE it triggers), the receiver's inbound policy check, the label the receiver sees and whether it accepts it; then the reply.",
        discussion: """
            The hosts are the scenario's hosts with the --src and --dst addresses (default: the embedded echo example, client 10.77.0.1 → server 10.77.0.2), or the namespaces --netns (sender) and --peer-netns (receiver, default: the same).

            With a scenario, a flow whose sender reaches its receiver through a gateway (hosts.NAME.routes; Specs/scenarios/README.md, "Gateways") follows that route as the scenario model plays it: the sender's lookup, the gateway's forward policy check, its lookup of the forwarded flow with the inbound SA's label and its forwarding checks, then the receiver's inbound policy check and socket; the reply comes back through the gateway. An address no host of the scenario has is an error.

            A TCP reply is classified with the receiver's connection context (its socket's user:role:type with the peer's MLS range); a UDP reply with the receiving socket's context.

            Exit status: 0 the flow (and its reply) delivered, 1 not delivered, 2 bad input.
            """)

    @OptionGroup var options: ResolverOptions
    @Option(help: "The receiver's namespace, with --netns (default: the same).") var peerNetns: String?
    @Option(help: "The sending socket's context.") var from: String = "system_u:system_r:echoclient_t:s0"
    @Option(help: "The receiving socket's context.") var to: String = "system_u:system_r:echoserver_t:s0"
    @Option(help: "The flow's source address: the sending host is the one with this address.") var src: String = "10.77.0.1"
    @Option(help: "The flow's destination address: the receiving host is the one with this address.") var dst: String = "10.77.0.2"
    @Option(help: "tcp, udp, icmp or a protocol number.") var proto: String = "tcp"
    @Option(help: "The flow's destination port.") var dport: UInt16 = 7
    @Option(help: "The flow's source port (0: any, as an unbound socket's).") var sport: UInt16 = 0
    @Flag(help: "Do not trace the reply.") var noReply = false
    @Option(
        help: ArgumentHelp(
            "An apply file whose associations keyed by IKE say which libreswan conn answers each ACQUIRE of the trace (the sending host is the one with the flow's source address).",
            valueName: "FILE"))
    var apply: String?

    func run() throws {
        guard let s = IPAddress(src), let d = IPAddress(dst) else { throw ValidationError("--src/--dst: addresses") }
        let upper = try parseUpperProtocol(proto, "--proto")
        let flow = Flow(context: try parseContext(from, "--from"), source: s, destination: d, upperProtocol: upper, sourcePort: sport, destinationPort: dport)
        let scenario = try options.loadScenario()
        let (authorizer, loaded) = try options.authorizer(scenario)
        let sender = try options.resolver(for: s, in: scenario, authorizer: authorizer)
        let receiver = try options.resolver(for: d, in: scenario, namespace: peerNetns ?? options.netns, authorizer: authorizer)
        let socket = try parseContext(to, "--to")
        // A scenario's route through a gateway (Specs/scenarios/README.md, "Gateways"): the path the model plays.
        let gateway = try scenario.flatMap { try routedGateway($0, from: sender.name, to: receiver.name, authorizer: authorizer) }
        let trace =
            gateway.map {
                PathTrace.traceForwarded(
                    flow, sender: sender.resolver, gateway: $0.resolver, gatewayAddress: $0.address, receiver: receiver.resolver, socket: socket,
                    reply: !noReply)
            } ?? PathTrace.trace(flow, sender: sender.resolver, receiver: receiver.resolver, socket: socket, reply: !noReply)
        var names = [s: sender.name, d: receiver.name]
        if let gateway { names[gateway.address] = gateway.name }
        var lines = trace.lines(names: names)
        var json = trace.json
        if let gateway {
            lines.insert("route: \(sender.name) → \(gateway.name) (\(gateway.address)) → \(receiver.name)", at: 1)
            json["gateway"] = ["host": gateway.name, "address": gateway.address.description]
        }
        // The conns come from --apply, else from a scenario with associations keyed by IKE.
        var ike: (file: ApplyFile, name: String)?
        if let apply {
            ike = (try loadApplyFile(apply), apply)
        } else if let scenario, scenario.usesIKE {
            ike = (scenario.layout, scenario.name + ".yaml")
        }
        if let ike {
            let predictions = try ikePredictions(trace, file: ike.file, applyPath: ike.name)
            lines += predictions.map(\.line)
            json["ike"] = predictions.map(\.json)
        }
        print(options.output(lines: lines, json: json, policy: loaded))
        if !trace.roundTrip { throw CommandFailure.exit(Status.denied) }
    }
}
