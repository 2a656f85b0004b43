import Glibc
import LinuxSystem

/// The kernel log's new records (/dev/kmsg, read without blocking from where it was opened).
final class KernelLog {
    let fd: Int32

    init() throws {
        switch valueOrErrno({ open("/dev/kmsg", O_RDONLY | O_NONBLOCK) }) {
        case .success(let opened): fd = opened
        case .failure(let code): throw ScenarioKernelError("cannot open /dev/kmsg: \(code.message)")
        }
        lseek(fd, 0, SEEK_END)
    }

    deinit { close(fd) }

    /// The messages logged since the last call (one record per read; EPIPE when records were
    /// overwritten, which skips to the oldest kept).
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n: Int
            switch valueOrErrno({ read(fd, &buffer, buffer.count) }) {
            case .success(let count): n = count
            case .failure(.brokenPipe): continue
            case .failure: return messages
            }
            if n == 0 { break }
            // PRIORITY,SEQUENCE,TIMESTAMP,FLAGS;MESSAGE\n[ KEY=VALUE\n…]
            let record = String(decoding: buffer[0..<n], as: UTF8.self)
            let first = record.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? record
            if let semicolon = first.firstIndex(of: ";") { messages.append(String(first[first.index(after: semicolon)...])) }
        }
        return messages
    }
}
