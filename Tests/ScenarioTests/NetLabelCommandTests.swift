import IPsecModel
import Resolver
import Scenario
import Testing

/// The scenario field `netlabel:` (Specs/scenarios/README.md, "NetLabel"): netlabelctl lines read
/// strictly into what the model understands, every other line refused with its place and reason,
/// and the tables and the undoing calls the lines give.
struct NetLabelCommandTests {
    static let host = "hosts: { a: { address: 10.77.0.1 } }\n"

    @Test(arguments: [
        ("netlabel: nope", "netlabel: expected a list of netlabelctl lines"),
        ("netlabel: [3]", "netlabel[0]: expected a netlabelctl line"),
        ("netlabel: [\"mgmt version\"]", "netlabel[0]: expected a cipsov4, calipso, map or unlbl line"),
        ("netlabel: [\"cipsov4 add trans doi:16 tags:1\"]", "netlabel[0]: the cipsov4 line the model knows is"),
        ("netlabel: [\"cipsov4 add pass doi:16 tags:2\"]", "netlabel[0]: tags:1 only"),
        ("netlabel: [\"cipsov4 add pass doi:0 tags:1\"]", "netlabel[0]: `0` is not a DOI"),
        ("netlabel: [\"cipsov4 add pass doi:16 tag:1\"]", "netlabel[0]: expected tags:VALUE"),
        ("netlabel: [\"map add domain:ping_t protocol:unlbl\"]", "netlabel[0]: expected `map del default` or `map add default"),
        ("netlabel: [\"map add default address:10.77.0.0/33 protocol:unlbl\"]", "netlabel[0]: `10.77.0.0/33` is not an address"),
        ("netlabel: [\"map add default protocol:ripso,16\"]", "netlabel[0]: protocol:unlbl, protocol:cipsov4,DOI or protocol:calipso,DOI"),
        ("netlabel: [\"calipso add pass doi:16 tags:1\"]", "netlabel[0]: the calipso line the model knows is `calipso add pass doi:N`"),
        (
            "netlabel: [\"unlbl add interface:eth0 address:10.77.0.1 label:system_u:object_r:a_t:s0\"]",
            "netlabel[0]: `interface:eth0`: only the default interface"
        ),
        ("netlabel: [\"unlbl add default address:10.77.0.1 label:nonsense\"]", "netlabel[0]: label:"),
        ("netlabel: [\"unlbl accept maybe\"]", "netlabel[0]: expected `unlbl accept on|off`"),
        ("kernels: per_host\nnetlabel: [\"unlbl accept off\"]", "netlabel: not supported with kernels: per_host"),
    ])
    func badLinesSayWhereAndWhy(text: String, message: String) {
        let yaml = text.hasPrefix("kernels") ? "hosts: { a: { address: 10.77.0.1 }, b: { address: 10.77.0.2 } }\n" + text : Self.host + text
        ScenarioTests.expectRefused(yaml, shown: text, message: message)
    }

    /// netlabel-cipso.yaml's lines: the tables they leave, and the calls that restore the boot's
    /// (the mapping before the DOI it uses, then accept on).
    @Test func cipsoLinesGiveTheirTablesAndTheirUndoing() throws {
        let s = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("netlabel-cipso.yaml").path)
        #expect(s.netLabel.map(\.arguments.first) == ["cipsov4", "map", "map", "map"])
        #expect(s.netLabel[0].operation == .cipsoAddPass(doi: 16, tags: [1]))
        let t = s.netLabelState
        #expect(t.enabled && t.defaultMapping == nil && t.optionDOI(to: IPAddress("10.77.0.2")!) == 16 && t.optionDOI(to: IPAddress("10.78.0.2")!) == nil)
        #expect(
            NetLabelCommand.reset(after: s.netLabel) == [
                ["map", "del", "default"], ["map", "add", "default", "protocol:unlbl"], ["cipsov4", "del", "doi:16"], ["unlbl", "accept", "on"],
            ])
    }

    /// netlabel-calipso.yaml's lines: a CALIPSO DOI mapped for the IPv6 prefix only, undone with
    /// `calipso del`.
    @Test func calipsoLines() throws {
        let s = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("netlabel-calipso.yaml").path)
        #expect(s.netLabel[0].operation == .calipsoAddPass(doi: 16))
        let t = s.netLabelState
        #expect(t.optionDOI(to: IPAddress("fd00:77::2")!) == 16 && t.optionDOI(to: IPAddress("fd00:78::2")!) == nil)
        #expect(NetLabelCommand.reset(after: s.netLabel).contains(["calipso", "del", "doi:16"]))
    }

    /// A static label and accept off: the undoing removes the label and turns accept back on,
    /// and leaves the boot's default mapping alone but for putting it back.
    @Test func staticLabelsAndTheAcceptFlag() throws {
        let s = try Scenario.load(path: ScenarioTests.specs.appendingPathComponent("netlabel-accept-off.yaml").path)
        let t = s.netLabelState
        #expect(t.enabled && !t.acceptUnlabeled && t.staticLabels.map(\.label.type) == ["fallback_peer_t"])
        #expect(
            NetLabelCommand.reset(after: s.netLabel) == [
                ["map", "del", "default"], ["map", "add", "default", "protocol:unlbl"], ["unlbl", "del", "default", "address:10.77.0.1/32"],
                ["unlbl", "accept", "on"],
            ])
        #expect(try Scenario(yaml: Self.host, file: "x.yaml").netLabel.isEmpty)
    }
}
