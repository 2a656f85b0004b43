import ArgumentParser
import DecisionEngine
import Foundation
import IPsecModel
import SecurityContexts
import SELinuxKernel
import XfrmManager

/// Options shared by the commands that talk to the kernel's xfrm databases.
struct XfrmOptions: ParsableArguments {
    @Option(help: "Network namespace to work in: a name (/run/netns/NAME) or a path.")
    var netns: String?

    @Option(name: .customLong("as"), help: "The caller's context for the setcontext checks (default: the process's own context on an SELinux system, else the embedded policy's key manager, system_u:system_r:ipsec_mgmt_t:s0).")
    var subject: String?

    @Option(help: "The policy the setcontext checks are made with (default: the embedded policy).")
    var policy: String?

    @Flag(help: "Skip the decision engine's setcontext checks (the kernel still makes its own).")
    var noAuthorize = false

    @Flag(help: "JSON output.")
    var json = false

    @Flag(help: "Show keys in listings (they are redacted by default).")
    var showKeys = false

    /// The manager over the kernel of the chosen namespace.
    func manager() throws -> XfrmManager {
        let subjectContext: SecurityContext
        if let subject {
            do { subjectContext = try SecurityContext(parsing: subject) } catch { throw ValidationError("--as: \(error)") }
        } else if let own = KernelBackend.currentContext() {
            subjectContext = own
        } else {
            subjectContext = try! SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")
        }
        var authorizer: AssociationAuthorizer?
        if !noAuthorize {
            let server: SecurityServer
            do {
                server = try policy.map { try SecurityServer.load(path: $0) } ?? SecurityServer.embedded()
            } catch {
                printError("error: \(error)")
                throw ExitCode(Status.error)
            }
            authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: server))
        }
        let kernel: NetlinkXfrmKernel
        do { kernel = try NetlinkXfrmKernel(netns: netns) } catch {
            printError("error: \(error)")
            throw ExitCode(Status.error)
        }
        let me = AuditSubject(pid: ProcessInfo.processInfo.processIdentifier, comm: "salabel")
        return XfrmManager(kernel: kernel, authorizer: authorizer, subject: subjectContext, auditSubject: me)
    }
}

/// `salabel xfrm …`: labeled SAs and SPD entries in the kernel, in ip xfrm's words.
struct XfrmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xfrm",
        abstract: "Manage labeled SAs (state) and SPD entries (policy) through netlink, like ip xfrm.",
        discussion: """
            Before anything labeled is added, changed or removed, the decision engine checks that the caller (--as) may association setcontext on the label; a denial changes nothing and prints the AVC record.

            Exit status: 0 done, 1 refused (by the engine or the kernel), 2 bad input.
            """,
        subcommands: [State.self, Policy.self, Batch.self, Monitor.self])

    /// Runs one operation and prints its outcome.
    static func run(_ op: XfrmOperation, options: XfrmOptions) throws {
        let manager = try options.manager()
        do {
            let (result, auths) = try manager.perform(op)
            for a in auths where a.record != nil && !options.json { print(a.record!.description) }
            let out = render(result, options: options)
            if !out.isEmpty { print(out) }
        } catch {
            report(error, json: options.json)
            throw ExitCode(Status.denied)
        }
    }

    static func render(_ result: XfrmResult, options: XfrmOptions) -> String {
        switch result {
        case .done: return options.json ? jsonText(["ok": true]) : ""
        case .sa(let sa): return options.json ? jsonText(XfrmFormatter.json(sa, showKeys: options.showKeys)) : XfrmFormatter.text(sa, showKeys: options.showKeys)
        case .sas(let list):
            return options.json ? jsonText(list.map { XfrmFormatter.json($0, showKeys: options.showKeys) })
                : list.map { XfrmFormatter.text($0, showKeys: options.showKeys) }.joined(separator: "\n")
        case .policy(let p): return options.json ? jsonText(XfrmFormatter.json(p)) : XfrmFormatter.text(p)
        case .policies(let list): return options.json ? jsonText(list.map { XfrmFormatter.json($0) }) : list.map { XfrmFormatter.text($0) }.joined(separator: "\n")
        }
    }

    static func report(_ error: XfrmManagerError, json: Bool) {
        if json {
            print(jsonText(["error": error.description, "avc": error.records.map(\.description)]))
        } else {
            printError("error: \(error)")
            for r in error.records { printError(r.description) }
        }
    }

    /// Parses words (flags already turned into words) into an operation, or fails with exit 2.
    static func operation(_ words: [String]) throws -> XfrmOperation {
        do { return try IPXfrmSyntax.parse(words: words) } catch {
            printError("error: \(error.message)")
            throw ExitCode(Status.error)
        }
    }
}

