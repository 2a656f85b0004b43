import Foundation
import Testing
import TestSupport

/// `salabel scenario run --linux`: the Linux version the model plays and whose expectations are
/// checked. Specs/scenarios/sa-migrate.yaml states both kernels' answers (its `expect_since`
/// "6.12" entries are what Debian 13's 6.12.117 did, its `expect` what Debian 12's 6.1.192 did, in
/// scripts/conformance). The model meets each version's with that version; were the version
/// ignored by the model or by the check, one of the two runs would fail.
struct ScenarioLinuxCLITests {
    static let file = repositoryRoot.appendingPathComponent("Specs/scenarios/sa-migrate.yaml").path

    @Test(arguments: ["6.1", "6.12"])
    func eachVersionMeetsItsExpectations(linux: String) throws {
        let r = try CLITests.salabel("scenario", "run", "--linux", linux, Self.file)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("| sa-migrate | 7 | 7/7 | - | - |"))
        #expect(r.stdout.contains("Linux \(linux): the model's version and the expectations checked"))
        let json = try CLITests.json(try CLITests.salabel("scenario", "run", "--json", "--linux", linux, Self.file).stdout)
        #expect(json["linux"] as? String == linux)
    }

    /// A version between the two plays 6.1's MIGRATE (the lookup by flow came in 6.12) and is
    /// checked against `expect` (the `expect_since` entry of the highest version at or below it:
    /// none).
    @Test func aVersionBetweenTakesTheEarlierExpectations() throws {
        let r = try CLITests.salabel("scenario", "run", "--linux", "6.11", Self.file)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    }

    @Test func aBadVersionIsRefused() throws {
        let r = try CLITests.salabel("scenario", "run", "--linux", "6", Self.file)
        #expect(r.status == 2)
        #expect(r.stderr.contains("--linux: expected MAJOR.MINOR, such as 6.12; found 6"))
    }
}
