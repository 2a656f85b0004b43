import ArgumentParser
import DecisionEngine
import Foundation
import SecurityContexts

/// `salabel demo --decisions`: the association decisions behind the demo, asked of the engine
/// alone: a key manager labels SAs, the echo client uses its own SA and the default SPD entry, the
/// server accepts the client's label, and the paths the policy does not grant are denied with the
/// AVC records the kernel would log.
struct DemoDecisions {
    var json: Bool

    /// One step: who asks what of which label, and what the policy should say.
    struct Step {
        var title: String
        var permission: AssociationPermission
        var source: String
        var target: String
        var expectGranted: Bool
    }

    static let steps: [Step] = [
        Step(title: "key manager labels the client's SA", permission: .setcontext,
             source: "system_u:system_r:ipsec_mgmt_t:s0", target: "system_u:system_r:echoclient_t:s0", expectGranted: true),
        Step(title: "key manager labels the default SPD entry", permission: .setcontext,
             source: "system_u:system_r:ipsec_mgmt_t:s0", target: "system_u:object_r:ipsec_spd_t:s0", expectGranted: true),
        Step(title: "client flow matches the default SPD entry", permission: .polmatch,
             source: "system_u:system_r:echoclient_t:s0", target: "system_u:object_r:ipsec_spd_t:s0", expectGranted: true),
        Step(title: "client flow uses its own SA", permission: .sendto,
             source: "system_u:system_r:echoclient_t:s0", target: "system_u:system_r:echoclient_t:s0", expectGranted: true),
        Step(title: "server accepts traffic labeled as the client", permission: .recvfrom,
             source: "system_u:system_r:echoserver_t:s0", target: "system_u:system_r:echoclient_t:s0", expectGranted: true),
        Step(title: "client flow tries the restricted SPD entry (dontaudit: denied silently)", permission: .polmatch,
             source: "system_u:system_r:echoclient_t:s0", target: "system_u:object_r:ipsec_restricted_spd_t:s0", expectGranted: false),
        Step(title: "client flow tries an SA labeled for another domain", permission: .sendto,
             source: "system_u:system_r:echoclient_t:s0", target: "system_u:system_r:echo_other_t:s0", expectGranted: false),
        Step(title: "server refuses traffic from a peer the policy does not grant", permission: .recvfrom,
             source: "system_u:system_r:echoserver_t:s0", target: "system_u:system_r:echo_other_t:s0", expectGranted: false),
        Step(title: "client tries to label an SA itself", permission: .setcontext,
             source: "system_u:system_r:echoclient_t:s0", target: "system_u:system_r:echoclient_t:s0", expectGranted: false),
    ]

    func run() throws {
        let server: SecurityServer
        do { server = try SecurityServer.embedded() } catch {
            printError("error: the embedded policy does not load: \(error.description)")
            throw ExitCode(Status.error)
        }
        let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: server))
        let me = AuditSubject(pid: ProcessInfo.processInfo.processIdentifier, comm: "salabel")
        if !json { print("salabel demo --decisions: association decisions of the embedded policy (in-process engine, enforcing)\n") }
        var unexpected = 0
        for (i, step) in DemoDecisions.steps.enumerated() {
            guard let source = try? SecurityContext(parsing: step.source), let target = try? SecurityContext(parsing: step.target) else {
                printError("error: bad context in demo step \(i + 1)")
                throw ExitCode(Status.error)
            }
            let result = authorizer.authorize(step.permission, source: source, target: target, auditSubject: me)
            if result.granted != step.expectGranted { unexpected += 1 }
            if json {
                var obj: [String: Any] = ["step": i + 1, "title": step.title, "permission": step.permission.rawValue,
                                          "scontext": step.source, "tcontext": step.target, "granted": result.granted, "reason": result.reason]
                if let record = result.record { obj["avc"] = record.description }
                print(jsonText(obj))
            } else {
                print("\(i + 1). \(step.title)")
                print("   association { \(step.permission.rawValue) }  \(step.source) -> \(step.target)")
                print("   \(result.granted ? "GRANTED" : "DENIED"): \(result.reason)")
                if let record = result.record { print("   \(record.description)") }
            }
        }
        if unexpected > 0 {
            printError("error: \(unexpected) decision(s) differ from what the embedded policy is written to decide")
            throw ExitCode(Status.error)
        }
        if !json { print("\nAll \(DemoDecisions.steps.count) decisions are as the embedded policy intends (Specs/engine/default-policy.md).") }
    }
}
