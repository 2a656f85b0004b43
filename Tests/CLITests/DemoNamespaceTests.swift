import Foundation
import Testing
import TestSupport

/// `salabel demo` as root makes two network namespaces, `salabel-demo-PID-TAG-HOST`: an
/// interrupt at any instant of the setup leaves none behind, and two demos at once do not collide.
@Suite(.serialized) struct DemoNamespaceTests {
    /// The names of `ip netns list` made by the demo process `pid`.
    static func namespaces(of pid: Int32) throws -> [String] {
        let list = try CLITests.run(URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "list"]).stdout
        return list.split(separator: "\n").map { String($0.split(separator: " ")[0]) }.filter { $0.hasPrefix("salabel-demo-\(pid)-") }
    }

    /// A demo started in the background, its output in files.
    final class Demo {
        let process: Process
        let out: URL, err: URL

        init(_ arguments: [String] = ["demo"]) throws {
            out = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-demo-test-\(UUID().uuidString).out")
            err = out.appendingPathExtension("err")
            process = try startProcess(CLITests.binary, arguments, standardOutput: .file(out), standardError: .file(err))
        }

        var pid: Int32 { process.processIdentifier }
        var stdout: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
    }

    /// SIGTERM at 40 instants from 0.02 s to 0.4 s after the start (every 9.5 ms: an `ip netns add`
    /// takes about as long, so some land while one is in flight), through the namespaces' setup
    /// and the first paths: no run leaves a namespace.
    @Test func anInterruptAtAnyInstantLeavesNoNamespace() throws {
        try #require(geteuid() == 0, "the demo makes network namespaces only as root")
        var leaks: [String] = []
        var interrupted = 0
        for i in 0..<40 {
            let delay = 0.02 + Double(i) * 0.0095
            let demo = try Demo()
            usleep(useconds_t(delay * 1_000_000))
            kill(demo.pid, SIGTERM)
            demo.process.waitUntilExit()
            if demo.process.terminationStatus == 128 + SIGTERM || demo.process.terminationReason == .uncaughtSignal { interrupted += 1 }
            let left = try Self.namespaces(of: demo.pid)
            if !left.isEmpty {
                leaks.append("SIGTERM after \(delay) s (status \(demo.process.terminationStatus)): \(left.joined(separator: ", "))")
                for ns in left { _ = try? CLITests.run(URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "del", ns]) }
            }
        }
        #expect(leaks.isEmpty, "the demo left namespaces behind:\n\(leaks.joined(separator: "\n"))")
        #expect(interrupted > 0, "no run was interrupted: the test sent its signals too late")
    }

    /// Two demos at once: both make their own namespaces and succeed.
    @Test func twoDemosAtOnceBothSucceed() throws {
        try #require(geteuid() == 0, "the demo makes network namespaces only as root")
        let demos = try [Demo(), Demo()]
        for d in demos { d.process.waitUntilExit() }
        for d in demos {
            #expect(d.process.terminationStatus == 0, "\(d.stdout)\n\(d.stderr)")
            #expect(d.stdout.contains("hosts: network namespaces salabel-demo-\(d.pid)-"), "\(d.stdout)")
            #expect(d.stdout.contains("All 5 paths behave as the embedded policy intends"))
            #expect(try Self.namespaces(of: d.pid).isEmpty)
        }
    }
}
