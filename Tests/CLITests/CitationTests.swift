import Foundation
import Testing
import TestSupport

/// The specifications the code, tests and documents cite are in the repository, and each citation
/// lands somewhere:
///
/// - every `Specs/….md` path named anywhere exists;
/// - every "edge N" (also "edges N, M", "edges N–M", "edge case N", "Edge N:") is an `### Edge N:`
///   heading of Specs/kernel/labeled-ipsec.md, and a file that cites edges names that document;
/// - every `§x` or `§x.y` cited with one of the two kernel documents (Specs/kernel/labeled-ipsec.md,
///   Specs/kernel/layouts.md; from the document's name to the end of the line, or of the parenthesis
///   it opened, or to the next document named) is a heading of that document, and so is every bare
///   `§` reference inside those two documents;
/// - nothing names the documents outside the repository these two replace.
///
/// Scanned: the text files under Sources, Tests, Specs, Fuzz, scripts, Benchmarks and Examples, and
/// README.md; not build directories (`.build*`) nor the fuzzers' corpora (`Fuzz/corpus`: mutated
/// inputs, named by their SHA-1, whose comment lines are data).
struct CitationTests {
    static let kernelDoc = "Specs/kernel/labeled-ipsec.md"
    static let layoutsDoc = "Specs/kernel/layouts.md"
    static let scannedRoots = ["Sources", "Tests", "Specs", "Fuzz", "scripts", "Benchmarks", "Examples", "README.md"]

    /// One line of a scanned file.
    struct Line {
        var file: String
        var number: Int
        var text: String
        var location: String { "\(file):\(number)" }
    }

    /// A scanned text file: its path from the repository root and its lines.
    struct TextFile {
        var path: String
        var lines: [String]
    }

    static func isSkippedDirectory(_ url: URL) -> Bool {
        let name = url.lastPathComponent
        let relative = String(url.path.dropFirst(repositoryRoot.path.count + 1))
        return name.hasPrefix(".build") || name == ".git" || relative == "Fuzz/corpus"
    }

