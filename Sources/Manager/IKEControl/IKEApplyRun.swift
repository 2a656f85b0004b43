public import IKEConfig

/// `salabel apply` for the associations keyed by IKE on one host: salabel's libreswan files written
/// whole (or removed), then loaded into pluto through its control commands (Specs/manager/apply.md,
/// "Associations keyed by IKE"). Planning reads the current files; only ``execute(_:)`` writes and
/// runs commands.
public struct IKEApplyRun: Sendable {
    public var files: LibreswanFiles
    public var control: LibreswanControl
    /// False to write the files without loading them (`--no-load`).
    public var load: Bool

    public init(files: LibreswanFiles = LibreswanFiles(), control: LibreswanControl = LibreswanControl(), load: Bool = true) {
        self.files = files
        self.control = control
        self.load = load
    }

    /// What an apply (or a removal) changes.
    public struct Plan: Sendable, Hashable {
        /// The configuration to write; nil for a removal.
        public var configuration: LibreswanConfiguration?
        /// The conns file's new text (none for a removal).
        public var confText: String?
        /// Whether the files change at all (false: nothing to do).
        public var changesFiles: Bool
        /// Conns to load anew, conns whose text changed (deleted then loaded), conns to delete.
        public var added: [LibreswanConnName]
        public var changed: [LibreswanConnName]
        public var removed: [LibreswanConnName]

        /// The secrets file's text with every key censored (what a dry run prints).
        public var censoredSecretsText: String? { configuration?.secretsText(censored: true) }
    }

    /// The plan that brings salabel's files to `configuration`, after libreswan's proposal parser has
    /// accepted each conn's `esp=`.
    public func plan(_ configuration: LibreswanConfiguration) throws(IKEControlError) -> Plan {
        let conf: String
        do { conf = try configuration.confText() } catch { throw .config(error) }
        for conn in configuration.conns {
            if let esp = conn.esp, let why = control.proposalError(esp: esp) { throw .proposal(conn: conn.name, esp: esp, why: why) }
        }
        let oldConf = try files.read(files.confPath)
        var oldSecrets = try files.read(files.secretsPath)
        defer { if oldSecrets != nil { for i in oldSecrets!.indices { oldSecrets![i] = 0 } } }
        var secrets = Array(configuration.secretsText(censored: false).utf8)
        defer { for i in secrets.indices { secrets[i] = 0 } }
        let same = oldConf == Array(conf.utf8) && oldSecrets == secrets
        let before = LibreswanConfiguration.conns(inWritten: oldConf.map { String(decoding: $0, as: UTF8.self) } ?? "")
        let after = LibreswanConfiguration.conns(inWritten: conf)
        // A changed secret reaches pluto by --rereadsecrets alone; a conn is reloaded only when its text changed.
        return Plan(
            configuration: configuration, confText: conf, changesFiles: !same,
            added: after.keys.filter { before[$0] == nil }.sorted(),
            changed: after.keys.filter { before[$0] != nil && before[$0] != after[$0] }.sorted(),
            removed: before.keys.filter { after[$0] == nil }.sorted())
    }

    /// The plan that takes salabel's files and conns away (`--remove`).
    public func removalPlan() throws(IKEControlError) -> Plan {
        let oldConf = try files.read(files.confPath)
        let hadSecrets = try files.read(files.secretsPath) != nil
        let before = LibreswanConfiguration.conns(inWritten: oldConf.map { String(decoding: $0, as: UTF8.self) } ?? "")
        return Plan(
            configuration: nil, confText: nil, changesFiles: oldConf != nil || hadSecrets, added: [], changed: [], removed: before.keys.sorted())
    }

    /// How the loading went.
    public enum Loading: Sendable, Hashable {
        /// Each command run, in order (all succeeded, except `--delete`s of conns pluto did not have).
        case loaded([LibreswanControl.Step])
        /// Not loaded, and why (`--no-load`, or pluto not running).
        case skipped(String)
    }

    /// What ``execute(_:)`` did.
    public struct Outcome: Sendable, Hashable {
        public var plan: Plan
        public var loading: Loading
    }

    /// Writes (or removes) the files, then loads the change into pluto when it runs:
    /// `--rereadsecrets`, `--delete` of removed and changed conns, `--add` (with salabel's conns file)
    /// of added and changed ones, `--route` of those with `auto=ondemand`, `route` or `start`, and
    /// `--asynchronous --up` of those with `auto=start` (the IKE SA is brought up in the background:
    /// a peer that does not answer yet is pluto's to retry, not a failed apply).
    /// - Throws: a file that cannot be written (the old files then stand) or a control command that
    ///   failed (the files are written; the step says what pluto answered).
    public func execute(_ plan: Plan) throws(IKEControlError) -> Outcome {
        guard plan.changesFiles else { return Outcome(plan: plan, loading: .skipped("nothing changed")) }
        if let configuration = plan.configuration, let conf = plan.confText {
            let oldConf = try files.read(files.confPath)
            var secrets = Array(configuration.secretsText(censored: false).utf8)
            defer { for i in secrets.indices { secrets[i] = 0 } }
            try files.write(conf: Array(conf.utf8), secrets: secrets, oldConf: oldConf)
        }
        let skip: String? =
            !load
            ? "--no-load: pluto was not told"
            : control.plutoRunning ? nil : "pluto is not running (no \(control.controlSocket)): it reads the files when it starts"
        if let skip {
            if plan.configuration == nil { try files.remove() }
            return Outcome(plan: plan, loading: .skipped(skip))
        }
        var steps: [LibreswanControl.Step] = []
        // Removal: conns deleted while the files still name them, then the files.
        for name in plan.removed + plan.changed { steps.append(control.run(["--delete", name.text])) }
        if plan.configuration == nil { try files.remove() }
        let reread = control.run(["--rereadsecrets"])
        steps.append(reread)
        guard reread.succeeded else { throw .load(reread) }
        let conns = plan.configuration?.conns ?? []
        let routed = Set(conns.filter { $0.auto.routes }.map(\.name))
        let initiated = Set(conns.filter { $0.auto.initiates }.map(\.name))
        for name in plan.added + plan.changed {
            let add = control.run(["--config", files.confPath, "--add", name.text])
            steps.append(add)
            guard add.succeeded else { throw .load(add) }
            if routed.contains(name) {
                let route = control.run(["--route", name.text])
                steps.append(route)
                guard route.succeeded else { throw .load(route) }
            }
            if initiated.contains(name) {
                let up = control.run(["--asynchronous", "--up", name.text])
                steps.append(up)
                guard up.succeeded else { throw .load(up) }
            }
        }
        return Outcome(plan: plan, loading: .loaded(steps))
    }
}
