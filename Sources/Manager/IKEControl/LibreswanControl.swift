import Foundation
import LinuxSystem

/// libreswan's control commands as salabel runs them: `ipsec auto` (`--add` through `addconn` with
/// salabel's conns file, `--route`, `--delete` and `--rereadsecrets` through `whack`), only while
/// pluto is running (its control socket exists).
public struct LibreswanControl: Sendable, Hashable {
    /// Debian's `ipsec` command.
    public static let defaultCommand = "/usr/sbin/ipsec"
    /// pluto's control socket (`--ctlsocket`'s default).
    public static let defaultControlSocket = "/run/pluto/pluto.ctl"

    /// The `ipsec` command (a path).
    public var command: String
    /// pluto's control socket: loading is skipped when there is nothing at this path.
    public var controlSocket: String

    public init(command: String = LibreswanControl.defaultCommand, controlSocket: String = LibreswanControl.defaultControlSocket) {
        self.command = command
        self.controlSocket = controlSocket
    }

    /// One command run, and how it ended.
    public struct Step: Sendable, Hashable {
        public var arguments: [String]
        /// The exit status; -1 when it could not be started.
        public var status: Int32
        /// What it printed (libreswan's messages; never a key: the commands are given none).
        public var output: String

        public var succeeded: Bool { status == 0 }
        /// The command as a line for people.
        public var commandLine: String { arguments.joined(separator: " ") }
    }

    /// libreswan's proposal parser, which `addconn --checkconfig` does not run on `esp=`.
    public var algparse = "/usr/libexec/ipsec/algparse"

    /// libreswan's word on an ESP proposal for IKEv2 (`algparse -v2 esp=…`): nil when it accepts it,
    /// or when algparse is not installed (nothing to ask); else its error.
    public func proposalError(esp: String) -> String? {
        guard entryExists(atPath: algparse) else { return nil }
        let r = ChildProcess.run([algparse, "-v2", "esp=\(esp)"])
        guard r.status != 0 else { return nil }
        let lines = r.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.first { $0.hasPrefix("ERROR") } ?? "algparse exited with status \(r.status)"
    }

    /// Whether pluto is running: its control socket exists.
    public var plutoRunning: Bool { entryExists(atPath: controlSocket) }

    func run(_ words: [String]) -> Step {
        let arguments = [command, "auto", "--ctlsocket", controlSocket] + words
        let r = ChildProcess.run(arguments)
        return Step(arguments: arguments, status: r.status, output: r.output)
    }
}
