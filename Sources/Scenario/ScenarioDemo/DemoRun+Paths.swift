import DataPlaneHost
import DataPlaneNode
import Foundation
import IPsecModel
import Resolver
import SecurityContexts

/// The five paths of the userspace run (Specs/dataplane/demo.md).
extension DemoRun {
    /// Plays the demonstration: the echo, then the paths the policy does not grant, then the
    /// replay, saying what each host did; returns the number of paths that did not behave as the
    /// policy intends (an error on the way counts as one).
    public func play() -> Int {
        let client = addresses["client"]!, server = addresses["server"]!
        say("salabel demo: labeled IPsec between two hosts, under the embedded policy (enforcing)")
        say("data plane: userspace ESP in UDP (RFC 3948) — not the kernel's: \(why)")
        switch network.kind {
        case .namespaces:
            say("hosts: network namespaces \(network.namespaces["client"]!) (\(client)) and \(network.namespaces["server"]!) (\(server)), joined by veth")
        case .loopback:
            say("hosts: client \(client) and server \(server) on loopback ports (\(network.fallbackReason ?? ""))")
        }
        for line in saLines { say(line) }
        var unexpected = 0
        do {
            let echo = try LabeledSocket(host: hosts["server"]!.controlPath)
            try echo.bind(port: 7, context: try SecurityContext(parsing: DemoScenario.server))
            // The server's second port, bound for the whole demo (path 3 sends to it).
            let status = try LabeledSocket(host: hosts["server"]!.controlPath)
            try status.bind(port: 40007, context: try SecurityContext(parsing: DemoScenario.server))
            defer { withExtendedLifetime(status) {} }
            let c = try LabeledSocket(host: hosts["client"]!.controlPath)
            try c.bind(port: 0, context: try SecurityContext(parsing: DemoScenario.client))
            let paths: [() throws -> Bool] = [
                { try self.echoPath(c, echo, server) },
                { try self.otherDomainPath(server) },
                { try self.clearPath(c, server) },
                { try self.acquirePath(server) },
                { try self.replayPath() },
            ]
            for path in paths where try !path() { unexpected += 1 }
            let stats = try c.statistics(), serverStats = try echo.statistics()
            let drops = serverStats.filter { $0.key.hasPrefix("dropped.") }.map { "\($0.value) \($0.key.dropFirst(8))" }.sorted()
            say(
                "\nclient: \(stats["sealed"] ?? 0) sealed, \(stats["clear"] ?? 0) in clear, \(stats["acquires"] ?? 0) ACQUIRE; "
                    + "server: \(serverStats["delivered"] ?? 0) delivered, dropped: \(drops.joined(separator: ", "))")
        } catch {
            say("error: \(error)")
            unexpected += 1
        }
        if unexpected == 0 { say("\nAll 5 paths behave as the embedded policy intends (Specs/dataplane/demo.md).") }
        return unexpected
    }

    private func expect(_ ok: Bool, _ what: String) -> Bool {
        say("   " + (ok ? "✓ " : "✗ NOT AS INTENDED: ") + what)
        return ok
    }

    private func echoPath(_ c: LabeledSocket, _ echo: LabeledSocket, _ server: IPAddress) throws -> Bool {
        let text = "hello over a labeled SA"
        say("\n1. The echo client (\(DemoScenario.client)) sends \"\(text)\" to \(server) port 7")
        let m = mark
        let sent = try c.send(Array(text.utf8), to: server, port: 7)
        say("   client: sent \(sent.summary)")
        guard let (_, r) = nextReceived(at: "server", after: m), let d = r.delivery else { return expect(false, "the server did not receive the echo") }
        say(
            "   server (\(DemoScenario.server)): received \"\(String(decoding: d.data, as: UTF8.self))\" from \(d.source):\(d.sourcePort), peer label \(d.peer?.description ?? "none")"
        )
        let got = try echo.receive(timeout: .seconds(2))
        let back = try echo.send(got.data, to: got.source, port: got.sourcePort)
        say("   server: echoed it back, sent \(back.summary)")
        let reply = try c.receive(timeout: .seconds(2))
        say("   client: reply \"\(String(decoding: reply.data, as: UTF8.self))\", peer label \(reply.peer?.description ?? "none")")
        return expect(
            d.peer?.description == DemoScenario.client && reply.peer?.description == DemoScenario.server && reply.data == Array(text.utf8),
            "the echo works; the server sees the client's label, the client sees the server's")
    }

