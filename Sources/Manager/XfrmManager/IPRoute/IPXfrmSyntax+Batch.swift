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
        typealias Part = (operations: [XfrmOperation], lines: [Int])
        let parts = parallelChunks(count: lineCount) { range -> Result<Part, IPXfrmSyntaxError> in
            let contexts = ContextCache()
            var out: Part = ([], [])
            out.operations.reserveCapacity(range.count)
            out.lines.reserveCapacity(range.count)
            for n in range {
                let end = n + 1 < lineCount ? utf8.index(before: lineStarts[n + 1]) : utf8.endIndex
                do throws(IPXfrmSyntaxError) {
                    if let op = try parse(line: text[lineStarts[n]..<end], lineNumber: n + 1, contexts: contexts) {
                        out.operations.append(op)
                        out.lines.append(n + 1)
                    }
                } catch {
                    return .failure(error)
                }
            }
            return .success(out)
        }
        // The parts are in line order: the first failure is the first syntax error of the file.
        var all: Part = ([], [])
        for part in parts {
            let p = try part.get()
            all.operations += p.operations
            all.lines += p.lines
        }
        return XfrmBatch(operations: all.operations, lines: all.lines)
    }
}
