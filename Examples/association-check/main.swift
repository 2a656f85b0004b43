// association-check: the decision engine as a library. Loads the embedded policy (or a policy
// file), then asks the four labeled-IPsec questions for an echo client, as the kernel would:
//
//   swift run association-check                      # embedded policy
//   swift run association-check --policy my.conf SUBJECT SPD-LABEL
//
// Each answer is a value: granted or not, why, and the AVC record the kernel would log.

import DecisionEngine
import SecurityContexts

var args = Array(CommandLine.arguments.dropFirst())
var policyPath: String?
if args.first == "--policy", args.count >= 2 {
    policyPath = args[1]
    args.removeFirst(2)
}
let subjectText = args.first ?? "system_u:system_r:echoclient_t:s0"
let spdText = args.count > 1 ? args[1] : "system_u:object_r:ipsec_spd_t:s0"

do {
    let server = try policyPath.map { try SecurityServer.load(path: $0) } ?? SecurityServer.embedded()
    let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: server))
    let subject = try SecurityContext(parsing: subjectText)
    let spd = try SecurityContext(parsing: spdText)

    // D1: may the flow use the SPD entry? D2: may it send on an SA carrying its own label?
    // C1/C2: may it label SAs itself? D3: may a socket in the same domain receive from it?
    let answers = [
        authorizer.polmatch(flow: subject, policyLabel: spd),
        authorizer.sendto(flow: subject, saLabel: subject),
        authorizer.setcontext(subject: subject, label: subject),
        authorizer.recvfrom(socket: subject, peer: subject),
    ]
    for answer in answers {
        print("\(answer.permission.rawValue): \(answer.granted ? "granted" : "denied") — \(answer.reason)")
        if let record = answer.record { print("  \(record)") }
    }
} catch {
    print("error: \(error)")
}
