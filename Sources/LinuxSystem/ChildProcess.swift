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
    /// The descriptors in `inheriting` are the child's 3, 4, … (each a copy without close-on-exec).
    public static func run(
        _ arguments: [String], searchPath: Bool = false, standardErrorToCaller: Bool = false, inheriting: [Int32] = []
    ) -> Result {
        precondition(!arguments.isEmpty, "ChildProcess.run needs a program")
        var pipeFDs: [Int32] = [0, 0]
        if case .failure(let code) = valueOrErrno({ pipe(&pipeFDs) }) { return Result(status: -1, output: "pipe: \(code.message)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Copies above the child's numbers first, so that dup2 never gets the same number twice
        // (which would keep close-on-exec).
        var copies: [Int32] = []
        defer { for c in copies { close(c) } }
        for fd in inheriting {
            guard case .success(let c) = valueOrErrno({ fcntl(fd, F_DUPFD_CLOEXEC, Int32(10 + inheriting.count)) }) else {
                close(pipeFDs[0])
                close(pipeFDs[1])
                return Result(status: -1, output: "cannot pass descriptor \(fd)")
            }
            copies.append(c)
        }
        for (i, c) in copies.enumerated() { posix_spawn_file_actions_adddup2(&actions, c, Int32(3 + i)) }
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
        return Result(status: exitStatus(status), output: String(decoding: output, as: UTF8.self))
    }
}

extension ChildProcess {
    /// A `waitpid` status as a shell gives it: the exit code, or 128 + the signal that ended it.
    static func exitStatus(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// A program started by ``spawn(_:output:)`` and left running (a daemon the caller stops).
    public struct Running: Sendable, Hashable {
        /// Its process id; the caller's child, so that ``stop(grace:)`` can reap it.
        public let pid: Int32

        /// The program with process id `pid` (one the caller spawned, e.g. read back from a pid file).
        public init(pid: Int32) { self.pid = pid }

        /// Its exit status when it has ended (reaping it), nil while it runs: the status as
        /// ``ChildProcess/Result/status`` gives it.
        public func ended() -> Int32? {
            var status: Int32 = 0
            guard case .success(let reaped) = valueOrErrno({ waitpid(pid, &status, WNOHANG) }), reaped == pid else { return nil }
            return ChildProcess.exitStatus(status)
        }

        /// Whether it is still running (it has not ended, or has ended and not been reaped).
        public var isRunning: Bool { kill(pid, 0) == 0 }

        /// Stops it: `SIGTERM`, up to `grace` seconds for it to end, then `SIGKILL`; reaps it and
        /// returns its status (nil when it was no child of the caller's, or already reaped).
        @discardableResult
        public func stop(grace: Double) -> Int32? {
            if let status = ended() { return status }
            _ = kill(pid, SIGTERM)
            for _ in 0..<max(1, Int((grace * 10).rounded(.up))) {
                usleep(100_000)
                if let status = ended() { return status }
            }
            _ = kill(pid, SIGKILL)
            var status: Int32 = 0
            guard case .success(let reaped) = valueOrErrno({ waitpid(pid, &status, 0) }), reaped == pid else { return nil }
            return ChildProcess.exitStatus(status)
        }
    }

    /// Starts `arguments[0]` (a path) with the rest as its arguments and does not wait for it: a
    /// daemon. Standard input from /dev/null; standard output and standard error appended to the
    /// file `output` (created mode 0600); every signal at its default action and none blocked (the
    /// caller may ignore `SIGPIPE` or block others; a daemon must still end on `SIGTERM`). The
    /// child is forked from the calling thread, so it inherits that thread's network namespace and
    /// its SELinux attributes (`attr/exec`: the context it execs into).
    /// - Returns: the running program, or why it could not be started.
    public static func spawn(_ arguments: [String], output: String) -> Swift.Result<Running, Errno> {
        precondition(!arguments.isEmpty, "ChildProcess.spawn needs a program")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        return zeroOrErrno { posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ) }.map { Running(pid: pid) }
    }
}
