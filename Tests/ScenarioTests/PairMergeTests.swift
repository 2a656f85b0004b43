import Scenario
@testable import ScenarioKernel
import Testing

/// The outcome a pair of VMs reports for one step (GuestRunner.merge, Specs/scenarios/README.md,
/// "The kernel run", item 6): made of the two guests' halves so that it reads as the one-kernel
/// runner's outcome of the same step (GuestRunner+Traffic.swift), with each kernel's AVC lines.
struct PairMergeTests {
    static func step(_ yaml: String) throws -> ScenarioStep {
        let text = """
            actors: { c: system_u:system_r:echoclient_t:s0, s: system_u:system_r:echoserver_t:s0 }
            kernels: per_host
            hosts:
              client: { address: 10.77.0.1 }
              server: { address: 10.77.0.2 }
            steps:
              - \(yaml)

            """
        return try Scenario(yaml: text).steps[0]
    }

    static let line = AVCLine(result: "denied", permissions: ["recv"], scontext: "a:b:c:s0", tcontext: "a:b:d:s0", tclass: "peer", permissive: false)

    @Test func theServersSocketFailureIsTheStepsResult() throws {
        let s = try Self.step("tcp: { from: client, to: server, port: 7, as: c, server_as: s }")
        let server = StepOutcome(result: "EACCES", stage: "bind", delivered: false, avc: [Self.line.on("server")])
        let merged = GuestRunner.merge(s, server, host: "server", StepOutcome(result: "ok"))
        #expect(merged.result == "EACCES" && merged.stage == "bind" && merged.delivered == false)
        #expect(merged.avc.map(\.host) == ["server"])
    }

    @Test func aTCPConnectionTakesTheClientsResultAndTheServersDelivery() throws {
        let s = try Self.step("tcp: { from: client, to: server, port: 7, as: c, server_as: s }")
        let client = StepOutcome(result: "ok", replyDelivered: true, replyPeer: "system_u:system_r:echoserver_t:s0", acquire: ["client": "x"])
        let server = StepOutcome(result: "ok", delivered: true, peer: "system_u:system_r:echoclient_t:s0", acquire: ["server": "y"])
        let merged = GuestRunner.merge(s, client, host: "client", server)
        #expect(merged.result == "ok" && merged.delivered == true && merged.peer == "system_u:system_r:echoclient_t:s0")
        #expect(merged.replyDelivered == true && merged.replyPeer == "system_u:system_r:echoserver_t:s0")
        #expect(merged.acquire == ["client": "x", "server": "y"])
        // A connect that timed out: nothing was delivered, whatever the server saw.
        let timedOut = GuestRunner.merge(s, StepOutcome(result: "ETIMEDOUT", stage: "connect"), host: "client", server)
        #expect(timedOut.result == "ETIMEDOUT" && timedOut.stage == "connect" && timedOut.delivered == false && timedOut.peer == nil)
    }

    @Test func aDatagramNotDeliveredHasNoReply() throws {
        let s = try Self.step("udp: { from: client, to: server, port: 7, as: c, server_as: s }")
        let merged = GuestRunner.merge(
            s, StepOutcome(result: "ok", delivered: false, avc: [Self.line.on("server")]), host: "server",
            StepOutcome(result: "ok", avc: [Self.line.on("client")]))
        #expect(merged.result == "ok" && merged.delivered == false && merged.replyDelivered == nil && merged.peer == nil)
        #expect(merged.avc.map(\.host) == ["client", "server"])
    }

    @Test func anXfrmRequestIsItsHostsOutcome() throws {
        let s = try Self.step("{ host: server, as: c, xfrm: state flush }")
        let other = StepOutcome(result: "ok", avc: [Self.line.on("client")])
        let merged = GuestRunner.merge(s, other, host: "client", StepOutcome(result: "EACCES"))
        #expect(merged.result == "EACCES" && merged.avc == [Self.line.on("client")])
    }
}
