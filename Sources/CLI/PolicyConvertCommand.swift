import ArgumentParser
import DecisionEngine
import Foundation

extension PolicyCommand {
    /// `salabel policy convert IN [-o OUT]`: a policy in either form written as policy.conf text
    /// (what `checkpolicy -b -F` does). The writing is the engine's (`PolicyDB.policyLanguage()`);
    /// this command reads, loads and writes the file.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "convert",
            abstract: "Write a policy (policy.conf text or binary policy.NN) as policy.conf text, like checkpolicy -b -F.",
            discussion: """
                The output compiles with checkpolicy (-M for an MLS policy) and salabel to a policy with the same decisions. \
                Role attributes, neverallow rules and extended permissions are not in a compiled policy and are not written. \
                The output file is written whole or not at all (a temporary file in its directory, renamed). Exit status: 0 written, 2 error.
                """)

        @Argument(help: "The policy file, in either form (told apart by its magic number).") var input: String
        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the text ('-' or none: standard output).", valueName: "OUT"))
        var output: String?

        func run() throws {
            let bytes: [UInt8]
            do { bytes = try readFile(input) } catch { throw CommandFailure.error(error.message) }
            let db: PolicyDB
            do { db = try PolicyDB.load(bytes: bytes, file: input) } catch { throw CommandFailure.error(error.description) }
            let text = db.policyLanguage()
            if db.extendedPermissionRuleCount > 0 {
                printError(
                    "warning: \(input): \(db.extendedPermissionRuleCount) extended-permission rules (allowxperm…) are not written: salabel does not hold their sets"
                )
            }
            guard let output, output != "-" else {
                FileHandle.standardOutput.write(Data(text.utf8))
                return
            }
            do { try writeWhole(text, to: output) } catch { throw CommandFailure.error(error.message) }
        }
    }
}

/// A file operation that failed: what, on which path, and the system's reason.
struct FileFailure: Error {
    var message: String

    init(_ what: String, _ path: String, errno code: Int32) {
        message = "cannot \(what) \(path): \(String(cString: strerror(code)))"
    }
}

/// The bytes of a regular file (a directory or an unreadable file is an error with its reason).
func readFile(_ path: String) throws(FileFailure) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileFailure("read", path, errno: errno) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FileFailure("read", path, errno: errno) }
    guard (st.st_mode & S_IFMT) != S_IFDIR else { throw FileFailure("read", path, errno: EISDIR) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FileFailure("read", path, errno: errno)
        }
        if n == 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return out
}

/// Writes `text` to `path` whole or not at all: into a temporary file in the same directory,
/// then renamed over `path`. On failure the temporary file is removed and `path` is unchanged.
func writeWhole(_ text: String, to path: String) throws(FileFailure) {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    var template = Array((directory + "/." + url.lastPathComponent + ".salabel-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw FileFailure("write to", directory, errno: errno) }
    let temporary = String(cString: template)
    var failure: FileFailure?
    let mask = umask(0)
    umask(mask)
    _ = fchmod(fd, 0o666 & ~mask)
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count && failure == nil {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno != EINTR { failure = FileFailure("write", path, errno: errno) }
        } else {
            offset += n
        }
    }
    if failure == nil && fsync(fd) != 0 { failure = FileFailure("write", path, errno: errno) }
    close(fd)
    if failure == nil && rename(temporary, path) != 0 { failure = FileFailure("write", path, errno: errno) }
    if let failure {
        unlink(temporary)
        throw failure
    }
}
