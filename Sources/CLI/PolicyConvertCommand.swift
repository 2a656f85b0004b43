import ArgumentParser
import DecisionEngine
import Foundation
import SELinuxKernel

extension PolicyCommand {
    /// `salabel policy convert IN [-o OUT]`: a policy in either form written as policy.conf text
    /// (what `checkpolicy -b -F` does). The writing is the engine's (`PolicyDB.policyLanguage()`);
    /// this command reads, loads and writes the file.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "convert",
            abstract: "Write a policy (policy.conf text or binary policy.NN) as policy.conf text, like checkpolicy -b -F.",
            discussion: """
                The output compiles with checkpolicy (-M for an MLS policy) and salabel to a policy with the same decisions. \
                Role attributes, neverallow rules and extended permissions are not in a compiled policy and are not written. \
                The output file is written whole or not at all (a temporary file in its directory, renamed). Exit status: 0 written, 2 error.
                """)

        @Argument(help: "The policy file, in either form (told apart by its magic number).") var input: String
        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the text ('-' or none: standard output).", valueName: "OUT"))
        var output: String?

        func run() throws {
            let bytes: [UInt8]
            do { bytes = try PolicyFileForm.readFile(atPath: input) } catch { throw CommandFailure.error(error.description) }
            let db: PolicyDB
            do { db = try PolicyDB.load(bytes: bytes, file: input) } catch { throw CommandFailure.error(error.description) }
            let text = db.policyLanguage()
            if db.extendedPermissionRuleCount > 0 {
                printError(
                    "warning: \(input): \(db.extendedPermissionRuleCount) extended-permission rules (allowxperm…) are not written: salabel does not hold their sets"
                )
            }
            guard let output, output != "-" else {
                FileHandle.standardOutput.write(Data(text.utf8))
                return
            }
            do { try PolicyFileForm.writeFile(atPath: output, bytes: Array(text.utf8)) } catch { throw CommandFailure.error(error.description) }
        }
    }
}
