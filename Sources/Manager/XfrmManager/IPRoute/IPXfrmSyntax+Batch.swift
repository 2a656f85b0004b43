import Dispatch
import Glibc
import Synchronization

extension IPXfrmSyntax {
    /// Parses a batch file into commands that remember their line: one command per line, blank and
    /// comment lines skipped. The first syntax error (by line) is thrown with its line and word,
    /// and nothing of the file is returned.
    ///
    /// A large file is cut into as many parts as there are processors, at line boundaries, and the
    /// parts are parsed at the same time (a batch file can have 100,000 lines, and parsing is most
    /// of the work before the first request).
    public static func commands(batch text: String) throws(IPXfrmSyntaxError) -> [XfrmBatch.Command] {
        let utf8 = text.utf8
        // Where each line starts; lines are cut at the newline byte (no grapheme breaking).
        var starts: [String.Index] = [utf8.startIndex]
        var i = utf8.startIndex
        while let nl = utf8[i...].firstIndex(of: UInt8(ascii: "\n")) {
            i = utf8.index(after: nl)
            starts.append(i)
        }
        let lineStarts = starts
        let lineCount = starts.count
        let parts = lineCount < 2_000 ? 1 : max(1, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let per = (lineCount + parts - 1) / parts
        let results = Mutex([Result<[XfrmBatch.Command], IPXfrmSyntaxError>](repeating: .success([]), count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = part * per, last = min(lineCount, first + per)
            let contexts = ContextCache()
            var out: [XfrmBatch.Command] = []
            out.reserveCapacity(last - first)
            do throws(IPXfrmSyntaxError) {
                for n in first..<last {
                    let end = n + 1 < lineCount ? utf8.index(before: lineStarts[n + 1]) : utf8.endIndex
                    if let op = try parse(line: text[lineStarts[n]..<end], lineNumber: n + 1, contexts: contexts) {
                        out.append(XfrmBatch.Command(op, line: n + 1))
                    }
                }
                results.withLock { $0[part] = .success(out) }
            } catch {
                results.withLock { $0[part] = .failure(error) }
            }
        }
        var all: [XfrmBatch.Command] = []
        all.reserveCapacity(lineCount)
        for outcome in results.withLock({ $0 }) {
            switch outcome {
            case .success(let commands): all += commands
            case .failure(let error): throw error
            }
        }
        return all
    }
}

