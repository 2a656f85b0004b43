// Reading a whole file with read(2) until end of file. Kernel files (selinuxfs, procfs, sysfs) may
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
