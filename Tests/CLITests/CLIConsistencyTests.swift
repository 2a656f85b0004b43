import Foundation
import Testing
import TestSupport

/// What every `salabel` command shares: usage errors exit 2 as the help says, every option and
/// argument has help text, help paragraphs are wrapped once (by ArgumentParser), `--help` never
/// does the command's work, and errors never echo control characters.
struct CLIConsistencyTests {
    /// A usage error is status 2 (Status.error), whatever ArgumentParser's default (64).
    @Test(arguments: [
        ["trace", "--dport", "seven"],
        ["policy", "check", "--no-such-flag"],
        ["no-such-command"],
        ["dataplane", "run", "file.yaml"],  // --host is required
        ["trace", "--proto", "sctp-ish"],  // a ValidationError thrown by run()
        ["scenario", "run", "--kernel", "--compare", "x.yaml"],  // validate()
    ])
    func usageErrorsExitTwo(_ args: [String]) throws {
        let r = try CLITests.run(CLITests.binary, args)
        #expect(r.status == 2, "salabel \(args.joined(separator: " ")): status \(r.status), stderr: \(r.stderr)")
        #expect(r.stderr.hasPrefix("Error: ") || r.stderr.hasPrefix("error: "), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func helpAndVersionExitZero() throws {
        let help = try CLITests.salabel("trace", "--help")
        #expect(help.status == 0 && help.stdout.contains("USAGE: salabel trace"))
        let version = try CLITests.salabel("--version")
        #expect(version.status == 0 && !version.stdout.isEmpty)
    }

    /// `sa add` passes its words through to the `ip xfrm` parser; `--help` among them is still help.
    @Test(arguments: [
        ["dataplane", "sa", "add", "--help"], ["dataplane", "sa", "add", "-h"],
        ["dataplane", "sa", "add", "--control", "/nonexistent/host.sock", "src", "10.0.0.1", "--help"],
    ])
    func saAddHelpPrintsHelp(_ args: [String]) throws {
        let r = try CLITests.run(CLITests.binary, args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("USAGE: salabel dataplane sa add"), "\(r.stdout)")
        #expect(!r.stderr.contains("connect"), "\(r.stderr)")
    }

    /// Errors print what the user typed with its control characters escaped: an ESC (which would
    /// drive the terminal) or a line break (which would forge a line) never reaches stderr raw.
    @Test(arguments: [
        ["policy", "info", "--policy", "/nonexistent/\u{1B}[31mred\nforged: line"],
        ["trace", "--dport", "\u{1B}[2J7\nforged: line"],
        [
            "dataplane", "send", "--control", "/nonexistent.sock", "--as", "system_u:system_r:echoclient_t:s0", "--port", "1",
            "--to", "\u{1B}[2J\nforged: line", "--dport", "7", "hi",
        ],
        ["trace", "--from", "system_u:system_r:\u{1B}]0;title\u{07}echoclient_t:s0\nforged: line"],
        ["scenario", "run", "/nonexistent/\u{1B}[31m.yaml\nforged: line"],
    ])
    func errorsEscapeControlCharacters(_ args: [String]) throws {
        let r = try CLITests.run(CLITests.binary, args)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(!r.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "a raw control character on stderr: \(r.stderr.debugDescription)")
        #expect(!r.stderr.split(separator: "\n").contains { $0.hasPrefix("forged: line") }, "a line break from the input reached stderr raw: \(r.stderr)")
        // Where the input is echoed, it is echoed escaped.
        if r.stderr.contains("forged: line") {
            #expect(r.stderr.contains("\\u{1B}") && r.stderr.contains("\\nforged: line"), "\(r.stderr.debugDescription)")
        }
    }

    // MARK: - Help text of every command

    /// One command of `salabel --experimental-dump-help`, with its path.
    struct Command {
        var path: [String]
        var json: [String: Any]
        var name: String { path.joined(separator: " ") }
    }

    static func commands() throws -> [Command] {
        let r = try CLITests.salabel("--experimental-dump-help")
        try #require(r.status == 0, "\(r.stderr)")
        let root = try #require(try CLITests.json(r.stdout)["command"] as? [String: Any])
        var out: [Command] = []
        func walk(_ c: [String: Any], _ path: [String]) {
            out.append(Command(path: path, json: c))
            for s in c["subcommands"] as? [[String: Any]] ?? [] {
                // ArgumentParser's own `help` command, not salabel's.
                if s["commandName"] as? String == "help" { continue }
                walk(s, path + [s["commandName"] as? String ?? "?"])
            }
        }
        walk(root, ["salabel"])
        return out
    }

    /// Every option, flag and argument of every command, hidden commands included, has help text.
    @Test func everyOptionHasHelpText() throws {
        var missing: [String] = []
        let commands = try Self.commands()
        #expect(commands.count > 20)
        for c in commands {
            for a in c.json["arguments"] as? [[String: Any]] ?? [] {
                let abstract = (a["abstract"] as? String ?? "").trimmingCharacters(in: .whitespaces)
                guard abstract.isEmpty else { continue }
                let names = (a["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                let label = names.first.map { "--\($0)" } ?? "<\(a["valueName"] as? String ?? "?")>"
                let entry = "\(c.name) \(label)"
                missing.append(entry)
            }
        }
        #expect(missing.isEmpty, "options and arguments without help text:\n  \(missing.joined(separator: "\n  "))")
    }

    /// Discussions are written as one line per paragraph (ArgumentParser wraps them to the
    /// terminal): two text lines in a row mean a paragraph hard-wrapped in the source, which
    /// ArgumentParser would wrap again. Indented lines are examples, kept as written, and fit 80
    /// columns.
    @Test func discussionsAreWrappedOnce() throws {
        var problems: [String] = []
        for c in try Self.commands() {
            guard let discussion = c.json["discussion"] as? String else { continue }
            let lines = discussion.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (a, b) in zip(lines, lines.dropFirst()) where !a.isEmpty && !b.isEmpty && !a.hasPrefix(" ") && !b.hasPrefix(" ") {
                problems.append("\(c.name): a paragraph is wrapped in the source after \"\(a.suffix(40))\"")
            }
            for line in lines where line.hasPrefix(" ") && line.count > 80 {
                problems.append("\(c.name): an example line is longer than 80 columns: \(line)")
            }
        }
        #expect(problems.isEmpty, "\n\(problems.joined(separator: "\n"))")
        // And as printed at 80 columns: no line longer than the terminal.
        let text = try runProcess(CLITests.binary, ["xfrm", "state", "--help"], environment: ["COLUMNS": "80"], standardError: .inherit).stdout
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(text)")
        #expect(text.contains("\n  salabel xfrm state add --src 10.0.0.1 --dst 10.0.0.2 --proto esp \\\n      --spi 0x100"), "\(text)")
    }
}
