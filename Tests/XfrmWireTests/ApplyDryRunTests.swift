import IPsecModel
import SecurityContexts
import Testing
import XfrmManager
import XfrmNetlink

/// What `salabel apply --dry-run` prints (`ApplyRun.DryRun.lines(showKeys:)`): each step's message
/// by type and size, its bytes only with the keys shown; and why a dry run stops.
struct ApplyDryRunTests {
    static func run() throws -> (ApplyRun, [ApplyStep]) {
        let policy = PolicyEntry(
            selector: TrafficSelector(source: IPPrefix("10.0.0.1/32")!, destination: IPPrefix("10.0.0.2/32")!), direction: .out,
            templates: [PolicyTemplate(source: IPAddress("10.0.0.1")!, destination: IPAddress("10.0.0.2")!)])
        let manager = XfrmManager(
            kernel: SimulatedXfrmKernel(), authorizer: nil, subject: try SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0"))
        let run = ApplyRun(manager: manager, desired: (sas: [], policies: [policy]), remove: false)
        return (run, try run.steps())
    }

    @Test func messagesByTypeAndSizeAndBytesOnlyWithKeys() throws {
        let (run, steps) = try Self.run()
        #expect(steps.count == 1)
        let dry = try run.dryRun(steps)
        let bytes = try #require(dry.messages.first?.bytes)
        #expect(dry.lines(showKeys: false) == ["would \(steps[0].summary)", "    XFRM_MSG_NEWPOLICY, \(bytes.count) bytes"])
        let shown = dry.lines(showKeys: true)
        let rows = Array(shown.dropFirst(2))
        #expect(rows.count == (bytes.count + 15) / 16)
        #expect(rows.first?.hasPrefix("    0000: ") == true && rows.dropFirst().first?.hasPrefix("    0010: ") == true)
        // Two hex digits a byte, a blank between two.
        let hex = rows.map { $0.dropFirst(10).split(separator: " ").map(String.init) }.joined()
        #expect(hex.count == bytes.count && hex.allSatisfy { $0.count == 2 })
        #expect(hex.map { UInt8($0, radix: 16)! } == bytes)
    }

    @Test func whyADryRunStops() throws {
        let (_, steps) = try Self.run()
        let refused = ApplyRun.DryRunFailure.refused(steps[0], .kernel(XfrmKernelError(errno: 1), authorizations: []))
        #expect(refused.description == "\(steps[0].summary): the kernel refused: \(XfrmKernelError(errno: 1)) (nothing was checked by the engine)")
        #expect(refused.records.isEmpty)
        struct Unbuildable: Error, CustomStringConvertible { var description: String { "too long" } }
        let unencodable = ApplyRun.DryRunFailure.unencodable(steps[0], Unbuildable())
        #expect(unencodable.description == "\(steps[0].summary): the message cannot be built: too long")
    }
}
