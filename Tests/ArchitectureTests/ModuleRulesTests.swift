import Foundation
import Testing
import TestSupport

/// The rules of Specs/architecture.md, "What may import what", checked against Package.swift (as
/// `swift package dump-package` reads it) and against the `import` lines of every target's sources:
/// a forbidden dependency fails here, with the path that makes it.
struct ModuleRulesTests {
    /// One target of the package: its kind, folder and direct dependencies (targets and products).
    struct Target {
        var name: String
        var type: String
        var path: String
        var dependencies: Set<String>
    }

    /// Runs a program from the repository root; its status and standard output.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), arguments, currentDirectory: repositoryRoot)
        return (r.status, r.stdout, r.stderr)
    }

    /// The package's targets, read by SwiftPM itself (a scratch path of its own: `swift test` holds
    /// the lock of .build while this runs).
    static func targets() throws -> [String: Target] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-arch-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let r = try run(["swift", "package", "--package-path", repositoryRoot.path, "--scratch-path", scratch.path, "dump-package"])
        try #require(r.status == 0, "swift package dump-package failed: \(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let list = try #require(json["targets"] as? [[String: Any]])
        var result: [String: Target] = [:]
        for t in list {
            let name = try #require(t["name"] as? String)
            let type = try #require(t["type"] as? String)
            let deps = (t["dependencies"] as? [[String: Any]] ?? []).compactMap { dep -> String? in
                (dep.values.first as? [Any])?.first as? String
            }
            let defaultPath = (type == "test" ? "Tests/" : "Sources/") + name
            result[name] = Target(name: name, type: type, path: t["path"] as? String ?? defaultPath, dependencies: Set(deps))
        }
        return result
    }

    /// Every target `name` reaches through its dependencies, each with the path it is reached by.
    static func reached(from name: String, in targets: [String: Target]) -> [String: [String]] {
        var paths: [String: [String]] = [:]
        var queue = [[name]]
        while !queue.isEmpty {
            let path = queue.removeFirst()
            for dep in (targets[path.last!]?.dependencies ?? []).sorted() where paths[dep] == nil {
                paths[dep] = path + [dep]
                queue.append(path + [dep])
            }
        }
        return paths
    }

    // MARK: The rules (Specs/architecture.md)

    /// The modules that do no I/O and call no C library but libcrypto (through ESPCrypto): the
    /// shared value types, the engine's policy language and decisions, the wire codecs, the
    /// manager's operations, the resolver, the data plane's transform and node, the scenarios.
    static let ioFree: Set<String> = [
        "SecurityContexts", "IPsecModel", "SELinuxPolicy", "DecisionEngine", "NetlinkProtocol", "XfrmWire",
        "XfrmManager", "IKEConfig", "HostCheck", "Resolver", "ESPDataPlane", "DataPlaneNode", "Scenario",
    ]
    /// The modules that talk to the system: sockets, libmnl, libselinux, the live kernel.
    static let system: Set<String> = [
        "LinuxSystem", "NetlinkSocket", "SELinuxKernel", "XfrmNetlink", "IKEControl", "DataPlaneHost", "ScenarioKernel", "ScenarioDemo",
    ]
    /// The system layer at the bottom, which the I/O-free modules may depend on for its `Errno` alone
    /// (``theIOFreeModulesUseOnlyErrnoOfTheSystemLayer()``).
    static let systemLayer = "LinuxSystem"
    /// Each C library and the one module that imports it.
    static let cLibraries: [String: String] = [
        "CMnl": "NetlinkSocket", "CSELinux": "SELinuxKernel", "CCrypto": "ESPCrypto", "CLinux": "LinuxSystem",
    ]
    /// The parts, by the folder under Sources/ their modules live in.
    static let engine: Set<String> = ["SELinuxPolicy", "DecisionEngine", "SELinuxKernel"]
    static let manager: Set<String> = [
        "NetlinkProtocol", "NetlinkSocket", "XfrmWire", "XfrmManager", "XfrmNetlink", "IKEConfig", "IKEControl", "HostCheck",
    ]
    static let dataPlane: Set<String> = ["ESPCrypto", "ESPDataPlane", "DataPlaneNode", "DataPlaneHost"]
    static let values: Set<String> = ["SecurityContexts", "IPsecModel"]
    /// Targets only tests, benchmarks and fuzzers may depend on.
    static let testSupport: Set<String> = ["NetlinkTestSupport", "VMHarness", "SepolOracle", "TestSupport"]

    /// Edges the part rules forbid that are allowed on purpose, each with its reason.
    static let allowed: [String: Set<String>] = [
        // XfrmNetlink keeps the resolver's mirror in sync with the kernel: it is where the two meet.
        "XfrmNetlink": ["Resolver"],
        // The data plane's host reads `ip xfrm` lines (IPXfrmSyntax) for its SAs.
        "DataPlaneHost": ["XfrmManager"],
    ]

    /// What `name` may not reach, by the rules; each forbidden module with the rule that forbids it.
    static func forbidden(for name: String) -> [String: String] {
        var f: [String: String] = [:]
        func forbid(_ set: Set<String>, _ rule: String) { for m in set where m != name { f[m] = f[m] ?? rule } }
        if values.contains(name) { forbid(ioFree.union(system).subtracting(values), "the value types depend only on each other") }
        if ioFree.contains(name) {
            forbid(system.subtracting([systemLayer]), "an I/O-free module reaches no system module but LinuxSystem, for its Errno")
            forbid(["CMnl", "CSELinux"], "an I/O-free module links no libmnl or libselinux")
        }
        if engine.contains(name) { forbid(manager.union(dataPlane).union(["Resolver", "Scenario"]), "the engine depends on the value types only") }
        if name == "Resolver" { forbid(manager.union(dataPlane).union(["Scenario"]), "the resolver depends on the engine and the value types only") }
        if manager.contains(name) { forbid(dataPlane.union(["Resolver", "Scenario"]), "the manager depends on no other part") }
        if dataPlane.contains(name) { forbid(manager.union(["Scenario"]), "the data plane depends on no manager module") }
        f.merge(Dictionary(uniqueKeysWithValues: testSupport.map { ($0, "only tests depend on test support") })) { a, _ in a }
        for m in allowed[name] ?? [] { f[m] = nil }
        return f
    }

    @Test func everyModuleHasAPlace() throws {
        let targets = try Self.targets()
        let placed = Self.ioFree.union(Self.system).union(Self.cLibraries.keys).union(["ESPCrypto", "salabel"])
        for t in targets.values where t.path.hasPrefix("Sources/") {
            #expect(placed.contains(t.name), "\(t.name) (\(t.path)) is in no layer of Specs/architecture.md: place it there and in ModuleRulesTests")
        }
        for name in placed { #expect(targets[name] != nil, "\(name) is in the rules but not in Package.swift") }
    }

    @Test func noForbiddenDependency() throws {
        let targets = try Self.targets()
        for t in targets.values.sorted(by: { $0.name < $1.name }) {
            for (c, owner) in Self.cLibraries where owner != t.name && t.dependencies.contains(c) {
                Issue.record("\(t.name) → \(c): \(c) is imported by \(owner) only (Specs/architecture.md)")
            }
        }
        for t in targets.values.sorted(by: { $0.name < $1.name }) where t.path.hasPrefix("Sources/") {
            let forbidden = Self.forbidden(for: t.name)
            for (module, path) in Self.reached(from: t.name, in: targets).sorted(by: { $0.key < $1.key }) {
                if let rule = forbidden[module] {
                    Issue.record("\(path.joined(separator: " → ")): \(rule) (Specs/architecture.md)")
                }
            }
        }
    }

    /// An I/O-free module may depend on LinuxSystem, and use only its `Errno` (rule 2): no source of
    /// one names another top-level declaration of LinuxSystem (a type, a function), and none depends
    /// directly on what LinuxSystem is built on (swift-system's `SystemPackage`, `CLinux`).
    @Test func theIOFreeModulesUseOnlyErrnoOfTheSystemLayer() throws {
        let targets = try Self.targets()
        let layer = try #require(targets[Self.systemLayer])
        let declaration = try Regex(
            #"^(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*(?:public|package)\s+(?:final\s+)?(?:struct|enum|class|actor|protocol|typealias|func|var|let)\s+([A-Za-z_][A-Za-z0-9_]*)"#
        )
        var names: Set<String> = []
        for file in try Self.swiftFiles(in: layer.path) {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                if let m = try declaration.prefixMatch(in: String(line)), let name = m.output[1].substring { names.insert(String(name)) }
            }
        }
        // The walk must see the layer's API, or the check below checks nothing.
        for known in ["Errno", "SystemError", "NetworkNamespace", "ChildProcess", "valueOrErrno"] {
            #expect(names.contains(known), "LinuxSystem's declarations, as read from its sources, lack \(known)")
        }
        let forbiddenNames = names.subtracting(["Errno"])
        for name in Self.ioFree.sorted() {
            let t = try #require(targets[name])
            for dep in ["SystemPackage", "CLinux"] where t.dependencies.contains(dep) {
                Issue.record("\(name) → \(dep): an I/O-free module uses LinuxSystem's Errno only (Specs/architecture.md, rule 2)")
            }
            for file in try Self.swiftFiles(in: t.path) {
                for (n, line) in try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.firstRange(of: "//").map { line[..<$0.lowerBound] } ?? line[...]
                    let words = Set(code.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init))
                    for used in words.intersection(forbiddenNames).sorted() {
                        Issue.record(
                            "\(file.path.dropFirst(repositoryRoot.path.count + 1)):\(n + 1): \(name) names LinuxSystem's \(used); an I/O-free module uses its Errno only (Specs/architecture.md, rule 2)"
                        )
                    }
                }
            }
        }
    }

    /// The Swift files under a target's folder.
    static func swiftFiles(in path: String) throws -> [URL] {
        let folder = repositoryRoot.appendingPathComponent(path)
        let files = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil), "cannot list \(path)")
        return files.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    /// The libraries no library may depend on: test support, and the executables.
    @Test func onlyTestsUseTestSupport() throws {
        let targets = try Self.targets()
        for t in targets.values where t.type == "regular" && !Self.testSupport.contains(t.name) {
            for dep in t.dependencies {
                #expect(!Self.testSupport.contains(dep), "\(t.name) depends on the test support target \(dep)")
                #expect(targets[dep]?.type != "executable", "\(t.name) depends on the executable \(dep)")
            }
        }
    }

    /// Modules of the toolchain and the C library, which need no declaration.
    static let platformModules: Set<String> = [
        "Foundation", "FoundationEssentials", "Glibc", "Darwin", "Musl", "Dispatch", "Synchronization", "Testing", "XCTest",
    ]

    /// Every `import M` in a target's Swift files names M as a direct dependency (or a platform
    /// module), so that the graph above is the graph of the code: a module used only through
    /// another's dependencies would hide an edge.
    @Test func importsAreDeclared() throws {
        let targets = try Self.targets()
        let pattern = try Regex(
            #"^\s*(?:@testable\s+|@_exported\s+)?(?:public\s+|internal\s+|package\s+|private\s+)?import\s+(?:struct\s+|enum\s+|class\s+|func\s+)?([A-Za-z_][A-Za-z0-9_]*)"#
        )
        for t in targets.values.sorted(by: { $0.name < $1.name }) where t.type != "system" {
            let folder = repositoryRoot.appendingPathComponent(t.path)
            guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    guard let m = try pattern.wholeMatch(in: String(line)) ?? pattern.prefixMatch(in: String(line)),
                        let name = m.output[1].substring.map(String.init)
                    else { continue }
                    if Self.platformModules.contains(name) || t.dependencies.contains(name) || name == t.name { continue }
                    Issue.record(
                        "\(file.path.dropFirst(repositoryRoot.path.count + 1)):\(n + 1): imports \(name), which \(t.name) does not declare in Package.swift")
                }
            }
        }
    }

    /// The command parses arguments and prints (rule 7): no file of Sources/CLI imports the C
    /// library or a system module, or starts a process; what it needs of the system, a library does.
    @Test func theCLIMakesNoSystemCall() throws {
        let forbidden = ["Glibc", "Musl", "LinuxSystem", "NetlinkSocket", "CMnl", "CSELinux", "CCrypto"]
        let folder = repositoryRoot.appendingPathComponent("Sources/CLI")
        let files = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil))
        var checked = 0
        for case let file as URL in files where file.pathExtension == "swift" {
            checked += 1
            let text = try String(contentsOf: file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if let i = words.firstIndex(of: "import"), i + 1 < words.count, forbidden.contains(String(words[i + 1])) {
                    Issue.record("Sources/CLI/\(file.lastPathComponent):\(n + 1): imports \(words[i + 1]) (Specs/architecture.md, rule 7)")
                }
                if line.contains("Process()") || line.contains("posix_spawn") {
                    Issue.record("Sources/CLI/\(file.lastPathComponent):\(n + 1): starts a process (Specs/architecture.md, rule 7)")
                }
            }
        }
        #expect(checked > 10, "Sources/CLI has \(checked) Swift files: the walk found too few")
    }

    /// Specs/architecture.md's graph is the one Package.swift makes (scripts/module-graph --check).
    @Test func theWrittenGraphIsCurrent() throws {
        let r = try Self.run(["python3", "scripts/module-graph", "--check"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    }
}
