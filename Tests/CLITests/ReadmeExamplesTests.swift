import Foundation
import Testing
import TestSupport

/// The README's command blocks are executable documentation: every ```sh block runs, as written,
/// from the repository root with the built `salabel` and `labeled-echo` first on PATH, one bash
/// per block (so a block's variables and background jobs span its lines), and each command must
/// end with status 0, or with the status its trailing comment states as `exit status N`.
///
/// A block that cannot run on a build machine (root, but no SELinux kernel and no ESP) is marked
/// in the README, on the line before its fence, with
///
///     <!-- readme-test: skip REASON -->
///
/// where REASON is one of ``skipReasons``: the reasons are listed here, and the test prints each
/// block it skips with its reason. Background jobs a block leaves are killed when it ends; the
/// block's temporary files (mktemp) go to a directory of the test's, removed afterwards.
struct ReadmeExamplesTests {
    /// Why a README block may not run here, by the name its marker uses.
    static let skipReasons: [String: String] = [
        "suite": "scripts/test is the whole test suite (this test is part of it) and scripts/demo builds with swift build, which the suite has done",
        "vm": "needs the VM (scripts/vm: Debian's SELinux kernel under QEMU); KernelVMTests and scripts/conformance run these",
        "kernel-sad":
            "changes the kernel's SAD/SPD in namespaces client and server, needs ESP in the kernel, and monitors until interrupted; XfrmCLITests and XfrmManagerVMTests run these",
        "live-namespaces":
            "needs namespaces client and server holding the example's SAs (salabel apply, which needs ESP in the kernel); ResolverVMTests runs it",
        "live-host":
            "reads this host's SELinux, LSM order, modules and a namespace's SAD/SPD, whatever state they are in; DoctorVMTests runs it on guests healthy and broken",
    ]

    /// One ```sh block of the README.
    struct Block {
        /// The line of its opening fence (1-based).
        var line: Int
        /// Its commands: backslash-continued lines joined, comments and blank lines left out.
        var commands: [Command]
        /// The reason name of its skip marker, if any.
        var skip: String?
    }

    struct Command {
        var line: Int
        var text: String
        /// The status the command must end with.
        var expectedStatus: Int32
    }

    static func blocks(_ readme: String) -> [Block] {
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out: [Block] = []
        var i = 0
        let marker = try! NSRegularExpression(pattern: #"^<!--\s*readme-test:\s*skip\s+([\w-]+)\s*-->$"#)
        let status = try! NSRegularExpression(pattern: #"#.*\bexit status (\d+)"#)
        while i < lines.count {
            guard lines[i].trimmingCharacters(in: .whitespaces) == "```sh" else { i += 1; continue }
            var skip: String?
            if i > 0 {
                let previous = lines[i - 1].trimmingCharacters(in: .whitespaces)
                if let m = marker.firstMatch(in: previous, range: NSRange(previous.startIndex..., in: previous)),
                    let r = Range(m.range(at: 1), in: previous)
                {
                    skip = String(previous[r])
                }
            }
            var block = Block(line: i + 1, commands: [], skip: skip)
            i += 1
            var pending: (line: Int, text: String)?
            while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces) != "```" {
                let line = lines[i]
                if var p = pending {
                    p.text += "\n" + line
                    pending = p
                } else if !line.trimmingCharacters(in: .whitespaces).isEmpty && !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                    pending = (i + 1, line)
                }
                if let p = pending, !line.hasSuffix("\\") {
                    let range = NSRange(p.text.startIndex..., in: p.text)
                    let expected = status.firstMatch(in: p.text, range: range).flatMap { Range($0.range(at: 1), in: p.text) }.flatMap { Int32(p.text[$0]) } ?? 0
                    block.commands.append(Command(line: p.line, text: p.text, expectedStatus: expected))
                    pending = nil
                }
                i += 1
            }
            out.append(block)
            i += 1
        }
        return out
    }

    /// The block as a bash script: each command is announced on stderr (`@@readme-test N`), then
    /// run; a status other than its expected one writes `N STATUS` to `result` and ends the script.
    static func script(_ block: Block, result: String, group: String) -> String {
        var s = "echo $$ > '\(group)'\ntrap 'kill -KILL $(jobs -p) 2>/dev/null' EXIT\n"
        for (n, c) in block.commands.enumerated() {
            s += "echo '@@readme-test \(n)' >&2\n"
            s += c.text + "\n"
            s += "__status=$?; if [ $__status -ne \(c.expectedStatus) ]; then echo \"\(n) $__status\" > '\(result)'; exit 100; fi\n"
        }
        return s
    }

