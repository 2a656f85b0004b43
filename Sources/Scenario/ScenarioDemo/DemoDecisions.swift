public import DecisionEngine
import Foundation
import SecurityContexts

/// `salabel demo --decisions`: the association decisions behind the demo, asked of the engine
/// alone: a key manager labels SAs, the echo client uses its own SA and the default SPD entry, the
/// server accepts the client's label, and the paths the policy does not grant are denied with the
/// AVC records the kernel would log.
public enum DemoDecisions {
    /// One step: who asks what of which label, and what the policy should say.
    public struct Step: Sendable {
        public var title: String
        public var permission: AssociationPermission
        /// The subject's context, as written.
        public var source: String
        /// The label asked about, as written.
        public var target: String
        /// Whether the embedded policy is written to grant it.
        public var expectGranted: Bool
    }

    /// One step and the engine's answer.
    public struct Decision: Sendable {
        public var step: Step
        /// Granted or not, why, and the AVC record when one is written.
        public var authorization: Authorization
        /// Whether the answer is the one the embedded policy is written to give.
        public var asIntended: Bool { authorization.granted == step.expectGranted }

        /// The decision as `salabel demo --decisions` prints it, numbered `number`: the title, the
        /// question (`association { PERM }  SOURCE -> TARGET`), `GRANTED` or `DENIED` with the
        /// reason, and the AVC record when one is written.
        public func lines(number: Int) -> [String] {
            [
                "\(number). \(step.title)", "   association { \(step.permission.rawValue) }  \(step.source) -> \(step.target)",
                "   \(authorization.granted ? "GRANTED" : "DENIED"): \(authorization.reason)",
            ] + (authorization.record.map { ["   \($0.description)"] } ?? [])
        }

        /// The decision as a JSON-ready dictionary, numbered `number`: `step`, `title`,
        /// `permission`, `scontext`, `tcontext`, `granted`, `reason`, and `avc` when a record is written.
        public func json(number: Int) -> [String: Any] {
            var o: [String: Any] = [
                "step": number, "title": step.title, "permission": step.permission.rawValue,
                "scontext": step.source, "tcontext": step.target, "granted": authorization.granted, "reason": authorization.reason,
            ]
            if let record = authorization.record { o["avc"] = record.description }
            return o
        }
    }

    /// The steps, in order.
    public static let steps: [Step] = {
        let manager = "system_u:system_r:ipsec_mgmt_t:s0", spd = "system_u:object_r:ipsec_spd_t:s0"
        let restrictedSPD = "system_u:object_r:ipsec_restricted_spd_t:s0"
        let (client, server, other) = (DemoScenario.client, DemoScenario.server, DemoScenario.other)
        return [
            Step(title: "key manager labels the client's SA", permission: .setcontext, source: manager, target: client, expectGranted: true),
            Step(title: "key manager labels the default SPD entry", permission: .setcontext, source: manager, target: spd, expectGranted: true),
            Step(title: "client flow matches the default SPD entry", permission: .polmatch, source: client, target: spd, expectGranted: true),
            Step(title: "client flow uses its own SA", permission: .sendto, source: client, target: client, expectGranted: true),
            Step(title: "server accepts traffic labeled as the client", permission: .recvfrom, source: server, target: client, expectGranted: true),
            Step(
                title: "client flow tries the restricted SPD entry (dontaudit: denied silently)", permission: .polmatch,
                source: client, target: restrictedSPD, expectGranted: false),
            Step(title: "client flow tries an SA labeled for another domain", permission: .sendto, source: client, target: other, expectGranted: false),
            Step(
                title: "server refuses traffic from a peer the policy does not grant", permission: .recvfrom,
                source: server, target: other, expectGranted: false),
            Step(title: "client tries to label an SA itself", permission: .setcontext, source: client, target: client, expectGranted: false),
        ]
    }()

    /// Asks the embedded policy (enforcing, in this process's engine) every step, in order; the
    /// audit records name this process as `salabel`. It throws when the policy does not load.
    public static func decide() throws(DemoError) -> [Decision] {
        let server: SecurityServer
        do { server = try SecurityServer.embedded() } catch {
            throw DemoError("the embedded policy does not load: \(error.description)")
        }
        let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: server))
        let me = AuditSubject(pid: ProcessInfo.processInfo.processIdentifier, comm: "salabel")
        var decisions: [Decision] = []
        for (i, step) in steps.enumerated() {
            guard let source = try? SecurityContext(parsing: step.source), let target = try? SecurityContext(parsing: step.target) else {
                throw DemoError("bad context in demo step \(i + 1)")
            }
            decisions.append(Decision(step: step, authorization: authorizer.authorize(step.permission, source: source, target: target, auditSubject: me)))
        }
        return decisions
    }
}
