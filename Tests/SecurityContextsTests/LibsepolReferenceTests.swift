import Foundation
import SecurityContexts
import Testing
import TestSupport

/// Canonical printing and validity compared with libsepol, on generated contexts.
///
/// The policy `Reference/mls-reference.conf` is compiled with `checkpolicy -M`; the helper
/// `Reference/sepol_reference.py` (python3 + ctypes on libsepol.so.2) loads it and runs every
/// context through `sepol_context_to_sid` and `sepol_sid_to_context`. The tools are required: the
/// test fails, not skips, when they are missing.
///
/// libsepol prints a run of exactly two categories as `cA,cB` where the kernel prints `cA.cB`;
/// `MLSPrintStyle.libsepol` output is compared with libsepol byte for byte, and `.kernel` output is
/// checked to denote the same range in the kernel's form.
@Suite struct LibsepolReferenceTests {
    static let referenceDirectory = repositoryRoot.appendingPathComponent("Tests/SecurityContextsTests/Reference")

    /// Finds an executable on PATH or in the usual system directories.
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] + path.split(separator: ":").map(String.init)
        return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Generated contexts over the reference policy's names: aliases, ranges (some reversed or
    /// degenerate), duplicates, unordered items, categories a level does not allow, unknown names,
    /// high levels that do or do not dominate.
    static func generatedContexts(count: Int) -> [String] {
        var generator = SplitMix64(seed: 0xC0FF_EE00_5E90_1)
        let sensitivityNames = [["s0", "unclassified"], ["s1"], ["s2", "secret"], ["s3", "topsecret", "top"]]
        let categoryAliases = [3: "finance", 9: "legal", 15: "hr"]
        func categoryName(_ index: Int) -> String {
            if index == 16 { return "c16" }  // unknown
            if let alias = categoryAliases[index], generator.next() % 2 == 0 { return alias }
            return "c\(index)"
        }
        func sensitivityName(_ index: Int) -> String {
            index == 4 ? "s4" : generator.pick(sensitivityNames[index])
        }
        func items(maximum: Int, below limit: Int) -> [String] {
            (0..<Int(generator.next() % UInt64(maximum + 1))).map { _ in
                if generator.next() % 5 < 2 {
                    var a = Int(generator.next() % UInt64(limit)), b = Int(generator.next() % UInt64(limit))
                    if generator.next() % 8 != 0, a > b { swap(&a, &b) }  // mostly ordered; some reversed
                    if a == b, generator.next() % 3 != 0 { b = Swift.min(a + 1, limit - 1) }
                    return categoryName(a) + "." + categoryName(b)
                }
                return categoryName(generator.next() % 40 == 0 ? 16 : Int(generator.next() % UInt64(limit)))
            }
        }
        func level(sensitivity: Int, base: [String]) -> String {
            // Most levels keep to the categories their sensitivity allows (s0: c0-c7, s1: c0-c11).
            let limit = generator.next() % 10 == 0 ? 16 : [8, 12, 16, 16, 16][sensitivity]
            let cats = base + items(maximum: 5, below: limit)
            return sensitivityName(sensitivity) + (cats.isEmpty ? "" : ":" + cats.shuffled(using: &generator).joined(separator: ","))
        }
        var result: [String] = []
        for _ in 0..<count {
            let lowSensitivity = generator.next() % 80 == 0 ? 4 : Int(generator.next() % 4)
            let lowItems = items(maximum: 4, below: [8, 12, 16, 16, 16][lowSensitivity])
            var text = "u:r:t:" + sensitivityName(lowSensitivity) + (lowItems.isEmpty ? "" : ":" + lowItems.joined(separator: ","))
            switch generator.next() % 4 {
            case 0:
                break
            case 1:
                // A high level that usually dominates: same or higher sensitivity, low's categories and more.
                let high = Swift.min(3, lowSensitivity + Int(generator.next() % 3))
                text += "-" + level(sensitivity: high, base: lowItems)
            case 2:
                text += "-" + level(sensitivity: Int(generator.next() % 4), base: [])
            default:
                text += "-" + level(sensitivity: 3, base: ["c0.c15"])
            }
            result.append(text)
        }
        return result
    }

    static let fixedContexts = [
        "u:r:t:s0", "u:r:t:s0-s0", "u:r:t:s0:c0,c1", "u:r:t:s0:c0,c1,c2", "u:r:t:s0:c0.c7", "u:r:t:s0:c8",
        "u:r:t:s0:c5.c5", "u:r:t:s0:c5.c4", "u:r:t:s1-s0", "u:r:t:s0:c1-s0:c2", "u:r:t:s0:c0.finance",
        "u:r:t:unclassified:finance,c4-top:c0.hr", "u:r:t:s2:legal.hr", "u:r:t:s2:hr.legal", "u:r:t:s2:c3.finance",
        "u:r:t:s3:c0,c1,c3,c4,c6,c7,c8,c10", "u:r:t:s4", "u:r:t:s0:c16", "u:r:t:s0-s3:c0.c15", "u:r:t:s1:c11-s2:c11.c15",
        "u:r:t:s0:c7,c6,c5,c4,c3,c2,c1,c0", "u:r:t:s2:c0,c2,c4,c6,c8,c10,c12,c14",
    ]

    @Test func canonicalFormsAndValidityMatchLibsepol() throws {
        let checkpolicy = try #require(Self.tool("checkpolicy"), "checkpolicy is required (apt-get install checkpolicy)")
        let python = try #require(Self.tool("python3"), "python3 is required")
        let policySource = Self.referenceDirectory.appendingPathComponent("mls-reference.conf")
        let helper = Self.referenceDirectory.appendingPathComponent("sepol_reference.py")
        #expect(
            FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/libsepol.so.2")
                || FileManager.default.fileExists(atPath: "/lib/x86_64-linux-gnu/libsepol.so.2")
                || FileManager.default.fileExists(atPath: "/usr/lib64/libsepol.so.2")
                || FileManager.default.fileExists(atPath: "/usr/lib/libsepol.so.2"),
            "libsepol.so.2 is required (apt-get install libsepol2)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-contexts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let policy = directory.appendingPathComponent("policy.bin")
        let compiled = try runProcess(URL(fileURLWithPath: checkpolicy), ["-M", "-o", policy.path, policySource.path], input: .text(""))
        try #require(compiled.status == 0, "checkpolicy failed: \(compiled.stderr)")

        let contexts = Self.fixedContexts + Self.generatedContexts(count: 4000)
        let reference = try runProcess(URL(fileURLWithPath: python), [helper.path, policy.path], input: .text(contexts.joined(separator: "\n") + "\n"))
        try #require(reference.status == 0, "the libsepol helper failed: \(reference.stderr)")
        let lines = reference.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(lines.count == contexts.count, "libsepol answered \(lines.count) lines for \(contexts.count) contexts")

        let vocabulary = try referenceVocabulary()
        var accepted = 0, rejected = 0, differingStyles = 0
        for (context, line) in zip(contexts, lines) {
            let parsed = try SecurityContext(parsing: context)
            let mine = try? vocabulary.canonical(parsed, style: .libsepol)
            if line == "ERR" {
                rejected += 1
                #expect(mine == nil, "libsepol rejects \(context); SecurityContexts prints \(mine ?? "")")
                continue
            }
            accepted += 1
            let theirs = String(line.dropFirst(3))
            #expect(line.hasPrefix("OK "))
            #expect(mine == theirs, "\(context)")

            // The kernel's form: same range, primary names, categories ascending, every run of two
            // or more written `cA.cB`, nothing else merged or split.
            let kernel = try vocabulary.canonical(parsed)
            if kernel != theirs { differingStyles += 1 }
            let kernelContext = try SecurityContext(parsing: kernel)
            #expect(try vocabulary.resolve(kernelContext) == vocabulary.resolve(SecurityContext(parsing: theirs)), "\(context)")
            let range = try #require(kernelContext.range)
            #expect(range.high == nil || range.high != range.low)
            for level in [range.low] + (range.high.map { [$0] } ?? []) {
                #expect(vocabulary.sensitivities.contains { $0.name == level.sensitivity })
                var previousEnd = -2
                for item in level.categories {
                    let (low, high): (String, String) =
                        switch item {
                        case .single(let name): (name, name)
                        case .range(let a, let b): (a, b)
                        }
                    let lowIndex = try #require(vocabulary.category(named: low))
                    let highIndex = try #require(vocabulary.category(named: high))
                    #expect(vocabulary.categories[lowIndex].name == low && vocabulary.categories[highIndex].name == high)
                    if case .range = item { #expect(highIndex > lowIndex, "\(kernel)") }
                    #expect(lowIndex > previousEnd + 1, "\(kernel): runs must be maximal and ascending")
                    previousEnd = highIndex
                }
            }
        }
        // The generator covers both outcomes and the difference between the two styles.
        #expect(accepted > contexts.count / 5, "accepted \(accepted)")
        #expect(rejected > contexts.count / 5, "rejected \(rejected)")
        #expect(differingStyles > 50, "differing \(differingStyles)")
    }
}
