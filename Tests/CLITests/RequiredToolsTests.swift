import Foundation
import Testing
import TestSupport

/// Every tool the suites and scripts call is installed by `scripts/deps test`
/// (Tests/required-tools.txt lists them with their Debian packages).
struct RequiredToolsTests {
    /// One line of Tests/required-tools.txt.
    struct Tool: CustomStringConvertible {
        var path: String
        var package: String
        var callers: String
        var name: String { (path as NSString).lastPathComponent }
        var description: String { "\(path) (\(package))" }
    }

    static func listed() throws -> [Tool] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/required-tools.txt"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            let words = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
            return Tool(path: words[0], package: words.count > 1 ? words[1] : "", callers: words.count > 2 ? words[2] : "")
        }
    }

    /// The package column of a tool that comes with the Swift toolchain, not from Debian.
    static let toolchain = "-"

    /// Runs a program; its status and standard output (standard error discarded).
    static func output(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let r = try CLITests.run(URL(fileURLWithPath: executable), arguments)
        return (r.status, r.stdout)
    }

    /// The packages `scripts/deps test` installs.
    static func testSet() throws -> Set<String> {
        let r = try output(repositoryRoot.appendingPathComponent("scripts/deps").path, ["--list", "test"])
        try #require(r.status == 0, "scripts/deps --list test failed with status \(r.status)")
        return Set(r.stdout.split(separator: "\n").map(String.init))
    }

    /// The paths dpkg may know a file by, with /usr merged or not.
    static func dpkgCandidates(_ path: String) -> [String] {
        var out = [path]
        out.append(path.hasPrefix("/usr/") ? String(path.dropFirst(4)) : "/usr" + path)
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if real != path {
            out.append(real)
            out.append(real.hasPrefix("/usr/") ? String(real.dropFirst(4)) : "/usr" + real)
        }
        return out
    }

    /// The installed package that owns `path` (through /usr merging and symlinks), or `nil`.
    static func owner(of path: String) throws -> String? {
        for candidate in dpkgCandidates(path) {
            let r = try output("/usr/bin/dpkg-query", ["-S", candidate])
            guard r.status == 0 else { continue }
            // "pkgconf:amd64: /usr/bin/pkg-config"; "diversion by dash from: /bin/sh" names no owner.
            for line in r.stdout.split(separator: "\n") where !line.hasPrefix("diversion by") {
                guard let colon = line.range(of: ": ") else { continue }
                let names = line[..<colon.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                if let name = names.first { return String(name.split(separator: ":").first ?? Substring(name)) }
            }
        }
        return nil
    }

    static func field(_ field: String, of package: String) throws -> String {
        try output("/usr/bin/dpkg-query", ["-W", "-f=${\(field)}", package]).stdout
    }

    /// The names of the packages `package` depends on (alternatives included).
    static func dependencies(of package: String) throws -> Set<String> {
        let text = try field("Depends", of: package) + "," + field("Pre-Depends", of: package)
        return Set(
            text.split(whereSeparator: { $0 == "," || $0 == "|" }).compactMap {
                $0.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map { String($0.split(separator: ":")[0]) }
            })
    }

    @Test func everyListedToolsPackageIsInstalledByScriptsDeps() throws {
        let tools = try Self.listed()
        let set = try Self.testSet()
        #expect(tools.count >= 10)
        for tool in tools {
            #expect(!tool.package.isEmpty, "\(tool.path): no package in Tests/required-tools.txt")
            // "-": the Swift toolchain's, which Debian does not package (README: install it first).
            if tool.package == Self.toolchain { continue }
            #expect(
                set.contains(tool.package),
                "\(tool.path) (called by \(tool.callers)) comes from the Debian package \(tool.package), which scripts/deps does not install in its test set")
            guard FileManager.default.isExecutableFile(atPath: tool.path) else {
                Issue.record("\(tool.path) is not installed (package \(tool.package)): run scripts/deps test")
                continue
            }
            let owner = try Self.owner(of: tool.path)
            let accepted = try [tool.package] + Self.dependencies(of: tool.package)
            #expect(
                owner.map { accepted.contains($0) } == true,
                "\(tool.path): dpkg -S says \(owner ?? "no package"), Tests/required-tools.txt says \(tool.package)")
        }
    }

    // MARK: - Finding the tools the suites and scripts call

    /// Patterns that name a called tool in group 1 (Tests/required-tools.txt's header lists them).
    static let callPatterns: [NSRegularExpression] = [
        #"(?<![\w/.$-])((?:/usr)?(?:/local)?/s?bin/[A-Za-z0-9_+-][A-Za-z0-9_.+-]*[A-Za-z0-9_+-])"#,
        #"^#!\s*/usr/bin/env\s+([A-Za-z0-9_.+-]+)"#,
        #"(?m)^\s*need\s+([A-Za-z0-9_.+-]+)"#,
        #"command -v\s+"?([A-Za-z][A-Za-z0-9_.+-]*)"#,
        #"runCommand\(\s*"([^"\\]+)""#,
        #"\brun(?:Tool)?\(\s*\[\s*"([^"\\]+)""#,
        #"subprocess\.\w+\(\s*\[\s*"([^"\\]+)""#,
        #"\\\(\$0\)/([A-Za-z0-9_.+-]+)""#,
    ].map { try! NSRegularExpression(pattern: $0, options: [.anchorsMatchLines]) }

    /// The text files of Tests/ and scripts/ (test data, captures and reference outputs left out).
    static func sourceFiles() -> [URL] {
        var out: [URL] = []
        let skipped: Set<String> = ["Fixtures", "Captures", "Reference", "Vectors", "Oracle"]
        for top in ["Tests", "scripts"] {
            guard let e = FileManager.default.enumerator(at: repositoryRoot.appendingPathComponent(top), includingPropertiesForKeys: [.isDirectoryKey]) else {
                continue
            }
            for case let url as URL in e {
                if skipped.contains(url.lastPathComponent) { e.skipDescendants(); continue }
                if (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true { continue }
                if url.lastPathComponent == "required-tools.txt" || url.pathExtension == "c" { continue }
                out.append(url)
            }
        }
        return out
    }

    /// Tool names (or absolute paths) called in `text`.
    static func calledTools(in text: String) -> Set<String> {
        var out: Set<String> = []
        let range = NSRange(text.startIndex..., in: text)
        for p in callPatterns {
            for m in p.matches(in: text, range: range) {
                if let r = Range(m.range(at: 1), in: text) { out.insert(String(text[r])) }
            }
        }
        return out
    }

    /// Where `name` is on this machine (system directories only), or `nil`.
    static func locate(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        return ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether `path` comes with every Debian system (an essential or required package).
    static func alwaysPresent(_ path: String) throws -> Bool {
        guard let package = try owner(of: path) else { return false }
        return try field("Essential", of: package) == "yes" || field("Priority", of: package) == "required"
    }

    @Test func everyToolTheSuitesAndScriptsCallIsListed() throws {
        let listedNames = Set(try Self.listed().map(\.name))
        var callers: [String: Set<String>] = [:]
        for file in Self.sourceFiles() {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            for tool in Self.calledTools(in: text) {
                callers[tool, default: []].insert(String(file.path.dropFirst(repositoryRoot.path.count + 1)))
            }
        }
        #expect(callers["/usr/bin/seinfo"] != nil && callers["qemu-system-x86_64"] != nil, "the scan finds nothing: \(callers.keys.sorted())")
        var unlisted: [String] = []
        for (tool, files) in callers.sorted(by: { $0.key < $1.key }) {
            let name = (tool as NSString).lastPathComponent
            if listedNames.contains(name) { continue }
            if let path = Self.locate(tool), try Self.alwaysPresent(path) { continue }
            unlisted.append("\(tool) (called in \(files.sorted().joined(separator: ", ")))")
        }
        #expect(
            unlisted.isEmpty,
            "tools called in Tests/ or scripts/ that Tests/required-tools.txt does not list and Debian does not always have:\n  \(unlisted.joined(separator: "\n  "))"
        )
    }
}
