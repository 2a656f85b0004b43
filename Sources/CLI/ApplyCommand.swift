import ArgumentParser
import ESPCrypto
import Foundation
import IPsecModel
import XfrmManager
import XfrmNetlink
import XfrmWire

/// Random bytes from OpenSSL's RNG (`RAND_bytes`), for keys.
func opensslRandom(_ count: Int) throws -> [UInt8] {
    try SecureBytes.random(count: count).withUnsafeBytes { Array($0) }
}

/// The key file named by an apply file, relative to the apply file's directory.
func keyFilePath(for applyPath: String, _ file: ApplyFile) -> String {
    if file.keyFile.hasPrefix("/") { return file.keyFile }
    return URL(fileURLWithPath: applyPath).deletingLastPathComponent().appendingPathComponent(file.keyFile).path
}

func loadApplyFile(_ path: String) throws -> ApplyFile {
    // The size limit is checked before reading, so a huge file is not read into memory first.
    let limit = YAMLLimits.document.maximumBytes
    if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
        printError("error: \(path): the file is \(size) bytes, more than the limit of \(limit) bytes")
        throw ExitCode(Status.error)
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        printError("error: cannot read \(path)")
        throw ExitCode(Status.error)
    }
    do { return try ApplyFile(yaml: String(decoding: data, as: UTF8.self)) } catch {
        printError("error: \(path): \(error)")
        throw ExitCode(Status.error)
    }
}

/// `salabel keygen FILE`: fresh keys for an apply file's associations.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write the key file of an apply file (mode 0600) with fresh keys from OpenSSL's RNG.",
        discussion: "Keys already in the key file are kept unless --force. Copy the key file to the peer host; it is secret.")

    @Argument(help: "The apply file.") var file: String
    @Flag(help: "Replace every key.") var force = false

    func run() throws {
        let apply = try loadApplyFile(file)
        let path = keyFilePath(for: file, apply)
        var existing: KeyFile?
        if !force && FileManager.default.fileExists(atPath: path) {
            do { existing = try KeyFile.read(from: path) } catch {
                printError("error: \(error)")
                throw ExitCode(Status.error)
            }
        }
        do {
            let keys = try KeyFile.generate(for: apply, keeping: existing, random: opensslRandom)
            // Kept keys must fit their algorithms as apply will check them (--force replaces them).
            for host in Set(apply.associations.flatMap { [$0.between.0, $0.between.1] }).sorted() {
                _ = try ApplyPlanner.desired(apply, host: host, keys: keys)
            }
            try keys.write(to: path)
            print("wrote keys for \(keys.keys.count) association(s) to \(path) (mode 0600)")
        } catch {
            printError("error: \(error)")
            throw ExitCode(Status.error)
        }
    }
}

/// `salabel apply FILE --host NAME`: install one host's half of an apply file, transactionally.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Install (or remove) one host's labeled SAs and SPD entries from an apply file, as one transaction.",
        discussion: """
            Applying the same file twice changes nothing; a failure rolls back what was installed. Keys come from the file's key file (written first, mode 0600, if missing). Specs/manager/apply.md describes the file.

            Exit status: 0 applied (or nothing to change), 1 refused or rolled back, 2 bad input.
            """)

    @Argument(help: "The apply file (YAML).") var file: String
    @Option(help: "The host whose half to install.") var host: String
    @Flag(help: "Make every check the real run makes before the kernel (same exit status), then print the steps without sending anything.") var dryRun = false
    @Flag(help: "Take the host's half away instead.") var remove = false
    @OptionGroup var options: XfrmOptions

    func run() throws {
        let apply = try loadApplyFile(file)
        let path = keyFilePath(for: file, apply)
        let keys: KeyFile
        do {
            if !FileManager.default.fileExists(atPath: path) {
                let fresh = try KeyFile.generate(for: apply, random: opensslRandom)
                if dryRun {
                    print("(no key file: fresh keys would be written to \(path))")
                } else {
                    try fresh.write(to: path)
                    print("wrote fresh keys to \(path) (mode 0600); copy it to the other hosts")
                }
                keys = fresh
            } else {
                keys = try KeyFile.read(from: path)
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(Status.error)
        }
        let desired: (sas: [SecurityAssociation], policies: [PolicyEntry])
        do { desired = try ApplyPlanner.desired(apply, host: host, keys: keys) } catch {
            printError("error: \(error)")
            throw ExitCode(Status.error)
        }
        var opts = options
        if opts.netns == nil { opts.netns = apply.hosts[host]?.netns }
        if let netns = opts.netns, let problem = XfrmOptions.missingNamespace(netns, fromOption: options.netns != nil) {
            // A dry run plans against the namespace's current SAD and SPD, so it needs the namespace
            // as much as the real run does, and fails the same way (Specs/manager/apply.md).
            printError("error: \(host): \(problem)")
            throw ExitCode(Status.error)
        }
        let manager = try opts.manager()
        let current: (sas: [SecurityAssociation], policies: [PolicyEntry])
        do { current = (try manager.kernel.allSAs(), try manager.kernel.allPolicies()) } catch {
            printError("error: cannot read the kernel's state: \(error)")
            throw ExitCode(Status.denied)
        }
        let steps = remove ? ApplyPlanner.removal(desired: desired, current: current) : ApplyPlanner.plan(desired: desired, current: current)
        if steps.isEmpty {
            print("\(host): nothing to change")
            return
        }
        if dryRun {
            // Every check the real run makes before the kernel, with the same outcome: the
            // setcontext authorization of every step (transact's first pass) and the encoding of
            // every message.
            var records: [String] = []
            for s in steps {
                do { records += try manager.authorize(s.operation).compactMap { $0.record?.description } } catch {
                    printError("error: \(host): \(s.summary): \(error) (dry run: nothing was sent)")
                    for r in error.records { printError(r.description) }
                    throw ExitCode(Status.denied)
                }
            }
            var messages: [(XfrmMessage, [UInt8])] = []
            for s in steps {
                do {
                    let m = try NetlinkXfrmKernel.request(for: s.operation)
                    messages.append((m, try m.encoded()))
                } catch {
                    printError("error: \(host): \(s.summary): the message cannot be built: \(error) (dry run: nothing was sent)")
                    throw ExitCode(Status.denied)
                }
            }
            for r in records { print(r) }
            // The messages, by type and size; their bytes (which hold the keys) only with --show-keys.
            for (s, (m, bytes)) in zip(steps, messages) {
                print("would \(s.summary)")
                print("    \(m.type), \(bytes.count) bytes")
                if options.showKeys {
                    for row in stride(from: 0, to: bytes.count, by: 16) {
                        let hex = bytes[row..<min(row + 16, bytes.count)].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
                        print("    " + String(format: "%04x: ", row) + hex.joined(separator: " "))
                    }
                }
            }
            return
        }
        do {
            let auths = try manager.transact(steps)
            for a in auths where a.record != nil { print(a.record!.description) }
            for s in steps { print(s.summary) }
            print("\(host): \(steps.count) step(s) applied")
        } catch {
            printError("error: \(host): \(error)")
            for r in error.error.records { printError(r.description) }
            throw ExitCode(Status.denied)
        }
    }
}
