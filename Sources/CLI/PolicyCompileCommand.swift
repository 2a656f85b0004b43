import ArgumentParser
import DecisionEngine
import Foundation
import SELinuxKernel

extension PolicyCommand {
    /// `salabel policy compile IN -o OUT`: the kernel binary policy, as checkpolicy writes it.
    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compile",
            abstract: "Write a policy in the kernel's binary form (policy.NN), as checkpolicy does.",
            discussion: """
                IN is policy.conf text or a binary policy (told apart by its magic number), so a binary can be rewritten at another version. \
                MLS follows the policy: it is on when the policy declares sensitivities.

                Nothing is lost silently: a version that cannot carry something the policy has (permissive types below 23, filename \
                transitions below 25, …) is refused with the version that can. The file is written whole or not at all.
                """)

        @Argument(help: "The policy: policy.conf text or a binary policy.") var input: String
        @Option(name: .shortAndLong, help: "Where to write the binary policy ('-': standard output).") var output: String
        @Option(help: "The policy version to write, \(BinaryPolicyVersion.minimum)–\(BinaryPolicyVersion.maximum).")
        var version: UInt32 = BinaryPolicyVersion.maximum
        @Flag(help: "Require an MLS policy (checkpolicy -M): refuse a policy without sensitivities.") var mls = false

        func validate() throws {
            guard (BinaryPolicyVersion.minimum...BinaryPolicyVersion.maximum).contains(version) else {
                throw ValidationError("--version \(version): salabel writes versions \(BinaryPolicyVersion.minimum)–\(BinaryPolicyVersion.maximum)")
            }
        }

        func run() throws {
            let data: [UInt8]
            do { data = try PolicyFileForm.readFile(atPath: input) } catch { throw CommandFailure.error(error.description) }
            let policy: PolicyDB
            do { policy = try PolicyDB.load(bytes: data, file: input) } catch { throw CommandFailure.error(error.description) }
            if mls && !policy.mlsEnabled { throw CommandFailure.error("\(input): --mls, but the policy declares no sensitivity") }
            let bytes: [UInt8]
            do { bytes = try policy.binaryPolicy(version: version) } catch { throw CommandFailure.error("\(input): \(error)") }
            if output == "-" {
                FileHandle.standardOutput.write(Data(bytes))
                return
            }
            // Written to a temporary file beside OUT and renamed over it: whole or not at all.
            do { try PolicyFileForm.writeFile(atPath: output, bytes: bytes) } catch { throw CommandFailure.error(error.description) }
        }
    }
}
