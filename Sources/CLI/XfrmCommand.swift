import ArgumentParser
import DecisionEngine
import Foundation
import IPsecModel
import SecurityContexts
import SELinuxKernel
import XfrmManager
import XfrmNetlink

/// Options shared by the commands that talk to the kernel's xfrm databases.
struct XfrmOptions: ParsableArguments {
    @Option(help: "Network namespace to work in: a name (/run/netns/NAME) or a path.")
    var netns: String?

    @Option(
        name: .customLong("as"),
        help:
            "The caller's context for the setcontext checks (default: the process's own context on an SELinux system, else the embedded policy's key manager, system_u:system_r:ipsec_mgmt_t:s0)."
    )
    var subject: String?

    @Option(
        help: ArgumentHelp(
            "The policy the setcontext checks are made with: a file (policy.conf or binary), running (the kernel's loaded policy, /sys/fs/selinux/policy) or embedded (default: the running policy where SELinux is enabled, else the embedded one, loaded when a label is checked).",
            valueName: "FILE|running|embedded"))
    var policy: String?

    @Flag(help: "Skip the decision engine's setcontext checks (the kernel still makes its own).")
    var noAuthorize = false

    @Flag(help: "JSON output.")
    var json = false

    @Flag(help: "Show keys in listings (they are redacted by default).")
    var showKeys = false

