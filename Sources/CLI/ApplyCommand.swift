import ArgumentParser
import ESPCrypto
import IKEConfig
import IPsecModel
import XfrmManager
import XfrmNetlink

/// Random bytes from OpenSSL's RNG (`RAND_bytes`), for keys.
func opensslRandom(_ count: Int) throws -> [UInt8] {
    try SecureBytes.random(count: count).withUnsafeBytes { Array($0) }
}

/// The apply file at `path` (exit 2 with the error when it cannot be read).
func loadApplyFile(_ path: String) throws -> ApplyFile {
    do { return try ApplyFile.read(from: path) } catch {
        throw CommandFailure.error("\(error)")
    }
}

/// `salabel keygen FILE`: fresh keys for an apply file's associations.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write the key file of an apply file (mode 0600) with fresh keys from OpenSSL's RNG.",
        discussion:
            "Keys already in the key file are kept unless --force; an association keyed by IKE (pre-shared key) gets a 256-bit PSK. Copy the key file to the peer host; it is secret."
    )

    @Argument(help: "The apply file.") var file: String
    @Flag(help: "Replace every key.") var force = false

    func run() throws {
        let apply = try loadApplyFile(file)
        let path = apply.keyFilePath(relativeTo: file)
        do {
            let keys = try KeyFile.writeFresh(for: apply, at: path, keepingExisting: !force, random: opensslRandom)
            print("wrote keys for \(keys.keys.count + keys.psks.count) association(s) to \(path) (mode 0600)")
        } catch {
            throw CommandFailure.error("\(error)")
        }
    }
}

/// `salabel apply FILE --host NAME`: install one host's half of an apply file, transactionally.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Install (or remove) one host's labeled SAs and SPD entries from an apply file, as one transaction.",
        discussion: """
            Applying the same file twice changes nothing; a failure rolls back what was installed. Keys come from the file's key file (written first, mode 0600, if missing). Associations with keying: ike are libreswan's: their conns and pre-shared keys are written to salabel.conf and salabel.secrets (mode 0600) in --ike-dir and loaded into pluto. Specs/manager/apply.md describes the file.

            Exit status: 0 applied (or nothing to change), 1 refused or rolled back, 2 bad input.
            """)

    @Argument(help: "The apply file (YAML).") var file: String
    @Option(help: "The host whose half to install.") var host: String
    @Flag(help: "Make every check the real run makes before the kernel (same exit status), then print the steps without sending anything.") var dryRun = false
    @Flag(help: "Take the host's half away instead.") var remove = false
    @OptionGroup var options: XfrmOptions
    @OptionGroup var ike: IKEApplyOptions

    func run() throws {
        let apply = try loadApplyFile(file)
        let path = apply.keyFilePath(relativeTo: file)
        let keys: KeyFile
        do {
            let found = try KeyFile.forApply(apply, at: path, write: !dryRun, random: opensslRandom)
            keys = found.keys
            if found.fresh {
                print(dryRun ? "(no key file: fresh keys would be written to \(path))" : "wrote fresh keys to \(path) (mode 0600); copy it to the other hosts")
            }
        } catch {
            throw CommandFailure.error("\(error)")
        }
        let desired: (sas: [SecurityAssociation], policies: [PolicyEntry])
        let libreswan: LibreswanConfiguration
        do {
            desired = try ApplyPlanner.desired(apply, host: host, keys: keys)
            libreswan = try LibreswanConfiguration.forHost(apply, host: host, psks: keys.psks)
        } catch {
            throw CommandFailure.error("\(error)")
        }
        // The engine's checks of the labels the IKE daemon will install come before anything is changed.
        if !libreswan.conns.isEmpty && !remove && !options.noAuthorize { try ike.checkLabels(apply, host: host, options: options) }
        if !desired.sas.isEmpty { try applyStatic(apply, desired: desired) }
        if !libreswan.conns.isEmpty { try ike.run(libreswan, host: host, remove: remove, dryRun: dryRun) }
    }

    /// The associations salabel keys itself: SAs and SPD entries through netlink, as one transaction.
    private func applyStatic(_ apply: ApplyFile, desired: (sas: [SecurityAssociation], policies: [PolicyEntry])) throws {
        var opts = options
        if opts.netns == nil { opts.netns = apply.hosts[host]?.netns }
        // A dry run plans against the namespace's current SAD and SPD, so it needs the namespace as
        // much as the real run does, and fails the same way (Specs/manager/apply.md).
        let (manager, policy) = try opts.manager(netnsFromOption: options.netns != nil, context: host)
        let run = ApplyRun(manager: manager, desired: desired, remove: remove)
        let steps: [ApplyStep]
        do { steps = try run.steps() } catch {
            throw CommandFailure.denied("cannot read the kernel's state: \(error)")
        }
        if steps.isEmpty {
            print("\(host): nothing to change")
            return
        }
        if dryRun {
            do {
                let lines = try run.dryRun(steps).lines(showKeys: options.showKeys)
                XfrmCommand.printPolicyLine(policy, options: options)
                print(lines.joined(separator: "\n"))
            } catch {
                XfrmCommand.printPolicyLine(policy, options: options)
                throw CommandFailure.denied("\(host): \(error) (dry run: nothing was sent)", records: error.records.map(\.description))
            }
            return
        }
        do {
            let auths = try manager.transact(steps)
            XfrmCommand.printPolicyLine(policy, options: options)
            for a in auths where a.record != nil { print(a.record!.description) }
            for s in steps { print(s.summary) }
            print("\(host): \(steps.count) step(s) applied")
        } catch {
            XfrmCommand.printPolicyLine(policy, options: options)
            throw CommandFailure.denied("\(host): \(error)", records: error.error.records.map(\.description))
        }
    }
}
