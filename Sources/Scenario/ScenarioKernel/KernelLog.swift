import Glibc

/// The kernel log's new records (/dev/kmsg, read without blocking from where it was opened).
final class KernelLog {
    let fd: Int32

    init() throws {
        fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw ScenarioKernelError("cannot open /dev/kmsg: \(String(cString: strerror(errno)))") }
        lseek(fd, 0, SEEK_END)
    }

    deinit { close(fd) }

    /// The messages logged since the last call (one record per read; EPIPE when records were
    /// overwritten, which skips to the oldest kept).
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EPIPE { continue }
                break
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
