import Foundation
import IKEConfig
import IKEControl
import IPsecModel
import Testing
import XfrmManager

/// Writing and loading a host's libreswan files: modes, idempotence, removal, atomicity, the
/// control commands (a fake `ipsec` that logs its arguments: the real load is proven in the VM
/// suite), and no key in anything printed.
struct IKEApplyRunTests {
    struct Setup {
        var dir: URL
        var file: ApplyFile
        var psks: [String: KeyMaterial]
        var run: IKEApplyRun
        var log: URL

        func configuration(_ file: ApplyFile? = nil) throws -> LibreswanConfiguration {
            try LibreswanConfiguration.forHost(file ?? self.file, host: "client", psks: psks)
        }

        func text(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }

        /// The fake `ipsec`'s calls, one line each (without the command and `auto --ctlsocket PATH`).
        var calls: [String] {
            (text(log.path) ?? "").split(separator: "\n").map { String($0) }
        }
    }

    /// A directory with a fake `ipsec` (exits with `failOn`'s status 3 when its arguments contain
    /// that word) and a fake control socket when `plutoRunning`.
    static func setup(plutoRunning: Bool = true, failOn: String = "never-matches") throws -> Setup {
        let dir = try IKETestSupport.directory()
        let log = dir.appendingPathComponent("calls.log")
        let ipsec = dir.appendingPathComponent("ipsec")
        try """
        #!/bin/sh
        shift 3
        echo "$*" >> \(log.path)
        case " $* " in *" \(failOn) "*) echo "pluto says no"; exit 3;; esac
        exit 0
        """.write(to: ipsec, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ipsec.path)
        let socket = dir.appendingPathComponent("pluto.ctl")
        if plutoRunning { try "".write(to: socket, atomically: true, encoding: .utf8) }
        let etc = dir.appendingPathComponent("ipsec.d")
        try FileManager.default.createDirectory(at: etc, withIntermediateDirectories: true)
        let file = try IKETestSupport.file(IKEApplyFileTests.ike())
        return Setup(
            dir: dir, file: file, psks: IKETestSupport.psks(for: file),
            run: IKEApplyRun(files: LibreswanFiles(directory: etc.path), control: LibreswanControl(command: ipsec.path, controlSocket: socket.path)),
            log: log)
    }

    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func writesLoadsAndIsIdempotent() throws {
        let s = try Self.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let plan = try s.run.plan(try s.configuration())
        #expect(plan.changesFiles && plan.added.map(\.text) == ["salabel-echo"])
        let outcome = try s.run.execute(plan)
        #expect(try Self.mode(s.run.files.secretsPath) == 0o600)
        #expect(try Self.mode(s.run.files.confPath) == 0o644)
        let conf = try s.configuration().confText()
        #expect(s.text(s.run.files.confPath) == conf)
        #expect(s.text(s.run.files.secretsPath)?.contains(IKETestSupport.exposed(s.psks["echo"]!)) == true)
        #expect(s.calls == ["--rereadsecrets", "--config \(s.run.files.confPath) --add salabel-echo", "--route salabel-echo"])
        guard case .loaded(let steps) = outcome.loading else {
            Issue.record("not loaded: \(outcome.loading)")
            return
        }
        #expect(steps.allSatisfy { $0.succeeded })
        // The same configuration again: nothing to change, nothing run.
        let again = try s.run.plan(try s.configuration())
        #expect(!again.changesFiles)
        #expect(
            try s.run.execute(again).lines(files: s.run.files, host: "client") == [
                "client: libreswan: nothing to change (\(s.run.files.confPath) and \(s.run.files.secretsPath) are up to date)"
            ])
        #expect(s.calls.count == 3)
        // A changed conn is deleted and loaded again.
        let changed = try IKETestSupport.file(IKEApplyFileTests.ike("    ike: { auto: add }"))
        let plan3 = try s.run.plan(try s.configuration(changed))
        #expect(plan3.changed.map(\.text) == ["salabel-echo"] && plan3.added.isEmpty)
        _ = try s.run.execute(plan3)
        #expect(Array(s.calls.dropFirst(3)) == ["--delete salabel-echo", "--rereadsecrets", "--config \(s.run.files.confPath) --add salabel-echo"])
        // auto: start is routed, then its IKE SA brought up in the background (childless).
        let started = try IKETestSupport.file(IKEApplyFileTests.ike("    ike: { auto: start }"))
        _ = try s.run.execute(try s.run.plan(try s.configuration(started)))
        #expect(
            Array(s.calls.dropFirst(6)) == [
                "--delete salabel-echo", "--rereadsecrets", "--config \(s.run.files.confPath) --add salabel-echo", "--route salabel-echo",
                "--asynchronous --up salabel-echo",
            ])
        #expect(s.text(s.run.files.confPath)?.contains("auto=start") == true)
    }

    @Test func removeTakesFilesAndConnsAway() throws {
        let s = try Self.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        _ = try s.run.execute(try s.run.plan(try s.configuration()))
        let removal = try s.run.removalPlan()
        #expect(removal.removed.map(\.text) == ["salabel-echo"])
        #expect(removal.dryRunLines(files: s.run.files, host: "client").contains("client: libreswan: would delete conn salabel-echo"))
        _ = try s.run.execute(removal)
        #expect(!FileManager.default.fileExists(atPath: s.run.files.confPath))
        #expect(!FileManager.default.fileExists(atPath: s.run.files.secretsPath))
        #expect(Array(s.calls.dropFirst(3)) == ["--delete salabel-echo", "--rereadsecrets"])
        #expect(!(try s.run.removalPlan()).changesFiles)
    }

    @Test func withoutPlutoTheFilesAreWrittenAndLoadingIsSkipped() throws {
        let s = try Self.setup(plutoRunning: false)
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let outcome = try s.run.execute(try s.run.plan(try s.configuration()))
        guard case .skipped(let why) = outcome.loading else {
            Issue.record("loaded")
            return
        }
        #expect(why.contains("pluto is not running"))
        #expect(s.calls.isEmpty && FileManager.default.fileExists(atPath: s.run.files.secretsPath))
        // --remove without pluto still removes the files.
        _ = try s.run.execute(try s.run.removalPlan())
        #expect(!FileManager.default.fileExists(atPath: s.run.files.confPath))
    }

    @Test func aFailedControlCommandIsAnErrorWithPlutosAnswer() throws {
        let s = try Self.setup(failOn: "--add")
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let config = try s.configuration()
        let r = Result { () throws(IKEControlError) in try s.run.execute(try s.run.plan(config)) }
        guard case .failure(let e) = r, case .load(let step) = e else {
            Issue.record("no load failure: \(r)")
            return
        }
        #expect(step.status == 3 && e.description.contains("pluto says no"))
        #expect(!e.description.contains(IKETestSupport.exposed(s.psks["echo"]!)))
    }

    /// The secrets file cannot be written (a directory stands at its path) after the conns file was:
    /// the old conns file is put back, or removed when there was none.
    @Test func aFailureAfterTheFirstFileLeavesTheOldFiles() throws {
        let s = try Self.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let old = "# an older salabel.conf\n"
        try old.write(toFile: s.run.files.confPath, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: s.run.files.secretsPath + "/in-the-way", withIntermediateDirectories: true)
        let config = try s.configuration()
        let r = Result { () throws(IKEControlError) in try s.run.execute(try s.run.plan(config)) }
        guard case .failure(let e) = r, case .files(_, let kept) = e else {
            Issue.record("no file failure: \(r)")
            return
        }
        #expect(kept && e.description.contains("nothing was changed"))
        #expect(s.text(s.run.files.confPath) == old)
        #expect(s.calls.isEmpty)
        try FileManager.default.removeItem(atPath: s.run.files.confPath)
        _ = Result { () throws(IKEControlError) in try s.run.execute(try s.run.plan(config)) }
        #expect(!FileManager.default.fileExists(atPath: s.run.files.confPath))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: s.run.files.directory).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    /// The key appears in the secrets file only: not in a dry run's lines, an outcome's lines, the
    /// plan's description or the configuration's.
    @Test func theKeyAppearsNowhereElse() throws {
        let s = try Self.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let key = IKETestSupport.exposed(s.psks["echo"]!)
        let config = try s.configuration()
        let plan = try s.run.plan(config)
        let dry = plan.dryRunLines(files: s.run.files, host: "client").joined(separator: "\n")
        #expect(dry.contains("PSK \"[censored]\""))
        let outcome = try s.run.execute(plan)
        for text in [
            dry, outcome.lines(files: s.run.files, host: "client").joined(separator: "\n"), "\(plan)", "\(config)", "\(outcome)", try config.confText(),
        ] {
            #expect(!text.contains(key))
        }
    }

    /// `addconn --checkconfig` does not parse `esp=`; libreswan's algparse does, and a proposal it
    /// refuses is refused before anything is written. One it takes goes through.
    @Test func aProposalLibreswanRefusesIsRefusedBeforeWriting() throws {
        let s = try Self.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        #expect(FileManager.default.fileExists(atPath: s.run.control.algparse), "libreswan's algparse is missing")
        let bad = try s.configuration(try IKETestSupport.file(IKEApplyFileTests.ike("    ike: { esp: \"aes_gcm128-null;bogus\" }")))
        let r = Result { () throws(IKEControlError) in try s.run.plan(bad) }
        guard case .failure(let e) = r, case .proposal(let conn, _, let why) = e else {
            Issue.record("not refused: \(r)")
            return
        }
        #expect(conn.text == "salabel-echo" && why.contains("bogus"), "\(e)")
        #expect(!FileManager.default.fileExists(atPath: s.run.files.confPath))
        for esp in ["aes_gcm128-null", "aes256-sha2_256;modp2048", "aes_gcm256-null,aes128-sha2_256"] {
            let good = try s.configuration(try IKETestSupport.file(IKEApplyFileTests.ike("    ike: { esp: \"\(esp)\" }")))
            #expect(try s.run.plan(good).changesFiles, "\(esp)")
        }
    }
}
