// Policy files on disk: read whole, and written whole or not at all. The I/O is the system layer's
// (LinuxSystem); this is the engine side's one door to it for policy files, so the command only
// parses and prints (Specs/architecture.md, rule 7).

public import DecisionEngine
internal import LinuxSystem

/// Why a policy file could not be read or written. The description is the message to print.
public struct PolicyFileError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// Reading or writing.
    public var isWrite: Bool
    /// The step that failed, with its reason (`open`, `read`; `create a file in DIR`, `write`,
    /// `fsync`, `rename onto`).
    public var reason: String

    public var description: String {
        isWrite ? "cannot write \(path): \(reason)" : "cannot read \(path): \(reason)"
    }
}

extension PolicyFileForm {
    /// The bytes of a policy file, read to its end.
    public static func readFile(atPath path: String) throws(PolicyFileError) -> [UInt8] {
        do { return try readFileContents(atPath: path) } catch {
            throw PolicyFileError(path: path, isWrite: false, reason: error.errno.message)
        }
    }

    /// Replaces the file at `path` with `bytes`: a new file in the same directory, synced and
    /// renamed over it, so that `path` holds the old contents or the new ones, never a part.
    public static func writeFile(atPath path: String, bytes: [UInt8]) throws(PolicyFileError) {
        do { try replaceFileContents(atPath: path, with: bytes) } catch {
            throw PolicyFileError(path: path, isWrite: true, reason: "\(error.operation) \(error.detail ?? path): \(error.errno.message)")
        }
    }
}
