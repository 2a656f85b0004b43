import Foundation
import Testing
import TestSupport

/// `salabel dataplane run --control PATH` takes only what is its own: a regular file or a running
/// host's socket at PATH is refused and left as it is; a stale socket (no one listens) is taken
/// over; the socket goes when the host stops.
@Suite(.serialized) struct ControlSocketTests {
    /// A directory with a one-host apply file and its keys.
    final class Setup {
        let dir: URL
        var apply: String { dir.appendingPathComponent("echo.yaml").path }
        var control: String { dir.appendingPathComponent("host.sock").path }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-ctl-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try """
            hosts:
              client: { address: 10.77.0.1 }
              server: { address: 10.77.0.2 }
            associations:
              - { name: echo, between: [client, server], context: system_u:system_r:echoclient_t:s0,
                  selector: { proto: udp, port: 7 } }
            key_file: echo.keys
            """.write(toFile: apply, atomically: true, encoding: .utf8)
            let keygen = try CLITests.salabel("keygen", apply)
            try #require(keygen.status == 0, "\(keygen.stderr)")
        }

        deinit { try? FileManager.default.removeItem(at: dir) }

        var arguments: [String] {
            ["dataplane", "run", apply, "--host", "server", "--control", control, "--bind", "127.0.0.1", "--esp-port", "0", "--clear-port", "0"]
        }

        /// A host started in the background; its standard output and error go to files in the directory.
        func start() throws -> Process {
            try startProcess(
                CLITests.binary, arguments, standardOutput: .file(dir.appendingPathComponent("host-\(UUID().uuidString).out")),
                standardError: .standardOutput)
        }

        /// Waits until a connection to the control socket succeeds (the host listens).
        func waitListening(_ p: Process) throws {
            for _ in 0..<200 where p.isRunning {
                if ControlSocketTests.connects(control) { return }
                usleep(25_000)
            }
            Issue.record("the host did not listen on \(control)")
        }
    }

    /// Whether a `SOCK_SEQPACKET` connection to `path` succeeds.
    static func connects(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0)
        defer { close(fd) }
        return withAddress(path) { connect(fd, $0, $1) } == 0
    }

    static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        return withUnsafePointer(to: &sun) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    }

    static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    static func inode(_ path: String) -> UInt64? {
        var st = stat()
        return lstat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    /// Runs a host that should refuse to start: its status and output, or, when it is still
    /// running after five seconds (it took the path), a failure and the host killed.
    static func runRefused(_ s: Setup) throws -> CLITests.Run {
        let p = try s.start()
        for _ in 0..<250 where p.isRunning { usleep(20_000) }
        if p.isRunning {
            Self.stop(p, SIGKILL)
            Issue.record("the host started at \(s.control) instead of refusing it")
        }
        p.waitUntilExit()
        let output = try FileManager.default.contentsOfDirectory(at: s.dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "out" }.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined()
        return CLITests.Run(status: p.terminationStatus, stdout: output, stderr: output)
    }

    /// Stops a host with `signal` and waits for it.
    static func stop(_ p: Process, _ signal: Int32 = SIGTERM) {
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
    }

    @Test func aRegularFileIsRefusedAndLeftAsItIs() throws {
        let s = try Setup()
        try "precious\n".write(toFile: s.control, atomically: true, encoding: .utf8)
        let r = try Self.runRefused(s)
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("\(s.control) exists and is not a socket"), "\(r.stderr)")
        #expect(try String(contentsOfFile: s.control, encoding: .utf8) == "precious\n", "the file at --control was changed")
        #expect(!Self.isSocket(s.control))
    }

    @Test func aRunningHostsSocketIsRefused() throws {
        let s = try Setup()
        let first = try s.start()
        defer { if first.isRunning { Self.stop(first, SIGKILL) } }
        try s.waitListening(first)
        let before = Self.inode(s.control)
        let outputs = try FileManager.default.contentsOfDirectory(atPath: s.dir.path).filter { $0.hasSuffix(".out") }
        for o in outputs { try FileManager.default.removeItem(at: s.dir.appendingPathComponent(o)) }  // the first host's
        let second = try Self.runRefused(s)
        #expect(second.status == 2, "\(second.stdout)\(second.stderr)")
        #expect(second.stderr.contains("\(s.control) is the local socket of a running host"), "\(second.stderr)")
        #expect(Self.inode(s.control) == before, "the running host's socket was replaced")
        #expect(Self.connects(s.control), "the running host no longer answers on its socket")
        #expect(first.isRunning)
    }

    @Test func aStaleSocketIsTakenOverAndRemovedAtTheEnd() throws {
        let s = try Setup()
        // A socket no one listens on, as a killed host leaves.
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0)
        #expect(Self.withAddress(s.control) { bind(fd, $0, $1) } == 0)
        close(fd)
        #expect(Self.isSocket(s.control) && !Self.connects(s.control))
        let host = try s.start()
        defer { if host.isRunning { Self.stop(host, SIGKILL) } }
        try s.waitListening(host)
        #expect(Self.connects(s.control))
        Self.stop(host)
        #expect(host.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: s.control), "the socket is still there after the host stopped")
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func theSocketGoesWhenTheHostStops(_ signal: Int32) throws {
        let s = try Setup()
        let host = try s.start()
        defer { if host.isRunning { Self.stop(host, SIGKILL) } }
        try s.waitListening(host)
        Self.stop(host, signal)
        #expect(host.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: s.control), "the socket is still there after the host stopped")
    }
}