extension XfrmCommand {
    struct State: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "SAs: add, update, delete, get, list, flush, allocspi, deleteall.",
            discussion: """
                Flags and ip xfrm words can be mixed: the words after the flags are read as ip xfrm state words.

                  salabel xfrm state add --src 10.0.0.1 --dst 10.0.0.2 --proto esp \\
                      --spi 0x100 --mode transport --aead 'rfc4106(gcm(aes))' \\
                      --key @keyfile --icv 128 --context CTX --netns NAME
                  salabel xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 \\
                      aead 'rfc4106(gcm(aes))' 0x… 128 ctx CTX

                A key is hex (0x…), or @FILE to read the hex from a file (keeps it off the command line).
                """)

        @OptionGroup var options: XfrmOptions
        @Argument(help: "add | update | delete | get | list | flush | allocspi | deleteall") var verb: String
        @Option var src: String?
        @Option var dst: String?
        @Option var proto: String?
        @Option var spi: String?
        @Option var mode: String?
        @Option var reqid: String?
        @Option(name: .customLong("replay-window")) var replayWindow: String?
        @Option(help: "AEAD algorithm, e.g. rfc4106(gcm(aes)).") var aead: String?
        @Option(help: "Encryption algorithm, e.g. cbc(aes).") var enc: String?
        @Option(help: "Authentication algorithm (truncated), e.g. hmac(sha256).") var auth: String?
        @Option(help: "Key of --aead or --enc: hex, or @FILE.") var key: String?
        @Option(name: .customLong("auth-key"), help: "Key of --auth: hex, or @FILE.") var authKey: String?
        @Option(help: "AEAD ICV length in bits.") var icv: String?
        @Option(help: "Authentication truncation in bits.") var trunc: String?
        @Option(help: "The SA's security context.") var context: String?
        @Option var mark: String?
        @Option(name: .customLong("if-id")) var ifID: String?
        @Argument(parsing: .allUnrecognized, help: "More ip xfrm state words.") var words: [String] = []

        func validate() throws {
            if (aead != nil || enc != nil) && key == nil { throw ValidationError("--aead and --enc need --key") }
            if auth != nil && authKey == nil { throw ValidationError("--auth needs --auth-key") }
        }

        func run() throws {
            var w = ["state", verb]
            for (word, value) in [("src", src), ("dst", dst), ("proto", proto), ("spi", spi), ("mode", mode), ("reqid", reqid),
                                  ("replay-window", replayWindow), ("mark", mark), ("if_id", ifID)] {
                if let value { w += [word, value] }
            }
            if let aead { w += ["aead", aead, try readKey(key!), icv ?? "128"] }
            if let enc { w += ["enc", enc, try readKey(key!)] }
            if let auth { w += ["auth-trunc", auth, try readKey(authKey!), trunc ?? "128"] }
            if let context { w += ["ctx", context] }
            try XfrmCommand.run(try XfrmCommand.operation(w + words), options: options)
        }
    }

    struct Policy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "SPD entries: add, update, delete, get, list, flush, deleteall.",
            discussion: """
                  salabel xfrm policy add --src 10.0.0.1/32 --dst 10.0.0.2/32 --dir out \\
                      --context CTX --tmpl-src 10.0.0.1 --tmpl-dst 10.0.0.2 \\
                      --tmpl-proto esp --tmpl-mode transport

                An outbound labeled template carries no SPI: the SA is chosen by its label.
                """)

        @OptionGroup var options: XfrmOptions
        @Argument(help: "add | update | delete | get | list | flush | deleteall") var verb: String
        @Option(help: "Selector source prefix.") var src: String?
        @Option(help: "Selector destination prefix.") var dst: String?
        @Option(help: "Selector upper-layer protocol (tcp, udp, …).") var proto: String?
        @Option var sport: String?
        @Option var dport: String?
        @Option var dir: String?
        @Option var priority: String?
        @Option var index: String?
        @Option(help: "The SPD entry's security context.") var context: String?
        @Option(name: .customLong("tmpl-src")) var tmplSrc: String?
        @Option(name: .customLong("tmpl-dst")) var tmplDst: String?
        @Option(name: .customLong("tmpl-proto")) var tmplProto: String?
        @Option(name: .customLong("tmpl-mode")) var tmplMode: String?
        @Option(name: .customLong("tmpl-reqid")) var tmplReqid: String?
        @Argument(parsing: .allUnrecognized, help: "More ip xfrm policy words.") var words: [String] = []

        func run() throws {
            var w = ["policy", verb]
            for (word, value) in [("src", src), ("dst", dst), ("proto", proto), ("sport", sport), ("dport", dport),
                                  ("dir", dir), ("priority", priority), ("index", index)] {
                if let value { w += [word, value] }
            }
            if let context { w += ["ctx", context] }
            if tmplSrc != nil || tmplDst != nil || tmplProto != nil || tmplMode != nil || tmplReqid != nil {
                w.append("tmpl")
                for (word, value) in [("src", tmplSrc), ("dst", tmplDst), ("proto", tmplProto), ("mode", tmplMode), ("reqid", tmplReqid)] {
                    if let value { w += [word, value] }
                }
            }
            try XfrmCommand.run(try XfrmCommand.operation(w + words), options: options)
        }
    }

    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "batch",
            abstract: "Run a file of ip xfrm commands (state add …, policy add …, state flush, …), like ip -batch.",
            discussion: "The whole file is parsed first; a syntax error runs nothing. Commands then run in order; the first failure stops the run.")

        @OptionGroup var options: XfrmOptions
        @Argument(help: "The batch file ('-' for standard input).") var file: String

        func run() throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else {
                    printError("error: cannot read \(file)")
                    throw ExitCode(Status.error)
                }
                text = String(decoding: data, as: UTF8.self)
            }
            let ops: [XfrmOperation]
            do { ops = try IPXfrmSyntax.parse(batch: text) } catch {
                printError("error: \(file): \(error)")
                throw ExitCode(Status.error)
            }
            let manager = try options.manager()
            try XfrmCommand.runBatch(ops, manager: manager, options: options)
        }
    }
}

