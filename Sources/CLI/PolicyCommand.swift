import ArgumentParser
import DecisionEngine
import Foundation

/// `salabel policy …`: the decision engine on a policy.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Ask the decision engine: access vectors, permission checks, transitions, policy counts.",
        discussion: """
            Exit status: 0 allowed (or answered), 1 denied, 2 error (invalid context, class, permission or policy, or a usage error).

            With --batch, queries are read from standard input, one per line, and answered one line each; the exit status is the worst of all answers.
            """,
        subcommands: [Check.self, ComputeAV.self, Transition.self, Info.self, Compile.self, Convert.self])

    /// Runs a query once or over standard input, printing text or JSON, exiting with the status of
    /// the answer (the worst one of a batch).
    static func run(
        options: PolicyOptions, batch: Bool, single: () throws -> (PolicyQueries) -> PolicyAnswer,
        line: @escaping (PolicyQueries, [String]) -> PolicyAnswer
    ) throws {
        let server: SecurityServer
        do { server = try options.load().server } catch {
            if options.json { throw CommandFailure(status: Status.error, output: jsonText(["error": error.description])) }
            throw CommandFailure.error(error.description)
        }
        let queries = PolicyQueries(server: server, subject: AuditSubject(pid: ProcessInfo.processInfo.processIdentifier, comm: "salabel"))
        var worst = PolicyAnswer.Verdict.allowed
        if !batch {
            let answer = try single()(queries)
            if options.json { print(jsonText(answer.json)) } else if answer.verdict == .error { printError(answer.text) } else { print(answer.text) }
            worst = answer.verdict
        }
        while batch, let text = readLine() {
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            let answer = line(queries, fields)
            worst = max(worst, answer.verdict)
            if options.json { print(jsonText(answer.json)) } else { print(answer.text.replacingOccurrences(of: "\n", with: "; ")) }
        }
        if worst != .allowed { throw CommandFailure.exit(worst == .denied ? Status.denied : Status.error) }
    }
}

extension PolicyCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check permissions as the kernel enforces them, with the AVC record it would log.",
            discussion: "Without permissions, prints the access vector. Batch lines: SCONTEXT TCONTEXT CLASS [PERM…]")

        @OptionGroup var options: PolicyOptions
        @Flag(help: "Read queries from standard input.") var batch = false
        @Argument(help: "Source context.") var scontext: String?
        @Argument(help: "Target context.") var tcontext: String?
        @Argument(help: "Object class.") var tclass: String?
        @Argument(help: "Permissions to check.") var permissions: [String] = []

        func validate() throws {
            if !batch && (scontext == nil || tcontext == nil || tclass == nil) {
                throw ValidationError("check needs SCONTEXT TCONTEXT CLASS [PERM…] (or --batch)")
            }
        }

        func run() throws {
            try PolicyCommand.run(
                options: options, batch: batch, single: { { $0.check(scontext!, tcontext!, tclass!, permissions) } },
                line: { q, f in f.count < 3 ? .error("expected SCONTEXT TCONTEXT CLASS [PERM…]") : q.check(f[0], f[1], f[2], Array(f.dropFirst(3))) })
        }
    }

    struct ComputeAV: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compute-av",
            abstract: "The access vector (allowed, auditallow, auditdeny) for a source, target and class.",
            discussion: "Batch lines: SCONTEXT TCONTEXT CLASS")

        @OptionGroup var options: PolicyOptions
        @Flag(help: "Read queries from standard input.") var batch = false
        @Argument(help: "Source context.") var scontext: String?
        @Argument(help: "Target context.") var tcontext: String?
        @Argument(help: "Object class.") var tclass: String?

        func validate() throws {
            if !batch && (scontext == nil || tcontext == nil || tclass == nil) {
                throw ValidationError("compute-av needs SCONTEXT TCONTEXT CLASS (or --batch)")
            }
        }

        func run() throws {
            try PolicyCommand.run(
                options: options, batch: batch, single: { { $0.computeAV(scontext!, tcontext!, tclass!) } },
                line: { q, f in f.count != 3 ? .error("expected SCONTEXT TCONTEXT CLASS") : q.computeAV(f[0], f[1], f[2]) })
        }
    }

    struct Transition: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "transition",
            abstract: "The context of a new process or object (type_transition, role_transition, range_transition, default_*).",
            discussion: "Batch lines: SCONTEXT TCONTEXT CLASS [OBJECTNAME]")

        @OptionGroup var options: PolicyOptions
        @Flag(help: "Read queries from standard input.") var batch = false
        @Option(help: "transition (new process or object), member (type_member) or change (type_change).")
        var kind: String = "transition"
        @Option(help: "The new object's name, for name-based type_transition rules.") var name: String?
        @Argument(help: "Source context.") var scontext: String?
        @Argument(help: "Target context.") var tcontext: String?
        @Argument(help: "Object class.") var tclass: String?

        func validate() throws {
            guard TransitionKind(rawValue: kind) != nil else { throw ValidationError("--kind must be transition, member or change") }
            if !batch && (scontext == nil || tcontext == nil || tclass == nil) {
                throw ValidationError("transition needs SCONTEXT TCONTEXT CLASS (or --batch)")
            }
        }

        func run() throws {
            let k = TransitionKind(rawValue: kind)!
            try PolicyCommand.run(
                options: options, batch: batch, single: { { $0.transition(k, scontext!, tcontext!, tclass!, name: name) } },
                line: { q, f in
                    (3...4).contains(f.count)
                        ? q.transition(k, f[0], f[1], f[2], name: f.count == 4 ? f[3] : nil) : .error("expected SCONTEXT TCONTEXT CLASS [OBJECTNAME]")
                })
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "info", abstract: "Counts of what the policy declares, like seinfo.")

        @OptionGroup var options: PolicyOptions

        func run() throws {
            try PolicyCommand.run(
                options: options, batch: false, single: { { $0.info(name: options.policyName) } }, line: { _, _ in .error("") })
        }
    }
}
