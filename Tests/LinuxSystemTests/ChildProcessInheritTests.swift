import Foundation
import Glibc
import LinuxSystem
import Testing

/// `ChildProcess.run(_:inheriting:)`: the descriptors given are the child's 3, 4, … (how the kernel
/// run hands a client's socket to `guest-setsockopt`), whatever their numbers in the caller, and
/// nothing else of the caller's is passed.
struct ChildProcessInheritTests {
    @Test func theChildWritesThroughItsDescriptorThree() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(fds[0]) }
        let run = ChildProcess.run(["/bin/sh", "-c", "echo through-3 >&3 && echo done"], inheriting: [fds[1]])
        // The same check as below finds the descriptor when it is passed.
        let seen = ChildProcess.run(["/bin/sh", "-c", "if [ -e /proc/$$/fd/3 ]; then echo open; else echo closed; fi"], inheriting: [fds[1]])
        #expect(seen.output == "open\n", "\(seen)")
        close(fds[1])
        #expect(run.status == 0 && run.output == "done\n", "\(run)")
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &buffer, buffer.count)
        #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "through-3\n")
    }

    /// Without `inheriting`, a close-on-exec descriptor stays behind: the child has no descriptor of
    /// that number.
    @Test func nothingIsPassedUnasked() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(fds[0]); close(fds[1]) }
        let run = ChildProcess.run(["/bin/sh", "-c", "if [ -e /proc/$$/fd/\(fds[1]) ]; then echo open; else echo closed; fi"])
        #expect(run.output == "closed\n", "\(run)")
    }
}
