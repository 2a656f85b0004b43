import ArgumentParser
import Foundation
import IPsecModel
import Scenario
import ScenarioKernel

/// `salabel scenario run FILE… [--kernel | --compare]`: executable scenarios, played by the model
/// and by a real SELinux kernel (Specs/scenarios/README.md).
struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Run scenario files: salabel's model, the VM's SELinux kernel, or both side by side.",
        subcommands: [Run.self, ScenarioDataPlaneCommand.self, GuestRun.self, GuestActCommand.self, GuestSetSocketOptionCommand.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Play scenario steps and check them against their expectations.",
            discussion: """
                Without --kernel or --compare each step is evaluated by the model (decision engine, manager rules, resolver): no kernel is needed.

                --kernel plays the same steps in Debian's SELinux kernel under QEMU (scripts/vm; install its packages with scripts/deps vm): one boot for all the files, network namespaces joined by veth, real ESP, the actors' contexts on processes and sockets, AVC lines from the kernel log, ACQUIREs from a monitor. --compare does both and prints every disagreement.

                A file without steps (a network for salabel trace, like Specs/scenarios/echo.yaml) is reported and skipped, so Specs/scenarios/*.yaml runs every file that has steps.

                Exit status: 0 when every expectation is met (and, with --compare, model and kernel agree on every step), 1 otherwise, 2 when a file or the VM could not be used, or no file has steps.
                """)

        @Argument(help: "Scenario files (Specs/scenarios/*.yaml).") var files: [String]
        @Flag(help: "Run the steps in the VM's kernel instead of the model.") var kernel = false
        @Flag(help: "Run both and compare them step by step.") var compare = false
        @Flag(help: "JSON output: one object per scenario.") var json = false
        @Flag(name: .shortAndLong, help: "Also print each step's reasons and every AVC line.") var verbose = false
        @Option(help: "The VM harness script (default: scripts/vm of the source tree).") var vm: String?
        @Option(help: "The salabel binary to run in the guest (default: this one; a release build with --static-swift-stdlib boots fastest).")
        var guestBinary: String?
        @Option(help: "Seconds to wait after each step in the guest for audit records and ACQUIREs.") var settle: Double = 0.3
        @Option(
            help: ArgumentHelp(
                "The Linux version the model plays, MAJOR.MINOR: where kernels differ the model follows it, and each step's expectation for it is checked (expect_since).",
                discussion: "Default: the version of SALABEL_VM_KERNEL (the kernel scripts/vm boots) when it is set, else 6.1 (Debian 12's)."))
        var linux: String?

        /// The version the model plays: `--linux`, else SALABEL_VM_KERNEL's, else Debian 12's.
        func linuxVersion() throws -> LinuxVersion {
            if let linux {
                guard let v = LinuxVersion(linux) else { throw ValidationError("--linux: expected MAJOR.MINOR, such as 6.12; found \(linux)") }
                return v
            }
            if let release = ProcessInfo.processInfo.environment["SALABEL_VM_KERNEL"], !release.isEmpty {
                guard let v = LinuxVersion(release) else { throw ValidationError("SALABEL_VM_KERNEL: no Linux version in \(release)") }
                return v
            }
            return .debian12
        }

        func validate() throws {
            if kernel && compare { throw ValidationError("--kernel and --compare exclude each other (--compare runs both)") }
            if files.isEmpty { throw ValidationError("give at least one scenario file") }
        }

        func run() throws {
            let linux = try linuxVersion()
            var loaded: [(path: String, scenario: Scenario, model: ScenarioModel)] = []
            var withoutSteps: [String] = []
            for path in files {
                do {
                    let s = try Scenario.load(path: path)
                    // A network without steps (for salabel trace) is valid; there is nothing to play.
                    guard !s.steps.isEmpty else {
                        withoutSteps.append(path)
                        continue
                    }
                    loaded.append((path, s, try ScenarioModel(s, linux: linux)))
                } catch {
                    throw CommandFailure.error("\(error)")
                }
            }
            for path in withoutSteps { printError("skipped \(path): no steps to run") }
            if loaded.isEmpty {
                throw CommandFailure.error("no steps to run in \(files.count == 1 ? files[0] : "any of the \(files.count) files")")
            }
            let names = loaded.map(\.scenario.name)
            if let dup = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw CommandFailure.error("two files are named \(dup); scenario names (file names) must differ")
            }
            let wantModel = !kernel, wantKernel = kernel || compare
            var modelOutcomes: [String: [StepOutcome]] = [:]
            let modelStart = Date()
            if wantModel {
                for i in loaded.indices { modelOutcomes[loaded[i].scenario.name] = loaded[i].model.run() }
            }
            let modelSeconds = Date().timeIntervalSince(modelStart)
            var kernelResult = KernelRun.Result()
            if wantKernel {
                guard let script = vm ?? KernelRun.findVMScript() else {
                    throw CommandFailure.error("scripts/vm not found: run from the source tree, or give --vm PATH (or SALABEL_VM_SCRIPT)")
                }
                let binary = guestBinary ?? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
                do {
                    kernelResult = try KernelRun(vmScript: script, guestBinary: binary, settle: settle, verbose: verbose).run(loaded)
                } catch {
                    throw CommandFailure.error("\(error)")
                }
            }
            let report = ScenarioReport(modelOutcomes: wantModel ? modelOutcomes : nil, kernel: wantKernel ? kernelResult : nil)
            let results = loaded.map { report.scenario($0.scenario, model: $0.model) }
            // The version the model played and whose expectations were checked (expect_since).
            if json {
                var object = report.json(results, modelSeconds: modelSeconds)
                object["linux"] = linux.description
                print(jsonText(object))
            } else {
                for r in results { print(report.text(r, verbose: verbose)) }
                print(report.table(results, modelSeconds: modelSeconds))
                print("Linux \(linux): the model's version and the expectations checked (--linux)")
            }
            if !results.allSatisfy(\.passed) { throw CommandFailure.exit(Status.denied) }
        }
    }

    struct GuestRun: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "guest-run", abstract: "Inside the VM: run a plan's scenarios in this kernel (used by --kernel).",
            shouldDisplay: false)
        @Argument(help: "The plan (JSON) the host side wrote.") var plan: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: plan), let p = try? JSONDecoder().decode(GuestPlan.self, from: data) else {
                throw CommandFailure.error("cannot read the plan \(plan)")
            }
            do { try GuestRunner(plan: p).run() } catch {
                throw CommandFailure.error("\(error)")
            }
        }
    }

    struct GuestSetSocketOptionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "guest-setsockopt",
            abstract: "Inside the VM: set one SOL_IP or SOL_IPV6 option on descriptor 3 as an actor; the exit status is the errno.",
            shouldDisplay: false)
        @Option(help: "The actor's context: the process moves to it before the call.") var context: String
        @Option(help: "The option's level: 0 (SOL_IP) or 41 (SOL_IPV6).") var level: Int32 = 0
        @Option(help: "The option's number.") var option: Int32
        @Option(help: "The option's value, as hexadecimal bytes.") var value: String

        func run() throws {
            guard let bytes = [UInt8](hexDigits: value) else { throw CommandFailure.exit(GuestRunner.actFailure) }
            GuestSetSocketOption.run(context: context, level: level, name: option, value: bytes)
        }
    }

    struct GuestActCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "guest-act", abstract: "Inside the VM: send one xfrm request as an actor; the exit status is the errno.",
            shouldDisplay: false)
        @Option(help: "The actor's network namespace.") var netns: String
        @Option(help: "The actor's context: the process moves to it before sending.") var context: String
        @Option(help: "The xfrm request, as hexadecimal bytes.") var message: String

        func run() throws {
            guard let bytes = [UInt8](hexDigits: message) else { throw CommandFailure.exit(GuestRunner.actFailure) }
            GuestAct.run(netns: netns, context: context, message: bytes)
        }
    }
}