    /// The manager over the kernel of the chosen namespace (`netnsFromOption`: whether --netns named
    /// it, for the error message; `context`: what a failure is about, e.g. the apply file's host),
    /// and the policy its checks are made with once loaded.
    func manager(netnsFromOption: Bool = true, context: String? = nil) throws -> (XfrmManager, LivePolicy) {
        var settings: LiveManagerSettings
        if let subject {
            do { settings = LiveManagerSettings(subject: try SecurityContext(parsing: subject)) } catch { throw ValidationError("--as: \(error)") }
        } else {
            settings = LiveManagerSettings(subject: KernelBackend.currentContext() ?? (try! SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")))
        }
        settings.netns = netns
        settings.netnsFromOption = netnsFromOption
        settings.policy = policy.map(PolicyOrigin.init(option:))
        settings.authorize = !noAuthorize
        let livePolicy = LivePolicy()
        do {
            let manager = try XfrmManager.live(
                settings, auditSubject: AuditSubject(pid: ProcessInfo.processInfo.processIdentifier, comm: "salabel"), policy: livePolicy)
            return (manager, livePolicy)
        } catch {
            throw CommandFailure.error((context.map { "\($0): " } ?? "") + error.description)
        }
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

    /// Runs one operation and prints its outcome; a policy listing in text is written as the
    /// kernel's dump is read (``XfrmManager/policyText(matching:partSize:)``).
    static func run(_ op: XfrmOperation, options: XfrmOptions) throws {
        let (manager, policy) = try options.manager()
        do {
            if case .listPolicies(let filter) = op, !options.json {
                let parts = try manager.policyText(matching: filter)
                flushOutput()  // after what `print` has buffered; a closed standard output ends the listing quietly
                for part in parts { try? FileHandle.standardOutput.write(contentsOf: Data(part)) }
                return
            }
            let (result, auths) = try manager.perform(op)
            printPolicyLine(policy, options: options)
            for a in auths where a.record != nil && !options.json { print(a.record!.description) }
            let out = render(result, options: options)
            if !out.isEmpty { print(out) }
        } catch {
            printPolicyLine(policy, options: options)
            throw failure(error, json: options.json, policy: policy)
        }
    }

    /// `policy: …`, the policy the engine decided with, when it decided (text output only).
    static func printPolicyLine(_ policy: LivePolicy, options: XfrmOptions) {
        if !options.json, let loaded = policy.loaded { print("policy: \(loaded)") }
    }

    /// A JSON report (a refusal, a batch's summary; never an SA or SPD entry, whose own fields these
    /// are) with a `policy` field when the engine decided with a loaded policy.
    static func withPolicy(_ json: Any, _ policy: LivePolicy) -> Any {
        guard let loaded = policy.loaded, let object = json as? [String: Any] else { return json }
        return object.merging(["policy": loaded.json]) { _, new in new }
    }

    /// A result as the command prints it: text in `ip xfrm` layout, or JSON.
    static func render(_ result: XfrmResult, options: XfrmOptions) -> String {
        options.json ? jsonText(XfrmFormatter.json(result, showKeys: options.showKeys)) : XfrmFormatter.text(result, showKeys: options.showKeys)
    }

    /// The manager's refusal, status 1: `error: …` and the AVC records, or with --json the error
    /// as JSON on standard output.
    static func failure(_ error: XfrmManagerError, json: Bool, policy: LivePolicy = LivePolicy()) -> CommandFailure {
        json
            ? CommandFailure(status: Status.denied, output: jsonText(withPolicy(XfrmFormatter.json(error), policy)))
            : .denied("\(error)", records: error.records.map(\.description))
    }

    /// Parses words (flags already turned into words) into an operation, or fails with exit 2.
    static func operation(_ words: [String]) throws -> XfrmOperation {
        do { return try IPXfrmSyntax.parse(words: words) } catch {
            throw CommandFailure.error("\(error.message)")
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
                      aead 'rfc4106(gcm(aes))' @keyfile 128 ctx CTX

                A key (--key, --auth-key, or the key word after an algorithm name) is 0x… hex, @FILE (the hex in a file of mode 0600 or stricter) or - (the hex on standard input). A key written on the command line is visible to other users (ps, /proc/PID/cmdline): prefer @FILE or -.
                """)

        @OptionGroup var options: XfrmOptions
        @Argument(help: "add | update | delete | get | list | flush | allocspi | deleteall") var verb: String
        @Option(help: "The SA's source address.") var src: String?
        @Option(help: "The SA's destination address (with --spi and --proto, the SA's key).") var dst: String?
        @Option(help: "IPsec protocol: esp, ah or comp.") var proto: String?
        @Option(help: "Security Parameter Index, decimal or 0x hex.") var spi: String?
        @Option(help: "transport, tunnel or beet (default transport).") var mode: String?
        @Option(help: "Request ID linking the SA to SPD templates with the same reqid.") var reqid: String?
        @Option(name: .customLong("replay-window"), help: "Anti-replay window size in packets.") var replayWindow: String?
        @Option(help: "AEAD algorithm, e.g. rfc4106(gcm(aes)).") var aead: String?
        @Option(help: "Encryption algorithm, e.g. cbc(aes).") var enc: String?
        @Option(help: "Authentication algorithm (truncated), e.g. hmac(sha256).") var auth: String?
        @Option(help: "Key of --aead or --enc: 0x… hex (visible to other users in ps), @FILE (mode 0600) or - (standard input).") var key: String?
        @Option(name: .customLong("auth-key"), help: "Key of --auth: 0x… hex (visible to other users in ps), @FILE (mode 0600) or - (standard input).")
        var authKey: String?
        @Option(help: "AEAD ICV length in bits.") var icv: String?
        @Option(help: "Authentication truncation in bits.") var trunc: String?
        @Option(help: "The SA's security context.") var context: String?
        @Option(help: "Firewall mark the SA applies to: VALUE or VALUE/MASK.") var mark: String?
        @Option(name: .customLong("if-id"), help: "XFRM interface ID the SA is bound to.") var ifID: String?
        @Argument(parsing: .allUnrecognized, help: "More ip xfrm state words.") var words: [String] = []

        func validate() throws {
            if (aead != nil || enc != nil) && key == nil { throw ValidationError("--aead and --enc need --key") }
            if auth != nil && authKey == nil { throw ValidationError("--auth needs --auth-key") }
        }

        func run() throws {
            if key == "-" && authKey == "-" { throw ValidationError("--key and --auth-key cannot both read standard input") }
            let flags = IPXfrmStateOptions(
                src: src, dst: dst, proto: proto, spi: spi, mode: mode, reqid: reqid, replayWindow: replayWindow, mark: mark, ifID: ifID, aead: aead,
                enc: enc, auth: auth, key: key, authKey: authKey, icv: icv, trunc: trunc, context: context)
            let w = try KeyInput.exitingOnFailure { () throws(KeyArgument.Failure) in try flags.words(verb: verb) + KeyArgument.resolvingKeyWords(words) }
            try XfrmCommand.run(try XfrmCommand.operation(w), options: options)
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
        @Option(help: "Selector source port (with --proto tcp, udp, sctp or dccp).") var sport: String?
        @Option(help: "Selector destination port (with --proto tcp, udp, sctp or dccp).") var dport: String?
        @Option(help: "Direction: in, out or fwd.") var dir: String?
        @Option(help: "Priority: a lower value is looked up first.") var priority: String?
        @Option(help: "The entry's index, as the kernel assigned it (get and delete by index).") var index: String?
        @Option(help: "The SPD entry's security context.") var context: String?
        @Option(name: .customLong("tmpl-src"), help: "Template: the SA's source address (tunnel mode; any in transport mode).") var tmplSrc: String?
        @Option(name: .customLong("tmpl-dst"), help: "Template: the SA's destination address.") var tmplDst: String?
        @Option(name: .customLong("tmpl-proto"), help: "Template: IPsec protocol of the SA, esp, ah or comp.") var tmplProto: String?
        @Option(name: .customLong("tmpl-mode"), help: "Template: transport, tunnel or beet.") var tmplMode: String?
        @Option(name: .customLong("tmpl-reqid"), help: "Template: the reqid an SA must carry to be used.") var tmplReqid: String?
        @Argument(parsing: .allUnrecognized, help: "More ip xfrm policy words.") var words: [String] = []

        func run() throws {
            let flags = IPXfrmPolicyOptions(
                src: src, dst: dst, proto: proto, sport: sport, dport: dport, dir: dir, priority: priority, index: index, context: context,
                tmplSrc: tmplSrc, tmplDst: tmplDst, tmplProto: tmplProto, tmplMode: tmplMode, tmplReqid: tmplReqid)
            try XfrmCommand.run(try XfrmCommand.operation(flags.words(verb: verb) + words), options: options)
        }
    }

    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "batch",
            abstract: "Run a file of ip xfrm commands (state add …, policy add …, state flush, …), like ip -batch.",
            discussion: """
                The whole file is parsed first; a syntax error runs nothing. The commands then run as one transaction, as apply does: if one fails (refused by the engine or by the kernel), the SAD and SPD are put back as they were before the first command (from a dump taken first when the file removes or replaces anything) and the run says so. With --continue every command is tried, as ip -force -batch does, and the ones that succeeded stay. Either way the run ends by saying how many commands took effect.

                Runs of adds and updates are sent as netlink batches (many requests per datagram) after the engine has authorized every label they set.

                Exit status: 0 every command took effect, 1 a command was refused (nothing changed unless --continue), 2 bad input.
                """)

        @OptionGroup var options: XfrmOptions
        @Flag(
            name: .customLong("continue"),
            help: "Go on after a failed command and keep what succeeded (ip -force -batch), instead of restoring the state before the file.")
        var keepGoing = false
        @Argument(help: "The batch file ('-' for standard input).") var file: String

        func run() throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CommandFailure.error("cannot read \(file)")
                }
                text = String(decoding: data, as: UTF8.self)
            }
            var batch: XfrmBatch
            do { batch = try IPXfrmSyntax.batch(text) } catch {
                throw CommandFailure.error("\(file): \(error)")
            }
            let (manager, policy) = try options.manager()
            batch.mode = keepGoing ? .continueOnError : .transaction
            let report = batch.run(with: manager)
            XfrmCommand.printPolicyLine(policy, options: options)
            try XfrmCommand.printBatch(report, options: options, policy: policy)
        }
    }
}

extension XfrmCommand {
    /// Prints a batch's outcome: the answers of gets and lists, every failure with its command and
    /// line, the rollback, and how many commands took effect.
    static func printBatch(_ outcome: XfrmBatchReport, options: XfrmOptions, policy: LivePolicy) throws {
        for (_, result) in outcome.answers {
            let out = render(result, options: options)
            if !out.isEmpty { Swift.print(out) }
        }
        for f in outcome.failures {
            printError("error: " + XfrmFormatter.heading(f, total: outcome.total))
            failure(f.error, json: options.json).write()
        }
        if options.json { Swift.print(jsonText(withPolicy(XfrmFormatter.json(outcome), policy))) } else { printError(XfrmFormatter.summary(outcome)) }
        if !outcome.succeeded { throw CommandFailure.exit(Status.denied) }
    }
}

extension XfrmCommand {
    struct Monitor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "monitor",
            abstract: "Print the kernel's xfrm notifications as they arrive: ACQUIRE (with the flow's label), EXPIRE, POLEXPIRE, SA and policy changes.",
            discussion: "A receive-queue overflow is reported, and the tables are dumped afresh, never silently ignored. --json prints one object per line.")

        @Option(help: "Network namespace: a name or a path.") var netns: String?
        @Flag(help: "JSON lines.") var json = false
        @Flag(help: "Show keys of SAs (redacted by default).") var showKeys = false
        @Option(help: "Stop after this many events.") var count: Int?

        func run() throws {
            if let netns, let why = XfrmManager.missingNamespace(netns, fromOption: true) {
                throw CommandFailure.error("\(why)")
            }
            let monitor: XfrmMonitor
            do { monitor = try XfrmMonitor(netns: netns) } catch {
                throw CommandFailure.error("\(error)")
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
                throw CommandFailure.error("\(error)")
            }
        }
    }
}
