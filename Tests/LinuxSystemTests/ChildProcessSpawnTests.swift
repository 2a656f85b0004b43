import Foundation
import LinuxSystem
import Testing

/// `ChildProcess.spawn`: a program left running, its output appended to a file, stopped with
/// `SIGTERM` (and `SIGKILL` when it ignores that) and reaped.
struct ChildProcessSpawnTests {
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-spawn-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aSpawnedProgramRunsUntilStoppedAndWritesToItsFile() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = dir + "/out"
        let running = try ChildProcess.spawn(["/bin/sh", "-c", "echo started; echo on-stderr >&2; exec sleep 30"], output: output).get()
        #expect(running.ended() == nil && running.isRunning)
        var text = ""
        for _ in 0..<50 where !text.contains("on-stderr") {
            usleep(100_000)
            text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        }
        #expect(text.contains("started") && text.contains("on-stderr"))
        #expect(running.stop(grace: 2) == 128 + SIGTERM)
        #expect(!running.isRunning)
        #expect(try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? Int == 0o600)
    }

    @Test func oneThatIgnoresSIGTERMIsKilledAfterTheGrace() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let running = try ChildProcess.spawn(["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"], output: dir + "/out").get()
        for _ in 0..<50 where ((try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "").isEmpty { usleep(100_000) }
        #expect(running.stop(grace: 0.5) == 128 + SIGKILL)
    }

    @Test func aMissingProgramIsAnErrno() {
        let result = ChildProcess.spawn(["/nonexistent/program"], output: "/dev/null")
        #expect(throws: Errno.self) { _ = try result.get() }
    }
}
