import Foundation
import LinuxSystem

/// Graphviz's `dot`, which renders `salabel graph`'s DOT text as SVG or PNG (Specs/resolver/graph.md,
/// "Formats"); the Debian package `graphviz` installs it. It lives here, beside the demo's other
/// programs (`ip`, `modprobe`), because the command starts no process itself and the scenario
/// libraries below do no I/O.
public enum Graphviz {
    /// Why a rendering failed: `dot` is missing, or it failed, with what it said.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// The first executable `dot` in `path` (a `PATH` value; default: this process's).
    public static func dot(path: String? = nil) -> String? {
        (path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/dot" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `text` rendered by `dot -T<format>` (`svg`, `png`, or another of dot's formats), through
    /// files in a scratch directory that is removed afterwards.
    public static func render(_ text: String, format: String) throws(Graphviz.Error) -> Data {
        guard let program = dot() else {
            throw Error(
                description:
                    "--format \(format) needs Graphviz's dot, which is not in PATH: install the Debian package graphviz (apt-get install graphviz), or use --format dot"
            )
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-graph-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false) } catch {
            throw Error(description: "cannot make a scratch directory: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("graph.dot").path, rendered = dir.appendingPathComponent("graph.\(format)").path
        guard FileManager.default.createFile(atPath: input, contents: Data(text.utf8)) else { throw Error(description: "cannot write \(input)") }
        let run = ChildProcess.run([program, "-T\(format)", "-o", rendered, input])
        guard run.status == 0, let data = FileManager.default.contents(atPath: rendered) else {
            throw Error(description: "\(program) -T\(format) failed (status \(run.status)): \(run.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return data
    }
}
