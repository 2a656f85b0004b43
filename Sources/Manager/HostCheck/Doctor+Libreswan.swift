// salabel doctor, check 9: libreswan's labeled conns against the running policy and pluto's domain
// (Specs/manager/doctor.md; what pluto checks: Specs/kernel/two-hosts.md section 3; the kernel's
// setcontext and polmatch checks: C2 and D1 of Specs/kernel/labeled-ipsec.md §a.2).

import DecisionEngine
import SecurityContexts
internal import Foundation

extension Doctor {
    // MARK: 9. libreswan

    static func libreswanChecks(_ facts: HostFacts) -> [DoctorFinding] {
        guard let swan = facts.libreswan else {
            return [
                DoctorFinding(
                    check: .libreswan, severity: .note,
                    seen: "libreswan is not installed (no \(LibreswanFacts.readwriteconf)) and pluto is not running",
                    meaning: "no IKE daemon's conns to check: SAs come from salabel apply or another key manager", fix: nil)
            ]
        }
        var out: [DoctorFinding] = []
        let running = swan.plutoRunning
        let plutoState: String
        switch (swan.pluto, swan.controlSocketExists) {
        case (nil, _): plutoState = "no \(LibreswanFacts.pidFile)"
        case (let p?, _) where !p.alive: plutoState = "\(LibreswanFacts.pidFile) names pid \(p.pid), which is not running (a stale pid file)"
        case (let p?, false): plutoState = "pid \(p.pid) runs but \(LibreswanFacts.controlSocket) is missing"
        case (let p?, true): plutoState = "pid \(p.pid)" + (p.context.map { " in \($0)" } ?? "")
        }
        if let error = swan.connsError {
            out.append(
                DoctorFinding(
                    check: .libreswan, severity: swan.configExists ? .warning : .note,
                    seen: "libreswan's conns were not read from \(swan.config): \(error)",
                    meaning: swan.configExists
                        ? "libreswan's parser refuses the configuration: pluto cannot load its conns either, and their labels were not checked"
                        : "libreswan is installed without a configuration: no conn to check",
                    fix: swan.configExists ? "correct \(swan.config) (or the file it includes that the error names)" : nil))
        } else if swan.conns.isEmpty {
            out.append(
                DoctorFinding(
                    check: .libreswan, severity: .note,
                    seen: "no conn in \(swan.config) has a sec-label (pluto: \(running ? plutoState : "not running, \(plutoState)"))",
                    meaning: "libreswan negotiates no labeled SA here", fix: nil))
        }
        guard !swan.conns.isEmpty else { return out }
        if !running {
            out.append(
                DoctorFinding(
                    check: .libreswan, severity: .error,
                    seen: "pluto is not running (\(plutoState)) while \(swan.conns.count) conn(s) have a sec-label: "
                        + swan.conns.map(\.name).joined(separator: ", "),
                    meaning: "no SPD entry is routed for them and no ACQUIRE is answered: labeled flows get no SA",
                    fix: "systemctl start ipsec (Debian's libreswan unit), then check journalctl -u ipsec for why it stopped",
                    subject: "pluto"))
        }
        let plutoContext = running ? swan.pluto?.context.flatMap { try? SecurityContext(parsing: $0.trimmingCharacters(in: .init(charactersIn: "\0\n"))) } : nil
        if running, plutoContext == nil {
            out.append(
                DoctorFinding(
                    check: .libreswan, severity: .note, seen: "pluto's domain (/proc/\(swan.pluto!.pid)/attr/current) could not be read",
                    meaning: "whether pluto may set the conns' labels was not checked", fix: nil, subject: "pluto"))
        }
        let authorizer = facts.policy.map { AssociationAuthorizer(cache: AccessVectorCache(server: $0)) }
        for conn in swan.conns {
            out += connChecks(conn, swan: swan, plutoContext: plutoContext, authorizer: authorizer, facts: facts)
        }
        return out
    }

    /// One labeled conn: its label valid, some local domain may polmatch it, pluto may setcontext it.
    static func connChecks(
        _ conn: LibreswanFacts.Conn, swan: LibreswanFacts, plutoContext: SecurityContext?, authorizer: AssociationAuthorizer?, facts: HostFacts
    ) -> [DoctorFinding] {
        let file = conn.file ?? "\(swan.config) or the file it includes that declares it"
        let subject = "conn \(conn.name)"
        guard let label = try? SecurityContext(parsing: conn.label) else {
            return [
                DoctorFinding(
                    check: .libreswan, severity: .error, seen: "its sec-label \(conn.label) is not a security context (user:role:type[:range])",
                    meaning: "pluto cannot route the conn: no SPD entry, no SA", fix: "correct sec-label= of conn \(conn.name) in \(file)", subject: subject)
            ]
        }
        if let why = rejection(label, facts) {
            return [
                DoctorFinding(
                    check: .libreswan, severity: .error, seen: "its sec-label \(label) is not valid in the running policy (\(why))",
                    meaning: "the kernel refuses the SPD entry pluto installs when it routes the conn: no flow can use it and nothing is negotiated",
                    fix: "correct sec-label= of conn \(conn.name) in \(file), or load a policy that defines \(label.type)", subject: subject)
            ]
        }
        guard let server = facts.policy, let authorizer else { return [] }
        var out: [DoctorFinding] = []
        let domains = polmatchDomains(label, server: server, authorizer: authorizer)
        if domains.isEmpty {
            out.append(
                DoctorFinding(
                    check: .libreswan, severity: .error, seen: "no local domain may polmatch its sec-label \(label)",
                    meaning:
                        "every flow's lookup skips the conn's SPD entry (D1 of Specs/kernel/labeled-ipsec.md §a.2): no ACQUIRE reaches pluto and nothing is negotiated for it",
                    fix:
                        "allow the sending domain polmatch on it, e.g. `allow DOMAIN_t \(label.type):association polmatch;`, or correct sec-label= of conn \(conn.name) in \(file) to a type the domains may polmatch",
                    subject: subject))
        }
        guard let plutoContext else { return out }
        let setLabel = authorizer.setcontext(subject: plutoContext, label: label)
        if !setLabel.granted {
            out.append(
                DoctorFinding(
                    check: .libreswan, severity: .error, seen: "pluto's domain \(plutoContext.type) may not set its sec-label \(label) (\(setLabel.reason))",
                    meaning:
                        "the kernel refuses the SPD entry pluto installs when it routes the conn (association setcontext, C2 of Specs/kernel/labeled-ipsec.md §a.2)",
                    fix:
                        "`allow \(plutoContext.type) \(label.type):association setcontext;` in the policy, or correct sec-label= of conn \(conn.name) in \(file)",
                    subject: subject))
        }
        // pluto also labels each child SA with the flow's label: the domains it may not set.
        let unset = domains.filter { !authorizer.setcontext(subject: plutoContext, label: $0).granted }.map(\.type)
        if !domains.isEmpty, setLabel.granted {
            let names = domains.map(\.type)
            out.append(
                DoctorFinding(
                    check: .libreswan, severity: .note,
                    seen: "sec-label \(label): pluto (\(plutoContext.type)) may set it; \(names.count) domain(s) may polmatch it: "
                        + names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", …" : ""),
                    meaning: unset.isEmpty
                        ? "pluto may label child SAs with each of them"
                        : "pluto may not label a child SA with " + unset.joined(separator: ", ")
                            + ": flows of those domains raise ACQUIREs pluto refuses (`allow \(plutoContext.type) DOMAIN_t:association setcontext;` if they should be served)",
                    fix: nil, subject: subject))
        }
        return out
    }
}
