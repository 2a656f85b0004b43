import ArgumentParser
import DecisionEngine
import Foundation
import SELinuxKernel

/// Options shared by every `salabel policy` command.
struct PolicyOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A policy file (the kernel policy language or the binary form, policy.NN, told apart by its magic number), running (the policy the kernel has loaded, /sys/fs/selinux/policy) or embedded (default: the embedded policy; for dataplane run, the running policy where SELinux is enabled).",
            valueName: "FILE|running|embedded"))
    var policy: String?

    @Option(name: .customLong("bool"), help: ArgumentHelp("Set a boolean (repeatable).", valueName: "NAME=VALUE"))
    var bools: [String] = []

    @Flag(name: .long, help: "Permissive mode: denials are reported and audited but not enforced.")
    var permissive = false

    @Flag(name: .long, help: "JSON output.")
    var json = false

    func validate() throws {
        _ = try parsedBooleans()
    }

    /// `--bool` values as a dictionary.
    func parsedBooleans() throws -> [String: Bool] {
        var out: [String: Bool] = [:]
        for item in bools {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--bool takes NAME=VALUE, got '\(item)'")
            }
            switch parts[1].lowercased() {
            case "1", "true", "on": out[parts[0]] = true
            case "0", "false", "off": out[parts[0]] = false
            default: throw ValidationError("--bool \(parts[0]): value must be true/false, 1/0 or on/off, got '\(parts[1])'")
            }
        }
        return out
    }

    /// The source --policy names, else `fallback`.
    func source(default fallback: PolicyOrigin = .embedded) -> PolicyOrigin {
        policy.map(PolicyOrigin.init(option:)) ?? fallback
    }

    /// Loads the policy (--policy's, else `fallback`) and sets booleans and mode.
    func load(default fallback: PolicyOrigin = .embedded) throws(PolicyOriginError) -> LoadedPolicy {
        let booleans: [String: Bool]
        do { booleans = try parsedBooleans() } catch { throw .load(.io("\(error)")) }
        return try source(default: fallback).load(enforcing: !permissive, booleans: booleans)
    }

    /// The policy's name for reports.
    var policyName: String {
        switch source() {
        case .embedded: return "embedded:\(EmbeddedPolicy.fileName)"
        case .running: return "running:\(PolicyOrigin.runningPath)"
        case .file(let path): return path
        }
    }
}

/// Flushes standard output (lines printed by one thread while others run).
func flushOutput() {
    fflush(nil)
}

/// Writes a message to standard error, as one line: control characters in it (an escape sequence
/// or a line break in a context the user typed or a host sent) are written as escapes
/// (``escapedForTerminal(_:)``), so an error can neither drive the terminal nor forge lines. A
/// message of several lines passes each line as `details` (written on its own line, indented) or
/// is already escaped (`escaping: false`, e.g. ArgumentParser's usage text around the escaped error).
func printError(_ message: String, details: [String] = [], escaping: Bool = true) {
    let lines = [escaping ? escapedForTerminal(message) : message] + details.map { "  " + escapedForTerminal($0) }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}

/// `text` with its control characters written as escapes: `\n`, `\r`, `\t`, and `\u{1B}`-style for
/// the others (C0, DEL and C1, which terminals act on).
/// Printable text, non-ASCII letters included, is unchanged.
func escapedForTerminal(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isTerminalControl) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where isTerminalControl(scalar): out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// C0 controls, DEL and the C1 controls (U+0080–U+009F: U+009B is a terminal's CSI).
private func isTerminalControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
}

/// JSON text of a value made of dictionaries, arrays, strings, numbers and booleans, with sorted keys.
func jsonText(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]),
        let text = String(data: data, encoding: .utf8)
    else { return "{\"error\":\"cannot encode JSON\"}" }
    return text
}
