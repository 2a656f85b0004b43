internal import Glibc

/// Runs a program to its end: the one way salabel's libraries start a process (`ip`, `checkpolicy`,
/// `scripts/vm`, `salabel scenario guest-act`). `posix_spawn` rather than Foundation's `Process`, so
/// that a caller in the VM's guest, or one that has entered a network namespace on this thread,
/// starts no helper thread: the child is forked from the calling thread, inherits its namespace
/// and its SELinux context, and the environment as it is.
public enum ChildProcess {
    /// How a run ended, and what it printed.
    public struct Result: Sendable, Hashable {
        /// The exit status; 128 + the signal's number when a signal ended it; -1 when it could not
        /// be started (`output` then says why).
        public var status: Int32
        /// Its standard output and standard error, interleaved as written, as UTF-8.
        public var output: String
    }

    /// Runs `arguments[0]` (a path; with `searchPath`, a name looked up in `PATH` as `execvp` does)
    /// with the rest as its arguments, standard input from /dev/null, and waits for it.
    /// `standardErrorToCaller` leaves standard error on the caller's (to show a long run's progress).
    public static func run(_ arguments: [String], searchPath: Bool = false, standardErrorToCaller: Bool = false) -> Result {
        precondition(!arguments.isEmpty, "ChildProcess.run needs a program")
        var pipeFDs: [Int32] = [0, 0]
        if case .failure(let code) = valueOrErrno({ pipe(&pipeFDs) }) { return Result(status: -1, output: "pipe: \(code.message)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        if !standardErrorToCaller { posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2) }
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        posix_spawn_file_actions_addclose(&actions, pipeFDs[1])
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let spawned = zeroOrErrno {
            searchPath
                ? posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
                : posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        }
        close(pipeFDs[1])
        if case .failure(let code) = spawned {
            close(pipeFDs[0])
            return Result(status: -1, output: "cannot start \(arguments[0]): \(code.message)")
        }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case .success(let n) = valueOrErrno({ read(pipeFDs[0], &buffer, buffer.count) }), n > 0 {
            output += buffer[0..<n]
        }
        close(pipeFDs[0])
        var status: Int32 = 0
        _ = valueOrErrno { waitpid(pid, &status, 0) }
        let exited = status & 0x7f == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: String(decoding: output, as: UTF8.self))
    }
}