extension XfrmCommand {
    /// Whether an operation can travel in a netlink batch: adds and updates, whose setcontext check
    /// needs no lookup in the kernel.
    static func batchable(_ op: XfrmOperation) -> Bool {
        switch op {
        case .addSA, .updateSA, .addPolicy, .updatePolicy: return true
        default: return false
        }
    }

    /// Runs a batch file's operations with as few round trips as the kernel allows: each run of
    /// consecutive adds/updates is authorized whole, then sent as netlink batches (the kernel answers
    /// each request); other operations run one at a time. The first failure stops the file; within a
    /// run already sent, every request's answer is reported (the kernel carried out the others).
    static func runBatch(_ ops: [XfrmOperation], manager: XfrmManager, options: XfrmOptions) throws {
        var i = 0
        var done = 0
        while i < ops.count {
            var j = i
            while j < ops.count && batchable(ops[j]) { j += 1 }
            if j > i, let kernel = manager.kernel as? NetlinkXfrmKernel {
                let run = Array(ops[i..<j])
                for (k, op) in run.enumerated() {
                    do { _ = try manager.authorize(op) } catch {
                        printError("error: command \(i + k + 1) of \(ops.count) (nothing of lines \(i + 1)–\(j) was sent):")
                        report(error, json: options.json)
                        throw ExitCode(Status.denied)
                    }
                }
                var failed = false
                for (k, result) in kernel.performBatch(run).enumerated() {
                    if case .failure(let e) = result {
                        printError("error: command \(i + k + 1) of \(ops.count):")
                        report(.kernel(e, authorizations: []), json: options.json)
                        failed = true
                    } else {
                        done += 1
                    }
                }
                if failed { throw ExitCode(Status.denied) }
                i = j
                continue
            }
            do {
                let (result, _) = try manager.perform(ops[i])
                let out = render(result, options: options)
                if !out.isEmpty { print(out) }
                done += 1
            } catch {
                printError("error: command \(i + 1) of \(ops.count):")
                report(error, json: options.json)
                throw ExitCode(Status.denied)
            }
            i += 1
        }
        if !options.json { printError("\(done) command(s) done") }
    }
}

/// Reads a key given as hex or `@FILE` (whose content is the hex).
func readKey(_ spec: String) throws -> String {
    guard spec.hasPrefix("@") else {
        guard KeyMaterial(hex: spec) != nil, spec.hasPrefix("0x") else { throw ValidationError("a key is hex starting with 0x, or @FILE") }
        return spec
    }
    let path = String(spec.dropFirst())
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the key file \(path)") }
    var text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if !text.hasPrefix("0x") { text = "0x" + text }
    guard KeyMaterial(hex: text) != nil else { throw ValidationError("\(path) does not hold a hex key") }
    return text
}

extension XfrmCommand {
    struct Monitor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the kernel's xfrm notifications as they arrive: ACQUIRE (with the flow's label), EXPIRE, POLEXPIRE, SA and policy changes.",
            discussion: "A receive-queue overflow is reported, and the tables are dumped afresh, never silently ignored. --json prints one object per line.")

        @Option(help: "Network namespace: a name or a path.") var netns: String?
        @Flag(help: "JSON lines.") var json = false
        @Flag(help: "Show keys of SAs (redacted by default).") var showKeys = false
        @Option(help: "Stop after this many events.") var count: Int?

        func run() throws {
            let monitor: XfrmMonitor
            do { monitor = try XfrmMonitor(netns: netns) } catch {
                printError("error: \(error)")
                throw ExitCode(Status.error)
            }
            var seen = 0
            do {
                try monitor.run { event in
                    // Unbuffered, so each event shows up as it arrives even through a pipe.
                    let line = (json ? jsonText(event.json(showKeys: showKeys)) : event.text(showKeys: showKeys)) + "\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                    seen += 1
                    return count.map { seen < $0 } ?? true
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode(Status.error)
            }
        }
    }
}
