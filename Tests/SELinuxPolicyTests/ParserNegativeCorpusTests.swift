import Foundation
import Testing
import SELinuxPolicy
import TestSupport

// The negative corpus: Tests/Fixtures/parser-negative/*.conf. Each file is a small complete policy
// (classes, SIDs, MLS, types, a conditional, roles, users, SID contexts) with one error, and a first
// line `# expect: LINE:COLUMN: message substring`.
//
// Cross-checked with checkpolicy 3.4 (Debian 12): `checkpolicy -M -o /dev/null FILE` rejects every
// file except these four, which checkpolicy accepts and this parser rejects on purpose:
//   - alias-star.conf: `sensitivity s1 alias *;` (checkpolicy's grammar takes any name set after
//     `alias`; only names make sense there);
//   - deep-nesting.conf: 1001 nested parentheses (this parser caps nesting at 1000);
//   - invalid-utf8-in-comment.conf: a Latin-1 byte in a comment (sources must be UTF-8);
//   - optional-block.conf: `optional { ... }` (the module language is not supported).
// For unterminated-brace.conf and unterminated-if.conf checkpolicy reports its error earlier, at the
// rule placed after the users (its section order), not at the end of the file.

/// The fixtures directory.
private let negativeCorpus = repositoryRoot.appendingPathComponent("Tests/Fixtures/parser-negative")

private func negativeFixtures() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: negativeCorpus.path)) ?? []
    return names.filter { $0.hasSuffix(".conf") }.sorted()
}

@Suite struct ParserNegativeCorpusTests {
    @Test func corpusIsPresent() {
        #expect(negativeFixtures().count >= 40, "fixtures missing in \(negativeCorpus.path)")
    }

    @Test(arguments: negativeFixtures())
    func rejects(_ name: String) throws {
        let data = try Data(contentsOf: negativeCorpus.appendingPathComponent(name))
        let bytes = [UInt8](data)
        let firstLine = bytes.prefix { $0 != 10 }
        let header = String(decoding: firstLine, as: UTF8.self)
        let prefix = "# expect: "
        try #require(header.hasPrefix(prefix), "\(name): first line must be '# expect: LINE:COLUMN: message'")
        let expectation = header.dropFirst(prefix.count)
        let parts = expectation.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        try #require(parts.count == 3, "\(name): malformed expectation '\(expectation)'")
        let line = try #require(Int(parts[0]))
        let column = try #require(Int(parts[1]))
        let message = parts[2].trimmingCharacters(in: .whitespaces)

        do {
            _ = try PolicyParser.parse(bytes, file: name)
            Issue.record("\(name): parsed without error, expected \(expectation)")
        } catch {
            #expect(error.location == SourceLocation(file: name, line: line, column: column), "\(name): \(error)")
            #expect(error.message.contains(message), "\(name): \(error)")
        }
    }
}