    /// Runs `block` in a new session (its process group is killed afterwards, whatever it left) and
    /// returns a description of its failure, or `nil`.
    static func run(_ block: Block, in work: URL, timeout: TimeInterval) throws -> String? {
        let scriptFile = work.appendingPathComponent("block-\(block.line).sh")
        let result = work.appendingPathComponent("block-\(block.line).result").path
        let out = work.appendingPathComponent("block-\(block.line).out"), err = work.appendingPathComponent("block-\(block.line).err")
        let group = work.appendingPathComponent("block-\(block.line).group").path
        try script(block, result: result, group: group).write(to: scriptFile, atomically: true, encoding: .utf8)
        let tmp = work.appendingPathComponent("tmp-\(block.line)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = CLITests.binary.deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["TMPDIR"] = tmp.path
        let p = try startProcess(
            URL(fileURLWithPath: "/usr/bin/setsid"), ["--wait", "/bin/bash", scriptFile.path], input: .null,
            environment: env, currentDirectory: repositoryRoot, standardOutput: .file(out), standardError: .file(err))
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = p.isRunning
        // setsid made the script's shell a session (and process group) leader: its pid, which it
        // wrote down, is the group of everything the block started.
        if let text = try? String(contentsOfFile: group, encoding: .utf8), let pgid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pgid > 1 {
            kill(-pgid, SIGKILL)
        }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        func stderrOf(_ n: Int) -> String {
            let parts = stderr.components(separatedBy: "@@readme-test \(n)\n")
            guard parts.count > 1 else { return "" }
            return parts[1].components(separatedBy: "@@readme-test ")[0]
        }
        if timedOut {
            let last = stderr.components(separatedBy: "@@readme-test ").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
            let c = block.commands[min(last, block.commands.count - 1)]
            return "README.md:\(c.line): timed out after \(Int(timeout)) s in\n  \(c.text)\nits stderr:\n\(stderrOf(last))"
        }
        if let text = try? String(contentsOfFile: result, encoding: .utf8) {
            let words = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            let n = words.first ?? 0, status = words.count > 1 ? words[1] : -1
            let c = block.commands[n]
            return "README.md:\(c.line): exit status \(status), expected \(c.expectedStatus):\n  \(c.text)\nits stderr:\n\(stderrOf(n))"
        }
        if p.terminationStatus != 0 {
            return "README.md:\(block.line): the block's shell exited with status \(p.terminationStatus)\nstderr:\n\(stderr)"
        }
        return nil
    }

    @Test func everyShellBlockOfTheReadmeRunsAsWritten() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = Self.blocks(readme)
        #expect(blocks.count >= 6)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var ran = 0
        for block in blocks {
            if let skip = block.skip {
                let reason = Self.skipReasons[skip]
                #expect(reason != nil, "README.md:\(block.line): unknown skip reason '\(skip)': use one of \(Self.skipReasons.keys.sorted())")
                print("README.md:\(block.line): not run: \(reason ?? skip)")
                continue
            }
            #expect(!block.commands.isEmpty, "README.md:\(block.line): an empty sh block")
            if let failure = try Self.run(block, in: work, timeout: 60) { Issue.record(Comment(rawValue: failure)) }
            ran += 1
        }
        #expect(ran >= 4, "only \(ran) README blocks ran")
    }

    /// The parser: continuation lines, comments and expected statuses.
    @Test func blocksAreReadAsCommands() {
        let text = """
            <!-- readme-test: skip vm -->
            ```sh
            a one   # comment
            ```

            ```sh
            # a comment line
            b \\
                two &
            c three   # denied: exit status 1
            ```
            """
        let b = Self.blocks(text)
        #expect(b.count == 2)
        #expect(b[0].skip == "vm" && b[0].commands.map(\.text) == ["a one   # comment"])
        #expect(b[1].skip == nil && b[1].commands.map(\.text) == ["b \\\n    two &", "c three   # denied: exit status 1"])
        #expect(b[1].commands.map(\.expectedStatus) == [0, 1] && b[1].commands.map(\.line) == [8, 10])
    }
}
