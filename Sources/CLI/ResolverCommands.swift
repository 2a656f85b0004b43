import ArgumentParser
import DecisionEngine
import Foundation
import IPsecModel
import Resolver
import SecurityContexts
import XfrmManager

/// The embedded example: the echo client and server of the embedded policy on two hosts, with one
/// labeled SA pair for the client's flows (the same shape as Examples/apply/echo.yaml).
enum EchoExample {
    static let yaml = """
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }
        associations:
          - name: echo-client
            between: [client, server]
            context: system_u:system_r:echoclient_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
            selector: { proto: tcp, port: 7 }
        """

    /// Each host's mirror, as `salabel apply` would install it (keys are irrelevant here: zeros).
    static func mirrors() throws -> (client: XfrmMirror, server: XfrmMirror, file: ApplyFile) {
        let file = try ApplyFile(yaml: yaml)
        let keys = KeyFile.generate(for: file) { Array(repeating: 0, count: $0) }
        let c = try ApplyPlanner.desired(file, host: "client", keys: keys)
        let s = try ApplyPlanner.desired(file, host: "server", keys: keys)
        return (XfrmMirror(sas: c.sas, policies: c.policies), XfrmMirror(sas: s.sas, policies: s.policies), file)
    }
}

/// Options of the resolver commands: the policy and where the SAD/SPD come from.
struct ResolverOptions: ParsableArguments {
    @Option(help: "The policy (default: the embedded policy).") var policy: String?
    @Option(help: "Read the SAD/SPD of this network namespace (a name or path) instead of the embedded echo example.") var netns: String?
    @Flag(help: "Permissive mode.") var permissive = false
    @Flag(help: "JSON output.") var json = false

    func authorizer() throws -> AssociationAuthorizer {
        do {
            let server = try policy.map { try SecurityServer.load(path: $0, enforcing: !permissive) } ?? SecurityServer.embedded(enforcing: !permissive)
            return AssociationAuthorizer(cache: AccessVectorCache(server: server))
        } catch {
            printError("error: \(error)")
            throw ExitCode(Status.error)
        }
    }

    func liveMirror() throws -> XfrmMirror? {
        guard let netns else { return nil }
        do {
            let k = try NetlinkXfrmKernel(netns: netns)
            return XfrmMirror(sas: try k.allSAs(), policies: try k.allPolicies())
        } catch {
            printError("error: cannot read the SAD/SPD of \(netns): \(error)")
            throw ExitCode(Status.error)
        }
    }
}

func parseContext(_ text: String, _ what: String) throws -> SecurityContext {
    do { return try SecurityContext(parsing: text) } catch { throw ValidationError("\(what): \(error)") }
}

func checksJSON(_ checks: [ResolutionCheck]) -> [[String: Any]] {
    checks.map { c in
        var o: [String: Any] = ["check": c.what, "passed": c.passed, "reason": c.reason]
        if let r = c.record { o["avc"] = r.description }
        return o
    }
}

/// `salabel resolve`: the label of traffic arriving on an SA, and whether the receiver gets it.
struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "The label of inbound traffic on an SA (dst, SPI, protocol) and whether the receiving socket accepts it.",
        discussion: "Without --netns, the SAs are the embedded echo example's (the server host, 10.77.0.2).")

    @OptionGroup var options: ResolverOptions
    @Option(help: "Destination address of the SA (default: the example's server).") var dst: String = "10.77.0.2"
    @Option(help: "SPI of the SA (default: the example's client→server SA).") var spi: String?
    @Option(help: "esp, ah or comp.") var proto: String = "esp"
    @Option(help: "The receiving socket's context (default: the echo server's).") var socket: String = "system_u:system_r:echoserver_t:s0"

    func run() throws {
        guard let d = IPAddress(dst) else { throw ValidationError("--dst: not an address") }
        guard let p = IPsecProtocol(name: proto) else { throw ValidationError("--proto: esp, ah or comp") }
        let example = try EchoExample.mirrors()
        let mirror = try options.liveMirror() ?? example.server
        let spiValue: UInt32
        if let spi {
            guard let v = spi.hasPrefix("0x") ? UInt32(spi.dropFirst(2), radix: 16) : UInt32(spi) else { throw ValidationError("--spi: a number") }
            spiValue = v
        } else {
            spiValue = example.file.associations[0].spis.0
        }
        let resolver = Resolver(mirror: mirror, authorizer: try options.authorizer())
        let inbound = resolver.inbound(destination: d, spi: spiValue, proto: p)
        let delivery = resolver.deliver(inbound, to: try parseContext(socket, "--socket"))
        if options.json {
            var o: [String: Any] = ["dst": d.description, "spi": Int(spiValue), "proto": p.description, "socket": socket,
                                    "delivered": delivery.delivered, "dropped": inbound.dropped, "checks": checksJSON(delivery.checks)]
            if let peer = inbound.peer { o["peer"] = peer.description }
            print(jsonText(o))
        } else {
            print("SA dst \(d) spi 0x\(String(spiValue, radix: 16)) proto \(p)")
            print("peer label: \(inbound.dropped ? "none (dropped)" : inbound.peer?.description ?? "none")")
            for c in delivery.checks { print("  \(c)") }
            print(delivery.delivered ? "delivered to \(socket): it sees \(delivery.peer!)" : "not delivered to \(socket)")
        }
        if !delivery.delivered { throw ExitCode(Status.denied) }
    }
}