    /// The scanned text files (valid UTF-8 without NUL bytes), sorted by path.
    static func textFiles() throws -> [TextFile] {
        var urls: [URL] = []
        let fm = FileManager.default
        for name in scannedRoots {
            let url = repositoryRoot.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            guard isDirectory.boolValue else { urls.append(url); continue }
            guard let walker = fm.enumerator(at: url, includingPropertiesForKeys: [.isDirectoryKey, .isRegularFileKey]) else { continue }
            for case let item as URL in walker {
                let values = try item.resourceValues(forKeys: [.isDirectoryKey, .isRegularFileKey])
                if values.isDirectory == true {
                    if isSkippedDirectory(item) { walker.skipDescendants() }
                } else if values.isRegularFile == true {
                    urls.append(item)
                }
            }
        }
        var files: [TextFile] = []
        for url in urls {
            let data = try Data(contentsOf: url)
            guard !data.contains(0), let text = String(data: data, encoding: .utf8) else { continue }
            let path = String(url.standardizedFileURL.path.dropFirst(repositoryRoot.standardizedFileURL.path.count + 1))
            files.append(TextFile(path: path, lines: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)))
        }
        return files.sorted { $0.path < $1.path }
    }

    static func regex(_ pattern: String) -> NSRegularExpression { try! NSRegularExpression(pattern: pattern) }

    static func matches(_ re: NSRegularExpression, _ s: String) -> [NSTextCheckingResult] {
        re.matches(in: s, range: NSRange(s.startIndex..., in: s))
    }

    static func substring(_ s: String, _ range: NSRange) -> String {
        Range(range, in: s).map { String(s[$0]) } ?? ""
    }

    /// The labels of a document's headings: "§a.1" for `### §a.1 …`, "Edge 11" for `### Edge 11: …`.
    static func headings(_ path: String) throws -> Set<String> {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        var out: Set<String> = []
        let section = regex(#"^#+\s+(§[0-9a-z]+(?:\.[0-9]+)*)\s"#), edge = regex(#"^#+\s+Edge (\d+):"#)
        for line in text.split(separator: "\n").map(String.init) where line.hasPrefix("#") {
            if let m = matches(section, line).first { out.insert(substring(line, m.range(at: 1))) }
            if let m = matches(edge, line).first { out.insert("Edge " + substring(line, m.range(at: 1))) }
        }
        return out
    }

    // MARK: - Patterns

    /// A `Specs/….md` path (not part of a longer path).
    static let specsPath = regex(#"(?<![A-Za-z0-9_./-])Specs/[A-Za-z0-9_./-]*?\.md\b"#)
    /// A mention of one of the two kernel documents, by path or by file name.
    static let kernelMention = regex(#"(?<![A-Za-z0-9_-])(?:(?:Specs/|\.\./)?kernel/)?(labeled-ipsec|layouts)\.md\b"#)
    /// Where a citation's span ends: another document, an RFC, an Internet-Draft.
    static let otherSource = regex(#"[A-Za-z0-9_./-]+\.(?:md|yaml|tsv|txt|swift|c|h|sh)\b|\bRFC ?\d+|\bdraft-[a-z0-9-]+"#)
    /// A section reference.
    static let sectionRef = regex(#"§([0-9]+(?:\.[0-9]+)*|[a-z](?:\.[0-9]+)*)(?![0-9A-Za-z])"#)
    /// "edge 11", "edges 9, 12 and 30", "edges 23–25", "edge cases 24 and 25", "Edge 22, row 1"; a list
    /// may go on after a comment line's prefix.
    static let edgeRef = regex(#"(?i)\bedges?(?: cases?)?\s+(\d+(?:\s*(?:,|\band\b|–|-)\s*(?:(?:///?|#|\*)\s*)?\d+)*)"#)
    /// What no file may name any more: the documents outside the repository that Specs/kernel replaces
    /// (written in pieces so that this file does not name them).
    static let outsideDocuments = regex("labeled-ipsec-" + "kernel|layout-" + "facts(?!-)|shared/" + "reference")

    /// The edge numbers of one `edgeRef` match: "23–25" is 23, 24, 25.
    static func edgeNumbers(_ list: String) -> [Int] {
        var out: [Int] = []
        let parts = matches(regex(#"\d+|–|-(?=\s*\d)"#), list).map { substring(list, $0.range) }
        var i = 0
        while i < parts.count {
            if let n = Int(parts[i]) {
                if i + 2 < parts.count, parts[i + 1] == "–" || parts[i + 1] == "-", let m = Int(parts[i + 2]), m >= n, m - n < 100 {
                    out.append(contentsOf: n...m); i += 3; continue
                }
                out.append(n)
            }
            i += 1
        }
        return out
    }

    /// A citation of a kernel document: the document and the `§` references that follow its name.
    struct Citation {
        var line: Line
        var document: String
        var sections: [String]
    }

    /// The citations of the two kernel documents in a file: for each mention, the `§` references
    /// from it to the next source named or the end of the line — or, when the mention is inside a
    /// parenthesis, to where that parenthesis closes (at most three lines on).
    static func kernelCitations(_ file: TextFile) -> [Citation] {
        var out: [Citation] = []
        for (index, text) in file.lines.enumerated() {
            for mention in matches(kernelMention, text) {
                let document = substring(text, mention.range(at: 1)) == "layouts" ? layoutsDoc : kernelDoc
                guard let end = Range(mention.range, in: text)?.upperBound else { continue }
                let before = text[..<end]
                let inParenthesis = before.filter { $0 == "(" }.count > before.filter { $0 == ")" }.count
                var span = "", depth = 0, closed = false
                var rest = String(text[end...]), next = index + 1
                while true {
                    for c in rest {
                        if c == "(" { depth += 1 }
                        if c == ")" { if depth == 0 && inParenthesis { closed = true; break }; depth -= 1 }
                        span.append(c)
                    }
                    guard inParenthesis, !closed, next < file.lines.count, next <= index + 3 else { break }
                    span.append("\n"); rest = file.lines[next]; next += 1
                }
                var cut = span.endIndex
                for re in [otherSource, kernelMention] {
                    if let m = matches(re, span).first, let r = Range(m.range, in: span), r.lowerBound < cut { cut = r.lowerBound }
                }
                span = String(span[..<cut])
                let sections = matches(sectionRef, span).map { "§" + substring(span, $0.range(at: 1)) }
                out.append(Citation(line: Line(file: file.path, number: index + 1, text: text), document: document, sections: sections))
            }
        }
        return out
    }

    // MARK: - Tests

    @Test func theScanCoversTheRepository() throws {
        let files = try Self.textFiles()
        #expect(files.count > 300, "only \(files.count) text files found under \(repositoryRoot.path)")
        for path in ["README.md", Self.kernelDoc, Self.layoutsDoc, "Specs/README.md", "Tests/CLITests/CitationTests.swift"] {
            #expect(files.contains { $0.path == path }, "\(path) is not scanned")
        }
        #expect(!files.contains { $0.path.hasPrefix("Fuzz/corpus/") || $0.path.contains(".build") })
        let edges = try Self.headings(Self.kernelDoc).filter { $0.hasPrefix("Edge ") }
        #expect(edges == Set((1...36).map { "Edge \($0)" }), "\(Self.kernelDoc) must keep edges 1 to 36: \(edges.sorted())")
    }

    @Test func citedSpecsExist() throws {
        var failures: [String] = []
        var count = 0
        for file in try Self.textFiles() {
            for (index, text) in file.lines.enumerated() {
                for m in Self.matches(Self.specsPath, text) {
                    let path = Self.substring(text, m.range)
                    count += 1
                    if !FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent(path).path) {
                        failures.append("\(file.path):\(index + 1): \(path) does not exist")
                    }
                }
            }
        }
        #expect(count > 100, "only \(count) citations of Specs/ found")
        #expect(failures.isEmpty, "\(failures.count) citations of missing documents:\n\(failures.joined(separator: "\n"))")
    }

    @Test func citedEdgesAndSectionsAreHeadings() throws {
        let kernel = try Self.headings(Self.kernelDoc), layouts = try Self.headings(Self.layoutsDoc)
        var failures: [String] = []
        var edgeCount = 0, sectionCount = 0
        for file in try Self.textFiles() {
            let text = file.lines.joined(separator: "\n")
            // Edges: each number a heading of the kernel document, which the file must name.
            let edgeMatches = Self.matches(Self.edgeRef, text)
            let namesKernelDoc =
                file.path == Self.kernelDoc
                || Self.matches(Self.kernelMention, text).contains {
                    Self.substring(text, $0.range(at: 1)) == "labeled-ipsec"
                }
            for m in edgeMatches {
                let citation = Self.substring(text, m.range)
                let lineNumber = text[..<Range(m.range, in: text)!.lowerBound].filter { $0 == "\n" }.count + 1
                let location = "\(file.path):\(lineNumber)"
                if !namesKernelDoc {
                    failures.append("\(location): \"\(citation)\" cites an edge, but the file never names \(Self.kernelDoc)")
                }
                for n in Self.edgeNumbers(Self.substring(text, m.range(at: 1))) {
                    edgeCount += 1
                    if !kernel.contains("Edge \(n)") {
                        failures.append("\(location): \"\(citation)\": \(Self.kernelDoc) has no heading \"Edge \(n):\"")
                    }
                }
            }
            // Sections cited with a kernel document.
            for c in Self.kernelCitations(file) {
                let headings = c.document == Self.layoutsDoc ? layouts : kernel
                for s in c.sections {
                    sectionCount += 1
                    if !headings.contains(s) {
                        let line = c.line.text.trimmingCharacters(in: .whitespaces)
                        failures.append("\(c.line.location): \(c.document) \(s): no such heading (line: \(line))")
                    }
                }
            }
            // Inside the two kernel documents, a bare § reference is to the document itself.
            if file.path == Self.kernelDoc || file.path == Self.layoutsDoc {
                let own = file.path == Self.layoutsDoc ? layouts : kernel
                for (index, line) in file.lines.enumerated() where !line.hasPrefix("#") {
                    // Cut each line at the first mention of another document or source.
                    var bare = line
                    let stops = Self.matches(Self.kernelMention, line).map(\.range) + Self.matches(Self.otherSource, line).map(\.range)
                    if let first = stops.map(\.location).min(), let r = Range(NSRange(location: first, length: 0), in: line) {
                        bare = String(line[..<r.lowerBound])
                    }
                    for m in Self.matches(Self.sectionRef, bare) {
                        let s = "§" + Self.substring(bare, m.range(at: 1))
                        sectionCount += 1
                        if !own.contains(s) { failures.append("\(file.path):\(index + 1): \(s): no such heading in this document") }
                    }
                }
            }
        }
        #expect(edgeCount > 100, "only \(edgeCount) edge citations found")
        #expect(sectionCount > 100, "only \(sectionCount) section citations found")
        #expect(failures.isEmpty, "\(failures.count) citations that do not resolve:\n\(failures.joined(separator: "\n"))")
    }

    @Test func noCitationOfDocumentsOutsideTheRepository() throws {
        var failures: [String] = []
        for file in try Self.textFiles() {
            for (index, text) in file.lines.enumerated() {
                for m in Self.matches(Self.outsideDocuments, text) {
                    let name = Self.substring(text, m.range), line = text.trimmingCharacters(in: .whitespaces)
                    failures.append("\(file.path):\(index + 1): \(name) (now \(Self.kernelDoc) or \(Self.layoutsDoc)): \(line)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) citations of documents outside the repository:\n\(failures.joined(separator: "\n"))")
    }
}
