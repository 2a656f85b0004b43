@testable import DecisionEngine
import Foundation
import Testing
import TestSupport

/// The precompiled embedded policy (`Resources/default-policy.33`) is exactly what its source
/// compiles to, so the two cannot drift apart.
struct EmbeddedPolicyBinaryTests {
    static let regenerate =
        "regenerate it: swift run salabel policy compile Sources/Engine/DecisionEngine/Resources/default-policy.conf -o Sources/Engine/DecisionEngine/Resources/default-policy.33"

    @Test func theBinaryIsTheSourceCompiled() throws {
        let fromSource = try EmbeddedPolicy.compile().binaryPolicy()
        #expect(fromSource == EmbeddedPolicy.binaryBytes, "Resources/default-policy.33 is not what default-policy.conf compiles to; \(Self.regenerate)")
    }

    @Test func theBinaryDecidesAsTheSource() throws {
        let differences = DecisionSummary.differences(try EmbeddedPolicy.compile(), try EmbeddedPolicy.load())
        #expect(differences.isEmpty, "\(differences)")
    }
}