    private func otherDomainPath(_ server: IPAddress) throws -> Bool {
        say("\n2. Another domain on the client host (\(DemoScenario.other)) sends to the echo port over its own labeled SA")
        let o = try LabeledSocket(host: hosts["client"]!.controlPath)
        try o.bind(port: 0, context: try SecurityContext(parsing: DemoScenario.other))
        guard let r = try sendAndWatchServer(o, "let me in", to: server, port: 7, as: DemoScenario.other) else {
            return expect(false, "nothing reached the server")
        }
        return expect(
            r.delivery == nil && r.records.contains { $0.result == .denied && $0.tclass == "peer" },
            "refused: the server's domain may not receive from \(DemoScenario.other) (peer recv), with the AVC record")
    }

    private func clearPath(_ c: LabeledSocket, _ server: IPAddress) throws -> Bool {
        say("\n3. The client sends to the server's port 40007, which no SPD entry covers: the datagram leaves in clear, unlabeled")
        guard let r = try sendAndWatchServer(c, "plain", to: server, port: 40007, as: "client") else { return expect(false, "nothing reached the server") }
        return expect(
            r.delivery == nil && r.records.contains { $0.result == .denied && $0.tcontext.type == "unlabeled_t" },
            "refused: unlabeled traffic is not the server's to receive (boolean echo_allow_unlabeled is off)")
    }

    /// Sends `text` from `socket` (shown as `who`) and reports what the server did with it, with its
    /// checks; `nil` when nothing reached the server.
    private func sendAndWatchServer(_ socket: LabeledSocket, _ text: String, to server: IPAddress, port: UInt16, as who: String) throws -> InboundResult? {
        let m = mark
        let sent = try socket.send(Array(text.utf8), to: server, port: port)
        say("   \(who): sent \(sent.summary)")
        guard let (_, r) = nextReceived(at: "server", after: m) else { return nil }
        say("   server: \(r.delivery == nil ? "dropped it: \(dropReason(r))" : "delivered it")")
        show("server:", r.checks)
        return r
    }

    private func acquirePath(_ server: IPAddress) throws -> Bool {
        say("\n4. The client domain under another SELinux user (\(DemoScenario.otherUser)) has no SA with its label")
        let l = try LabeledSocket(host: hosts["client"]!.controlPath)
        try l.bind(port: 0, context: try SecurityContext(parsing: DemoScenario.otherUser))
        let result = Result { () throws(LabeledSocket.Failure) in try l.send(Array("hello".utf8), to: server, port: 7) }
        guard case .failure(.refused(let r)) = result else { return expect(false, "it was not refused: \(result)") }
        say("   client: \(r.code) — \(r.reason)")
        return expect(
            r.code == "EAGAIN" && r.reason.contains("ctx \(DemoScenario.otherUser)"),
            "no SA serves it: an ACQUIRE asks the key manager for an SA carrying the flow's label")
    }

    private func replayPath() throws -> Bool {
        say("\n5. The client's last ESP packet is captured and replayed on the wire")
        guard let packet = lastSentPacket(from: "client") else { return expect(false, "no ESP packet was captured") }
        let m = mark
        try hosts["client"]!.injectESP(packet, to: serverWire)
        guard let (_, r) = nextReceived(at: "server", after: m) else { return expect(false, "the replay did not reach the server") }
        say("   server: \(r.delivery == nil ? "dropped it: \(dropReason(r))" : "delivered it")")
        return expect(r.outcome == .dropped(.esp(.replayed)), "the anti-replay window drops the copy")
    }

    private func dropReason(_ r: InboundResult) -> String {
        if case .dropped(let why) = r.outcome { return "\(why)" }
        return "delivered"
    }

    /// Says the checks made (with `verbose`) and the AVC records written.
    func show(_ prefix: String, _ checks: [ResolutionCheck]) {
        for c in checks {
            if verbose { say("     \(prefix) \(c.passed ? "✓" : "✗") \(c.what): \(c.reason)") }
            if let r = c.record { say("     \(prefix) \(r)") }
        }
    }
}
