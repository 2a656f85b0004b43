import Foundation
import Glibc
import LinuxSystem
import NetlinkSocket
import Scenario
import XfrmManager

// Hosts on kernels of their own (Specs/scenarios/README.md, "Hosts on kernels of their own"): each
// guest of a `scripts/vm pair` plays one host, with the host's own policy and mode, and the two
// runners play every step together over the peer channel. Left leads: it makes the scenario's keys
// and reports each step's outcome, its half merged with right's.

extension GuestRunner {
    /// Plays the plan's scenarios as one guest of a pair.
    func runPair(side: GuestPlan.Side) {
        let leads = side == .left
        func fail(_ scenario: String, _ why: String) {
            if leads { report(GuestReport(scenario: scenario, error: why)) } else { diagnose("\(scenario): \(why)") }
        }
        let channel: PeerChannel
        do {
            channel = try PeerChannel()
            _ = try channel.meet(.hello)
        } catch {
            for entry in plan.scenarios { fail(entry.name, "pair: \(error)") }
            return
        }
        do { try warmUp() } catch { fail("", "warm-up: \(error)") }
        for entry in plan.scenarios {
            do {
                try playPaired(entry, channel: channel, leads: leads)
            } catch {
                // The channel itself failed: the two sides can no longer play in step.
                fail(entry.name, "pair: \(error)")
                break
            }
        }
        try? write(Array("0".utf8), to: "/sys/fs/selinux/enforce")
        try? teardown()
    }

