import ArgumentParser

/// `salabel`: labeled IPsec on Linux.
@main
struct Salabel: ParsableCommand {
    /// `salabel xfrm --batch FILE …` is the spelling of `salabel xfrm batch FILE …` that `ip -batch`
    /// users expect; the rewrite keeps the subcommands' own options unshadowed.
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.count >= 3, args[0] == "xfrm", args[1] == "--batch" { args.replaceSubrange(0..<2, with: ["xfrm", "batch"]) }
        do {
            var command = try parseAsRoot(args)
            try command.run()
        } catch {
            exit(with: error)
        }
    }

    /// Ends the process for an error a command threw or ArgumentParser raised, with the status
    /// ``Status`` maps it to: a usage error (a bad option or argument, a failed validation)
    /// exits ``Status/error`` (2) as every command's help says, not ArgumentParser's 64; help,
    /// `--version` and ``ExitCode``s are ArgumentParser's. Messages go through ``printError(_:)``,
    /// so what the user typed is escaped.
    static func exit(with error: any Error) -> Never {
        if let failure = error as? CommandFailure {
            failure.write()
            flushOutput()
            Salabel.exit(withError: ExitCode(failure.status))
        }
        let code = exitCode(for: error)
        let status = code == .validationFailure ? Status.error : code.rawValue
        let full = fullMessage(for: error)
        if !full.isEmpty {
            if code == .success {
                print(full)  // help and --version go to standard output
            } else {
                let message = self.message(for: error)
                // The user's input is in the message; the usage after it is salabel's own text.
                if !message.isEmpty, let range = full.range(of: message) {
                    printError(String(full[..<range.lowerBound]) + escapedForTerminal(message) + String(full[range.upperBound...]), escaping: false)
                } else {
                    printError(
                        full.split(separator: "\n", omittingEmptySubsequences: false).map { escapedForTerminal(String($0)) }.joined(separator: "\n"),
                        escaping: false)
                }
            }
        }
        flushOutput()
        Salabel.exit(withError: ExitCode(status))
    }

    static let configuration = CommandConfiguration(
        commandName: "salabel",
        abstract: "Labeled IPsec on Linux: SELinux contexts on IPsec SAs, and the decisions that govern them.",
        discussion: """
            The decision engine (salabel policy …) loads an SELinux policy in the kernel policy language (the embedded default when --policy is not given) and answers as the kernel's security server.

            The xfrm manager (salabel xfrm …, salabel apply) installs labeled SAs and SPD entries through netlink, asking the engine first whether the caller may set each label.

            Exit status: 0 done (a check allowed), 1 denied or refused, 2 bad input or usage (each command's help says more).
            """,
        version: "0.1.0",
        subcommands: [
            PolicyCommand.self, XfrmCommand.self, ApplyCommand.self, KeygenCommand.self, ResolveCommand.self, TraceCommand.self, StatusCommand.self,
            ScenarioCommand.self, WhyCommand.self, GraphCommand.self, DoctorCommand.self,
            DemoCommand.self, DataPlaneCommand.self, ProbeCommand.self, ESPWireCommand.self,
        ])
}

/// Exit statuses shared by every command (each command's help says which it uses).
enum Status {
    /// Every requested permission granted (or a query answered).
    static let allowed: Int32 = 0
    /// At least one requested permission denied, or a request refused (by the engine, the kernel or
    /// a data-plane host), or not done (a flow not delivered, no reply, a timeout).
    static let denied: Int32 = 1
    /// The question could not be answered: bad context, class, policy or arguments (usage errors
    /// included: ``Salabel/exit(with:)``).
    static let error: Int32 = 2
}

/// A command's failure: what goes to standard output and standard error, and the exit status.
/// Commands throw it; ``Salabel/exit(with:)`` prints it and exits, the one place where errors
/// become statuses.
struct CommandFailure: Error {
    var status: Int32
    /// The line for standard error (nil: none, the command has printed its answer).
    var message: String?
    /// Lines under the message, indented.
    var details: [String] = []
    /// Lines after it, each on its own line as it is (AVC records).
    var records: [String] = []
    /// What goes to standard output first (with --json, the error as a JSON object).
    var output: String? = nil

    /// Bad input, or a question that could not be answered: `error: MESSAGE`, status 2.
    static func error(_ message: String, details: [String] = [], records: [String] = []) -> CommandFailure {
        CommandFailure(status: Status.error, message: "error: " + message, details: details, records: records)
    }

    /// Refused or denied (by the engine or the kernel): `error: MESSAGE`, status 1.
    static func denied(_ message: String, details: [String] = [], records: [String] = []) -> CommandFailure {
        CommandFailure(status: Status.denied, message: "error: " + message, details: details, records: records)
    }

    /// Writes the failure: its output, then its message with the details, then the records.
    func write() {
        if let output { print(output) }
        if let message { printError(message, details: details) }
        for line in records { printError(line) }
    }

    /// The command has printed its answer (a denial, an undelivered flow, its own errors): only the
    /// status is left to give.
    static func exit(_ status: Int32) -> CommandFailure { CommandFailure(status: status, message: nil) }
}
