import Glibc
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
        var text = text
        text.makeContiguousUTF8()
        let result = text.utf8.withContiguousStorageIfAvailable { batch(bytes: $0) }!
        return try result.get()
    }

    /// ``batch(_:)`` over the file's UTF-8 bytes: lines are cut at the newline byte (no grapheme
    /// breaking) and split into words where they lie, without a copy of the line.
    static func batch(bytes: UnsafeBufferPointer<UInt8>) -> Result<XfrmBatch, IPXfrmSyntaxError> {
        var starts: [Int] = [0]
        starts.reserveCapacity(bytes.count / 64 + 2)
        if let base = bytes.baseAddress {
            var at = 0
            while at < bytes.count, let nl = memchr(base + at, 0x0A, bytes.count - at) {
                at = base.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
                starts.append(at)
            }
        }
        let lineStarts = starts
        let lineCount = starts.count
        // The buffer outlives the parts (parallelChunks returns when all have run).
        nonisolated(unsafe) let file = bytes
        typealias Part = (operations: [XfrmOperation], lines: [Int])
        let parts = parallelChunks(count: lineCount) { range -> Result<Part, IPXfrmSyntaxError> in
            let contexts = ContextCache()
            var out: Part = ([], [])
            out.operations.reserveCapacity(range.count)
            out.lines.reserveCapacity(range.count)
            for n in range {
                let end = n + 1 < lineCount ? lineStarts[n + 1] - 1 : file.count
                let line = UnsafeBufferPointer(rebasing: file[lineStarts[n]..<end])
                do throws(IPXfrmSyntaxError) {
                    let op: XfrmOperation?
                    if let ranges = plainWordRanges(bytes: line) {
                        let words = ranges.map { Word(bytes: UnsafeBufferPointer(rebasing: line[$0])) }
                        op = try parse(words: words, lineNumber: n + 1, contexts: contexts)
                    } else {
                        // Quotes inside words or backslashes: the general tokenizer, then its words.
                        let strings: [String]
                        do throws(IPXfrmSyntaxError) { strings = try quotedWords(String(decoding: line, as: UTF8.self)) } catch {
                            throw IPXfrmSyntaxError(line: n + 1, word: error.word, message: error.message)
                        }
                        op = try Word.withWords(strings) { (words) throws(IPXfrmSyntaxError) in
                            try parse(words: words, lineNumber: n + 1, contexts: contexts)
                        }
                    }
                    if let op {
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
        all.operations.reserveCapacity(lineCount)
        all.lines.reserveCapacity(lineCount)
        for part in parts {
            switch part {
            case .success(let p):
                all.operations += p.operations
                all.lines += p.lines
            case .failure(let error):
                return .failure(error)
            }
        }
        return .success(XfrmBatch(operations: all.operations, lines: all.lines))
    }
}
