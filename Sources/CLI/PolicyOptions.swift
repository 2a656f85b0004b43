import ArgumentParser
import DecisionEngine
import Foundation

/// Options shared by every `salabel policy` command.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: "A policy in the kernel policy language (default: the embedded policy).")
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

    /// Loads the policy and sets booleans and mode.
    func loadServer() throws(PolicyLoadError) -> SecurityServer {
        let booleans: [String: Bool]
        do { booleans = try parsedBooleans() } catch { throw .io("\(error)") }
        if let policy {
            return try SecurityServer.load(path: policy, enforcing: !permissive, booleans: booleans)
        }
        return try SecurityServer.embedded(enforcing: !permissive, booleans: booleans)
    }

    /// The policy's name for reports.
    var policyName: String { policy ?? "embedded:\(EmbeddedPolicy.fileName)" }
}

/// Flushes standard output (lines printed by one thread while others run).
func flushOutput() {
    fflush(nil)
}

/// Writes a message to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// JSON text of a value made of dictionaries, arrays, strings, numbers and booleans, with sorted keys.
func jsonText(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]),
          let text = String(data: data, encoding: .utf8) else { return "{\"error\":\"cannot encode JSON\"}" }
    return text
}
