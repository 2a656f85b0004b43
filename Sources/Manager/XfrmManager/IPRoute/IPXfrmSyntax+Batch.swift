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
        try batch(text).commands
    }

    /// Parses a batch file into an ``XfrmBatch`` (a transaction; set its `mode` to go on after
    /// failures). The same rules as ``commands(batch:)``.
    public static func batch(_ text: String) throws(IPXfrmSyntaxError) -> XfrmBatch {
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
        typealias Part = (operations: [XfrmOperation], lines: [Int])
        let results = Mutex([Result<Part, IPXfrmSyntaxError>](repeating: .success(([], [])), count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = part * per, last = min(lineCount, first + per)
            let contexts = ContextCache()
            var out: Part = ([], [])
            out.operations.reserveCapacity(last - first)
            out.lines.reserveCapacity(last - first)
            do throws(IPXfrmSyntaxError) {
                for n in first..<last {
                    let end = n + 1 < lineCount ? utf8.index(before: lineStarts[n + 1]) : utf8.endIndex
                    if let op = try parse(line: text[lineStarts[n]..<end], lineNumber: n + 1, contexts: contexts) {
                        out.operations.append(op)
                        out.lines.append(n + 1)
                    }
                }
                results.withLock { $0[part] = .success(out) }
            } catch {
                results.withLock { $0[part] = .failure(error) }
            }
        }
        var outcomes = results.withLock { parts in
            defer { parts = [] }
            return parts
        }
        for outcome in outcomes { if case .failure(let error) = outcome { throw error } }
        guard outcomes.count > 1, case .success(var all) = outcomes[0] else {
            guard case .success(let only) = outcomes.first else { return XfrmBatch(operations: [], lines: []) }
            return XfrmBatch(operations: only.operations, lines: only.lines)
        }
        outcomes[0] = .success(([], []))
        for outcome in outcomes.dropFirst() {
            if case .success(let part) = outcome {
                all.operations += part.operations
                all.lines += part.lines
            }
        }
        return XfrmBatch(operations: all.operations, lines: all.lines)
    }
}

