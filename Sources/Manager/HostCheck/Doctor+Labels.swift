// salabel doctor: the labels of the SPD entries and SAs against the running policy: valid, and
// which local domains may polmatch each SPD label (Specs/manager/doctor.md; D1 of
// Specs/kernel/labeled-ipsec.md §a.2).

public import DecisionEngine
import IPsecModel
public import SecurityContexts
internal import Foundation

extension Doctor {
    // MARK: 5, 6. SPD labels and SA labels

    static func labelChecks(_ facts: HostFacts) -> [DoctorFinding] {
        var out: [DoctorFinding] = []
        if let error = facts.xfrmError {
            out.append(
                DoctorFinding(
                    check: .hostState, severity: .error, seen: "the SAD/SPD could not be read: \(error)",
                    meaning: "the SPD and SA labels were not checked", fix: "run as root (CAP_NET_ADMIN), in the namespace that holds the SAs (--netns)"))
        }
        let labeled = facts.policies.contains { $0.securityContext != nil } || facts.sas.contains { $0.securityContext != nil }
        if labeled, facts.policy == nil {
            out.append(
                DoctorFinding(
                    check: .hostState, severity: .note,
                    seen: "the running policy was not read" + (facts.policyError.map { ": \($0)" } ?? ""),
                    meaning: "which domains may polmatch the SPD labels is not known", fix: nil))
        }
        let authorizer = facts.policy.map { AssociationAuthorizer(cache: AccessVectorCache(server: $0)) }
        var seen: Set<SecurityContext> = []
        for entry in facts.policies {
            guard let label = entry.securityContext, seen.insert(label).inserted else { continue }
            let where_ = "SPD entry dir \(entry.direction) \(entry.selector.source) → \(entry.selector.destination)"
            if let why = rejection(label, facts) {
                out.append(
                    DoctorFinding(
                        check: .spdLabel, severity: .error, seen: "\(where_): its label is not valid in the running policy (\(why))",
                        meaning: "no flow can be allowed polmatch on it: the entry matches nothing, and the key manager cannot negotiate SAs for it",
                        fix:
                            "relabel the entry with a context the policy defines (ip xfrm policy update … ctx CONTEXT), or load a policy that defines \(label.type)",
                        subject: label.description))
                continue
            }
            guard let server = facts.policy, let authorizer else { continue }
            let domains = polmatchDomains(label, server: server, authorizer: authorizer)
            if domains.isEmpty {
                out.append(
                    DoctorFinding(
                        check: .spdLabel, severity: .error, seen: "\(where_): no local domain may polmatch its label",
                        meaning:
                            "the entry applies to no flow (each lookup skips it, D1 of Specs/kernel/labeled-ipsec.md §a.2): traffic meant for it goes out unprotected or by another entry",
                        fix:
                            "allow the sending domain polmatch on it, e.g. `allow DOMAIN_t \(label.type):association polmatch;`, or label the entry with a type the domains may polmatch",
                        subject: label.description))
            } else {
                let names = domains.map(\.type)
                out.append(
                    DoctorFinding(
                        check: .spdLabel, severity: .note,
                        seen: "\(where_): \(names.count) domain(s) may polmatch its label: " + names.prefix(8).joined(separator: ", ")
                            + (names.count > 8 ? ", …" : ""),
                        meaning: "flows of those domains may use the entry", fix: nil, subject: label.description))
            }
        }
        for sa in facts.sas {
            guard let label = sa.securityContext, let why = rejection(label, facts) else { continue }
            let spi = "SPI 0x" + String(sa.spi, radix: 16)
            out.append(
                DoctorFinding(
                    check: .staleSALabel, severity: .error,
                    seen: "SA \(sa.source) → \(sa.destination) \(spi): its label \(label) is not valid in the running policy (\(why))",
                    meaning: "the label is stale (a policy reload dropped it): no flow can match the SA, and traffic on it is refused",
                    fix:
                        "delete the SA (ip xfrm state delete src \(sa.source) dst \(sa.destination) proto \(sa.proto) spi \(spi.dropFirst(4))) and let the key manager negotiate a new one, or load a policy that defines \(label.type)",
                    subject: spi))
        }
        return out
    }

    /// Why the running policy does not accept `label`: the kernel's own verdict when it was asked
    /// (`security_check_context`), else the running policy's as the engine reads it; nil when valid
    /// or when there is nothing to ask.
    static func rejection(_ label: SecurityContext, _ facts: HostFacts) -> String? {
        if let verdict = facts.kernelLabelVerdicts[label] { return verdict }
        guard let server = facts.policy else { return nil }
        do { try server.validate(label) } catch { return "\(error)" }
        return nil
    }

    /// The local domains whose flows may use an SPD entry labeled `label`: each process type of the
    /// policy (the members of attribute `domain` when it has one, else every type a role other than
    /// object_r may have), with the first role and user authorized for it and the label's own MLS
    /// range, for which the policy grants `association polmatch` on the label.
    public static func polmatchDomains(_ label: SecurityContext, server: SecurityServer, authorizer: AssociationAuthorizer) -> [SecurityContext] {
        let db = server.policy
        let candidates: [Int]
        if let d = db.typeIndex["domain"], db.types[d].isAttribute {
            candidates = db.attributeMembers[d]?.members ?? []
        } else {
            var all = Bitset()
            for role in db.roles.dropFirst() { all.formUnion(role.types) }
            candidates = all.members.filter { !db.types[$0].isAttribute }
        }
        var out: [SecurityContext] = []
        for t in candidates {
            guard let r = db.roles.indices.dropFirst().first(where: { db.roles[$0].types.contains(t) }),
                let u = db.users.indices.first(where: { db.users[$0].roles.contains(r) })
            else { continue }
            let flow = SecurityContext(user: db.users[u].name, role: db.roles[r].name, type: db.types[t].name, range: label.range)
            guard (try? server.validate(flow)) != nil else { continue }
            if authorizer.polmatch(flow: flow, policyLabel: label).granted { out.append(flow) }
        }
        return out.sorted { $0.type < $1.type }
    }

    // MARK: 7. xfrm_stat

    static func counterChecks(_ facts: HostFacts) -> [DoctorFinding] {
        guard let text = facts.xfrmStat else {
            return [
                DoctorFinding(
                    check: .xfrmStat, severity: .note, seen: "/proc/net/xfrm_stat could not be read (a kernel without CONFIG_XFRM_STATISTICS)",
                    meaning: "drops in the xfrm code are not counted here", fix: nil)
            ]
        }
        guard let stats = XfrmStatistics(parsing: text) else {
            return [DoctorFinding(check: .xfrmStat, severity: .note, seen: "/proc/net/xfrm_stat is not in the expected form", meaning: "", fix: nil)]
        }
        return stats.counters.filter { $0.value > 0 }.map { counter in
            let meaning = XfrmCounterMeaning.of(counter.name)
            return DoctorFinding(
                check: .xfrmStat, severity: .warning,
                seen: "\(counter.name) is \(counter.value) in /proc/net/xfrm_stat\(facts.namespace.map { " of netns \($0)" } ?? "")",
                meaning: meaning.counts, fix: "look at \(meaning.look) (the counters count since the namespace was created)",
                subject: counter.name)
        }
    }
}
