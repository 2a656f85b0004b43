import Foundation
import Scenario
import Testing
import TestSupport

/// `Scenario.load(path:)` on files on disk: every error starts with the file's path and says
/// exactly what is wrong (Specs/scenarios/README.md).
struct ScenarioLoadTests {
    /// A fresh file holding `data`, removed by the caller with its directory.
    static func file(_ data: Data, named name: String = "bad.yaml") throws -> (path: String, directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-scenario-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return (url.path, directory)
    }

    static func echo() throws -> String {
        try String(contentsOf: ScenarioTests.specs.appendingPathComponent("echo.yaml"), encoding: .utf8)
    }

    @Test func aMissingFileCannotBeRead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-no-such-\(UUID().uuidString).yaml").path
        let error = try #require(throws: Scenario.Error.self) { try Scenario.load(path: path) }
        #expect(error.description == "\(path): cannot read the file")
    }

    @Test func aFileThatIsNotUTF8CannotBeRead() throws {
        var data = Data(try Self.echo().utf8)
        data.append(contentsOf: [0xFF, 0xFE, 0x0A])
        let (path, directory) = try Self.file(data)
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = try #require(throws: Scenario.Error.self) { try Scenario.load(path: path) }
        #expect(error.description == "\(path): cannot read the file")
    }

    /// echo.yaml, loaded as is, then with one field made wrong: the error is that field's, with the
    /// file's path in front.
    @Test func aSpecScenarioWithOneBadFieldFailsOnThatField() throws {
        let good = try Self.echo()
        let (path, directory) = try Self.file(Data(good.utf8), named: "echo.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try Scenario.load(path: path).hosts == ["client", "server"])

        try Data(good.replacingOccurrences(of: "policy: embedded\n", with: "policy: embedded\nenforcing: maybe\n").utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: Scenario.Error.self) { try Scenario.load(path: path) }
        #expect(error.description == "\(path): enforcing: expected true or false")

        try Data(good.replacingOccurrences(of: "hosts:\n", with: "hosts:\n  third: { address: 10.77.0.3, xfrm: [\"state flush\"] }\n").utf8)
            .write(to: URL(fileURLWithPath: path))
        let flush = try #require(throws: Scenario.Error.self) { try Scenario.load(path: path) }
        #expect(flush.description == "\(path): hosts.third.xfrm[0]: a host's xfrm list holds `state add` and `policy add` lines only")
    }

    /// A YAML syntax error (echo.yaml cut inside a flow mapping) names the file and a line.
    @Test func aSyntaxErrorNamesTheFileAndALine() throws {
        let good = try Self.echo()
        let cut = String(good[..<good.range(of: "server: { address: 10.77.0.2")!.upperBound])
        let (path, directory) = try Self.file(Data(cut.utf8))
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = try #require(throws: Scenario.Error.self) { try Scenario.load(path: path) }
        #expect(error.description.hasPrefix("\(path): ") && error.description.contains("line "), "\(error.description)")
    }
}
