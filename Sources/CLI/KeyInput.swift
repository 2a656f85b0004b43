import ArgumentParser
import XfrmManager

/// Keys on the command line (XfrmManager's ``KeyArgument``): the help text, and a failure as
/// `error: …` with exit status 2.
enum KeyInput {
    /// Runs `body`, turning a ``KeyArgument/Failure`` into `error: …` on standard error and exit status 2.
    static func exitingOnFailure<T>(_ body: () throws(KeyArgument.Failure) -> T) throws -> T {
        do { return try body() } catch {
            throw CommandFailure.error("\(error)")
        }
    }

    /// The help text for a key: what it may be ("The key … is " + help).
    static let help =
        "0x… hex, @FILE (the hex in a file of mode 0600 or stricter) or - (the hex on standard input). "
        + "A key written on the command line is visible to other users (ps, /proc/PID/cmdline): prefer @FILE or -."
}