    /// One scenario on this guest's host: its setup, both sides ready, then every step together.
    /// Throws only when the peer channel fails.
    func playPaired(_ entry: GuestPlan.Entry, channel: PeerChannel, leads: Bool) throws {
        var setupError: String?
        var scenario: Scenario?
        do {
            scenario = try Scenario.load(path: entry.file)
            scenario?.name = entry.name
        } catch { setupError = "\(error)" }
        try? write(Array("0".utf8), to: "/sys/fs/selinux/enforce")
        try? teardown()
        // The keys: left generates them and sends the key file's text; right reads it back.
        var keys = KeyFile(keys: [:])
        if leads {
            var m = PeerMessage(.keys)
            if let scenario {
                keys = Self.keys(for: scenario)
                m.keys = try shareable(keys)
            }
            try channel.send(m)
        } else {
            let m = try channel.expect(.keys)
            if let text = m.keys { keys = try KeyFile(yaml: text) }
        }
        var monitor: NetlinkSocket?
        if let scenario, setupError == nil, let host = entry.host {
            do {
                try load(policy: entry.policy, booleans: entry.booleans)
                try attach(scenario, host: host)
                try install(scenario, keys: keys, hosts: [host])
                monitor = try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace(host)), groups: [1], receiveTimeout: .milliseconds(1))
                try write(Array((scenario.enforcing(host: host) ? "1" : "0").utf8), to: "/sys/fs/selinux/enforce")
                if scenario.ikeHosts.contains(host) { try startIKE(scenario, keys: keys, hosts: [host]) }
            } catch { setupError = "host \(host): \(error)" }
        } else if setupError == nil {
            setupError = "the plan names no host for this guest"
        }
        var ready = PeerMessage(.ready)
        ready.error = setupError
        try channel.send(ready)
        let theirs = try channel.expect(.ready)
        guard let scenario, let host = entry.host, let monitor, setupError == nil, theirs.error == nil else {
            if leads { report(GuestReport(scenario: entry.name, error: "setup: " + (setupError ?? theirs.error ?? "failed"))) }
            return
        }
        for (i, step) in scenario.steps.enumerated() {
            let mine = try playPaired(step, index: i, scenario: scenario, host: host, monitor: monitor, channel: channel)
            if leads {
                guard let other = try channel.expect(.outcome, step: i).outcome else {
                    throw ScenarioKernelError("peer channel: step \(i)'s outcome is empty")
                }
                report(GuestReport(scenario: scenario.name, step: i, outcome: Self.merge(step, mine, host: host, other)))
            } else {
                var m = PeerMessage(.outcome, step: i)
                m.outcome = mine
                try channel.send(m)
            }
        }
    }

    /// The key file's text, for the peer channel only.
    private func shareable(_ keys: KeyFile) throws -> String {
        let path = "/run/\(namespacePrefix)pair.keys"
        defer { unlink(path) }
        try keys.write(to: path)
        guard let data = FileManager.default.contents(atPath: path) else { throw ScenarioKernelError("cannot read back \(path)") }
        return String(decoding: data, as: UTF8.self)
    }

    /// This guest's half of one step: the xfrm request when its host makes it; the server's or the
    /// client's side of the traffic; then its kernel's AVC lines (naming its host) and ACQUIREs.
    func playPaired(
        _ step: ScenarioStep, index: Int, scenario: Scenario, host: String, monitor: NetlinkSocket, channel: PeerChannel
    ) throws -> StepOutcome {
        settle()
        _ = log.drain()
        _ = Self.acquires(monitor)
        _ = try channel.meet(.begin, step: index)
        var outcome = StepOutcome(result: "ok")
        var acquired: [String] = []
        switch step.action {
        case .xfrm(let command):
            if command.host == host { outcome = xfrm(command) }
        case .traffic(let t):
            if t.to == host {
                outcome = try serve(t, step: index, scenario: scenario, channel: channel)
            } else if t.from == host {
                outcome = try connect(t, step: index, scenario: scenario, channel: channel)
            }
            if scenario.usesIKE {
                acquired += Self.acquires(monitor)
                if !acquired.isEmpty { waitForNegotiations([host: acquired], scenario: scenario) }
            }
        case .booleans, .enforcing, .reload:
            // Scenario refuses these steps when the hosts have kernels of their own.
            outcome = StepOutcome(result: "EHARNESS", stage: "harness", notes: ["the pair runner does not change a kernel's booleans or mode"])
        }
        settle()
        let (lines, records) = Self.avcLines(log.drain(), ignoring: Scenario.harnessType)
        outcome.avc = lines.map { $0.on(host) }
        outcome.records = records
        acquired += Self.acquires(monitor)
        if let label = acquired.last { outcome.acquire[host] = label }
        return outcome
    }

    /// The server's half of a traffic step: its socket, then what reached it once the client says
    /// it has sent (TCP: the accepted connection's peer label; UDP: the datagram's, echoed when
    /// the step asks for a reply). Its outcome holds `delivered` and `peer`, or the socket's failure.
    func serve(_ t: ScenarioStep.Traffic, step: Int, scenario: Scenario, channel: PeerChannel) throws -> StepOutcome {
        var listening = PeerMessage(.listening, step: step)
        let listener: SocketDescriptor
        switch openListener(t, family: scenario.layout.hosts[t.to]!.address.family) {
        case .success(let socket): listener = socket
        case .failure(let f):
            listening.failed = true
            try channel.send(listening)
            return f.outcome
        }
        defer { abort(listener) }
        try channel.send(listening)
        _ = try channel.expect(.sent, step: step)
        // The client's connect has returned (its final ACK is on the wire) or its datagram left.
        let wait = SocketProbe(timeout: t.proto == .tcp ? 1 : 1.5, sockcreate: nil)
        let peer: String?
        switch t.proto {
        case .tcp:
            peer = acceptedPeer(listener, wait)
        case .udp:
            let request = receivedDatagram(listener, wait)
            if t.reply, let request { echo(listener, to: request.source) }
            peer = request?.peer
        }
        let delivered = peer != nil
        var served = PeerMessage(.served, step: step)
        served.delivered = delivered
        try channel.send(served)
        return StepOutcome(result: "ok", delivered: delivered, peer: peer)
    }

    /// The client's half of a traffic step, once the server's socket is ready: the connect (TCP)
    /// or the datagram and its echo (UDP). Its outcome holds the result, the failed call's stage,
    /// and the reply's delivery and peer label.
    func connect(_ t: ScenarioStep.Traffic, step: Int, scenario: Scenario, channel: PeerChannel) throws -> StepOutcome {
        let listening = try channel.expect(.listening, step: step)
        if listening.failed == true { return StepOutcome(result: "ok") }
        let kind: SocketDescriptor.Kind = t.proto == .tcp ? .stream : .datagram
        var outcome = StepOutcome(result: "ok")
        let client: SocketDescriptor?
        switch labeledSocket(kind, context: t.actorContext.description, host: t.from, family: scenario.layout.hosts[t.to]!.address.family) {
        case .success(let socket): client = socket
        case .failure(let f):
            client = nil
            outcome = StepOutcome(result: f.errno, stage: "client \(f.stage)")
        }
        defer { if let client { abort(client) } }
        let probe = probe(t, scenario: scenario)
        let address = SocketEndpoint.internet(address: scenario.layout.hosts[t.to]!.address.bytes, port: t.port)
        if let client, let sp = t.socketPolicy, let failure = setSocketPolicy(sp, on: client, actor: t.actorContext) { outcome = failure }
        if let client, outcome.result == "ok" {
            switch t.proto {
            case .tcp:
                if let failure = probe.connect(client, address) {
                    outcome = StepOutcome(result: failure.name, stage: "connect")
                } else {
                    outcome.replyDelivered = true
                    outcome.replyPeer = peerLabel(client, probe)
                }
            case .udp:
                if let code = sendDatagram(client, to: address) { outcome = StepOutcome(result: code.name, stage: "sendto") }
            }
        }
        try channel.send(PeerMessage(.sent, step: step))
        let served = try channel.expect(.served, step: step)
        if t.proto == .udp, t.reply, served.delivered == true, let client, outcome.result == "ok" {
            let answer = receivedDatagram(client, probe)
            outcome.replyDelivered = answer != nil
            outcome.replyPeer = answer?.peer
        }
        return outcome
    }

    /// One step's outcome from the two halves (this guest's, on `host`, and the other's), as the
    /// one-kernel runner reports it: the xfrm request's from the host that made it; for traffic,
    /// the server's socket failure, else the client's result with the server's delivery. The AVC
    /// lines of both kernels, each naming its host; the ACQUIREs of both.
    static func merge(_ step: ScenarioStep, _ mine: StepOutcome, host: String, _ other: StepOutcome) -> StepOutcome {
        var merged: StepOutcome
        switch step.action {
        case .xfrm(let command):
            merged = command.host == host ? mine : other
        case .booleans, .enforcing, .reload:
            merged = mine
        case .traffic(let t):
            let server = t.to == host ? mine : other, client = t.to == host ? other : mine
            if server.result != "ok" {
                merged = server
            } else if client.result != "ok" {
                merged = client
                merged.delivered = false
            } else {
                merged = client
                merged.delivered = server.delivered
                switch t.proto {
                case .tcp:
                    merged.peer = server.delivered == true ? server.peer : nil
                case .udp:
                    merged.peer = server.peer
                    if server.delivered != true || !t.reply {
                        merged.replyDelivered = nil
                        merged.replyPeer = nil
                    }
                }
            }
            merged.notes = []
        }
        merged.avc = Array(Set(mine.avc + other.avc)).sorted()
        merged.acquire = mine.acquire.merging(other.acquire) { a, _ in a }
        return merged
    }
}
