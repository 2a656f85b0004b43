import ArgumentParser
import DecisionEngine
import IKEConfig
import IKEControl
import SecurityContexts
import SELinuxKernel
import XfrmManager

/// `salabel apply`'s options for the associations keyed by IKE (libreswan).
struct IKEApplyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Where salabel.conf and salabel.secrets are written (default: /etc/ipsec.d, which Debian's ipsec.conf and ipsec.secrets include).",
            valueName: "DIR"))
    var ikeDir: String = LibreswanFiles.defaultDirectory

    @Flag(help: "Write libreswan's files without loading them into pluto.") var noLoad = false

    @Option(help: ArgumentHelp("The IKE daemon's context, for the setcontext checks.", valueName: "CONTEXT"))
    var ikeDaemonContext: String = IKELabelChecks.defaultDaemonContext

    @Flag(help: "Refuse (status 1, nothing changed) when a label check of an IKE association fails, instead of warning.") var strict = false

    @Option(help: ArgumentHelp("libreswan's ipsec command.", valueName: "PATH")) var ipsecCommand: String = LibreswanControl.defaultCommand

    @Option(help: ArgumentHelp("pluto's control socket (loading is skipped when it is absent).", valueName: "PATH"))
    var plutoSocket: String = LibreswanControl.defaultControlSocket

    var runner: IKEApplyRun {
        IKEApplyRun(files: LibreswanFiles(directory: ikeDir), control: LibreswanControl(command: ipsecCommand, controlSocket: plutoSocket), load: !noLoad)
    }

    /// The engine's checks of the labels the daemon installs and the flows match; warnings (or, with
    /// --strict, a refusal) with the AVC records.
    func checkLabels(_ apply: ApplyFile, host: String, options: XfrmOptions) throws {
        let daemon: SecurityContext
        do { daemon = try SecurityContext(parsing: ikeDaemonContext) } catch { throw CommandFailure.error("--ike-daemon-context: \(error)") }
        let loaded: LoadedPolicy
        do { loaded = try (options.policy.map(PolicyOrigin.init(option:)) ?? PolicyOrigin.liveDefault).load() } catch {
            throw CommandFailure.error("\(error)")
        }
        let checks = IKELabelChecks.check(apply, host: host, daemon: daemon, authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: loaded.server)))
        let denied = checks.filter { !$0.granted }
        if !denied.isEmpty { print("policy: \(loaded)") }
        for c in denied {
            print(c.description)
            print("  " + (c.record?.description ?? "(the policy does not audit this denial)"))
        }
        if strict && !denied.isEmpty {
            throw CommandFailure.denied("\(host): \(denied.count) label check(s) failed (--strict): nothing was changed")
        }
    }

    /// Writes (or removes) the host's libreswan files and loads them; a dry run prints them, keys censored.
    func run(_ configuration: LibreswanConfiguration, host: String, remove: Bool, dryRun: Bool) throws {
        let run = runner
        do {
            let plan = remove ? try run.removalPlan() : try run.plan(configuration)
            if dryRun {
                print(plan.dryRunLines(files: run.files, host: host).joined(separator: "\n"))
                return
            }
            print(try run.execute(plan).lines(files: run.files, host: host).joined(separator: "\n"))
        } catch {
            throw CommandFailure.denied("\(host): libreswan: \(error)")
        }
    }
}