/// `salabel trace`: one flow's whole path of decisions, like a traceroute of decisions.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Follow one flow: the SPD entry it matches, the SA it uses (or the ACQUIRE it triggers), the label the receiver sees, and whether the receiver accepts it.",
        discussion: "Without --src/--dst the flow goes from the embedded example's client (10.77.0.1) to its server (10.77.0.2).")

    @OptionGroup var options: ResolverOptions
    @Option(help: "The sending socket's context.") var from: String = "system_u:system_r:echoclient_t:s0"
    @Option(help: "The receiving socket's context.") var to: String = "system_u:system_r:echoserver_t:s0"
    @Option var src: String = "10.77.0.1"
    @Option var dst: String = "10.77.0.2"
    @Option(help: "tcp, udp or a protocol number.") var proto: String = "tcp"
    @Option var dport: UInt16 = 7
    @Option var sport: UInt16 = 0

    func run() throws {
        guard let s = IPAddress(src), let d = IPAddress(dst) else { throw ValidationError("--src/--dst: addresses") }
        let upper: UInt8
        switch proto {
        case "tcp": upper = 6
        case "udp": upper = 17
        default:
            guard let v = UInt8(proto) else { throw ValidationError("--proto: tcp, udp or a number") }
            upper = v
        }
        let flow = Flow(context: try parseContext(from, "--from"), source: s, destination: d, upperProtocol: upper, sourcePort: sport, destinationPort: dport)
        let example = try EchoExample.mirrors()
        let live = try options.liveMirror()
        let authorizer = try options.authorizer()
        let sender = Resolver(mirror: live ?? example.client, authorizer: authorizer)
        let receiver = Resolver(mirror: live ?? example.server, authorizer: authorizer)
        let out = sender.outbound(flow)
        var steps: [[String: Any]] = [["step": "outbound", "checks": checksJSON(out.checks)]]
        var lines = ["flow \(flow)", "1. outbound on \(s):"] + out.checks.map { "   \($0.description.replacingOccurrences(of: "\n", with: "\n   "))" }
        var delivered = false
        switch out.outcome {
        case .bypass: lines.append("   → no SPD entry applies: sent unprotected (the receiver sees it unlabeled)")
        case .blocked: lines.append("   → blocked by the SPD entry")
        case .invalid: lines.append("   → EINVAL: a labeled entry and a flow without a label")
        case .acquire(_, let label): lines.append("   → no usable SA: the kernel sends an ACQUIRE" + (label.map { " carrying \($0)" } ?? "") + " and the packet waits")
        case .protected(_, let sa):
            lines.append("   → sent on SA spi 0x\(String(sa.spi, radix: 16))" + (sa.securityContext.map { " labeled \($0)" } ?? " (unlabeled)"))
            let inbound = receiver.inbound(destination: sa.destination, spi: sa.spi, proto: sa.proto)
            let delivery = receiver.deliver(inbound, to: try parseContext(to, "--to"), source: s)
            delivered = delivery.delivered
            steps.append(["step": "inbound", "checks": checksJSON(delivery.checks)])
            lines.append("2. inbound on \(d):")
            lines += delivery.checks.map { "   \($0.description.replacingOccurrences(of: "\n", with: "\n   "))" }
            lines.append(delivered ? "   → delivered: \(to) sees the peer label \(delivery.peer!)" : "   → not delivered")
        }
        if options.json {
            print(jsonText(["flow": flow.description, "delivered": delivered, "outcome": "\(out.outcome)".components(separatedBy: "(").first ?? "", "steps": steps]))
        } else {
            print(lines.joined(separator: "\n"))
        }
        if !delivered { throw ExitCode(Status.denied) }
    }
}
