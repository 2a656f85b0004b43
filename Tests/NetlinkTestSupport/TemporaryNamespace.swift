import Foundation
import TestSupport

/// A network namespace `salabel-test-PID-SUFFIX`, created with `ip netns add`, for the tests that
/// talk to this machine's kernel (they need root).
public struct TemporaryNamespace {
    public let name: String

    public init(_ suffix: String) throws {
        name = "salabel-test-\(getpid())-\(suffix)"
        try runCommand("ip", "netns", "add", name)
    }

    public func remove() {
        try? runCommand("ip", "netns", "del", name)
    }
}

/// A command that exited with a status other than 0.
public struct CommandFailed: Error, CustomStringConvertible {
    public var command: [String], status: Int32
    public var description: String { "`\(command.joined(separator: " "))` exited with status \(status)" }
}

/// Runs a command found on the PATH and waits for it; a non-zero exit status throws.
public func runCommand(_ arguments: String...) throws {
    let r = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), arguments, standardOutput: .inherit, standardError: .inherit)
    guard r.status == 0 else { throw CommandFailed(command: arguments, status: r.status) }
}
