import Glibc
import LinuxSystem
import Scenario

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

extension GuestRunner {
    /// The AVC lines of a step's kernel log lines, those of the domain `ignoring` (the runner's
    /// own) left out: the normalized lines, sorted and each once, and the records as the kernel
    /// wrote them (from `avc:` on), in order.
    static func avcLines(_ raw: [String], ignoring: String) -> (lines: [AVCLine], records: [String]) {
        var lines = Set<AVCLine>()
        var records: [String] = []
        for text in raw {
            guard let line = AVCLine(parsing: text), !line.scontext.contains(":\(ignoring):") else { continue }
            lines.insert(line)
            if let at = text.range(of: "avc:") { records.append(String(text[at.lowerBound...])) }
        }
        return (lines.sorted(), records)
    }
}
