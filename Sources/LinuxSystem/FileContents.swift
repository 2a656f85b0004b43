// Reading a whole file with read(2) until end of file, and replacing a file whole (a new file
// renamed over it). Kernel files (selinuxfs, procfs, sysfs) may
// report a size of 0 or a size that is only known once the file is open, so the size stat gives is
// a hint for the first allocation and never the amount read.

internal import Glibc

/// The whole contents of the file at `path`: opened read-only, then `read(2)` until it returns 0.
///
/// - Parameter limit: the most bytes read; a file that has more fails with `EFBIG`, so a file that
///   never ends (a character device) cannot exhaust memory.
/// - Throws: ``SystemError`` naming `open` or `read` and the path, with the error number.
package func readFileContents(atPath path: String, limit: Int = 1 << 30) throws(SystemError) -> [UInt8] {
    let fd: Int32
    switch valueOrErrno({ open(path, O_RDONLY | O_CLOEXEC) }) {
    case .success(let d): fd = d
    case .failure(let code): throw SystemError(operation: "open", errno: code, detail: path)
    }
    defer { close(fd) }
    var st = stat()
    let hint = fstat(fd, &st) == 0 && st.st_size > 0 ? min(Int(st.st_size), limit) : 0
    var out: [UInt8] = []
    out.reserveCapacity(hint + 1)
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let result = chunk.withUnsafeMutableBytes { buffer in valueOrErrno { read(fd, buffer.baseAddress, buffer.count) } }
        switch result {
        case .success(0):
            return out
        case .success(let n):
            guard out.count + n <= limit else { throw SystemError(operation: "read", errno: .fileTooLarge, detail: path) }
            out.append(contentsOf: chunk[..<n])
        case .failure(let code):
            throw SystemError(operation: "read", errno: code, detail: path)
        }
    }
}

/// Replaces the file at `path` with `bytes`, whole or not at all: the bytes go to a new file in the
/// same directory (`mkstemp`, mode 0666 less the umask, or `mode` when given: `mkstemp` creates it
/// 0600, so a secret is never readable by others, even before the `fchmod`), are synced, and the new
/// file is renamed over `path` (a symlink there is replaced, never followed). On any failure the new
/// file is removed and `path` is unchanged.
/// - Throws: ``SystemError`` naming the step (`create` in the directory, `write`, `fsync`,
///   `rename`) and the path.
package func replaceFileContents(atPath path: String, with bytes: [UInt8], mode: UInt32? = nil) throws(SystemError) {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    var template = Array(((directory.isEmpty ? "" : directory) + "/." + name + ".salabel-XXXXXX").utf8CString)
    let fd: Int32
    switch template.withUnsafeMutableBufferPointer({ buffer in valueOrErrno { mkstemp(buffer.baseAddress!) } }) {
    case .success(let d): fd = d
    case .failure(let code): throw SystemError(operation: "create a file in", errno: code, detail: directory.isEmpty ? "/" : directory)
    }
    let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var renamed = false
    defer {
        close(fd)
        if !renamed { unlink(temporary) }
    }
    if let mode {
        if case .failure(let code) = zeroOrErrno({ fchmod(fd, mode_t(mode)) }) { throw SystemError(operation: "chmod", errno: code, detail: path) }
    } else {
        let mask = umask(0)
        umask(mask)
        _ = fchmod(fd, 0o666 & ~mask)
    }
    var offset = 0
    while offset < bytes.count {
        let result = bytes[offset...].withUnsafeBytes { buffer in valueOrErrno { write(fd, buffer.baseAddress, buffer.count) } }
        switch result {
        case .success(let n): offset += n
        case .failure(let code): throw SystemError(operation: "write", errno: code, detail: path)
        }
    }
    if case .failure(let code) = zeroOrErrno({ fsync(fd) }) { throw SystemError(operation: "fsync", errno: code, detail: path) }
    if case .failure(let code) = zeroOrErrno({ rename(temporary, path) }) { throw SystemError(operation: "rename onto", errno: code, detail: path) }
    renamed = true
}

/// Removes the file at `path`; a file that is not there is no error.
/// - Throws: ``SystemError`` naming `unlink` and the path.
package func removeFile(atPath path: String) throws(SystemError) {
    if case .failure(let code) = zeroOrErrno({ unlink(path) }), code != .noSuchFileOrDirectory {
        throw SystemError(operation: "unlink", errno: code, detail: path)
    }
}

/// Whether something (a file, a socket, a directory) is at `path`.
package func entryExists(atPath path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}
