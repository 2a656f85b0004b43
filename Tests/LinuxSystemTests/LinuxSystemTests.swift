// The system layer on this machine: SystemError's wording, network namespaces by name and path (a
// missing one, a name that is not one, the process's own), and sockets over the funnel (a local
// socket pair, a path too long, a UDP socket bound to loopback).

import Foundation
import Glibc
import LinuxSystem
import Testing

@Suite("LinuxSystem")
struct LinuxSystemTests {
    @Test("SystemError: operation, detail, then the message and C name")
    func systemErrorDescription() {
        #expect(
            SystemError(operation: "open network namespace", errno: .noSuchFileOrDirectory, detail: "/run/netns/x").description
                == "open network namespace /run/netns/x: No such file or directory (ENOENT)")
        #expect(SystemError(operation: "bind", errno: .addressInUse).description == "bind: Address already in use (EADDRINUSE)")
    }

    @Test("NetworkNamespace: a name or a path, as the CLI takes it")
    func namespaceSpec() {
        #expect(NetworkNamespace(nameOrPath: "blue") == .named("blue"))
        #expect(NetworkNamespace(nameOrPath: "blue").path == "/run/netns/blue")
        #expect(NetworkNamespace(nameOrPath: "/proc/1/ns/net") == .path("/proc/1/ns/net"))
    }

    @Test("NetworkNamespace.run: a missing namespace is ENOENT and a name that is not one EINVAL, both on opening")
    func namespaceFailures() {
        let missing = #expect(throws: SystemError.self) { try NetworkNamespace.named("salabel-no-such-namespace").run { 1 } }
        #expect(missing?.operation == NetworkNamespace.openOperation && missing?.errno == .noSuchFileOrDirectory)
        #expect(missing?.detail == "/run/netns/salabel-no-such-namespace")
        for name in ["", ".", ".."] {
            let invalid = #expect(throws: SystemError.self) { try NetworkNamespace.named(name).run { 1 } }
            #expect(invalid?.operation == NetworkNamespace.openOperation && invalid?.errno == .invalidArgument, "name \"\(name)\"")
        }
    }

    @Test("NetworkNamespace.run: the body runs on another thread, in the namespace, and returns its value")
    func namespaceRun() throws {
        // Entering one's own namespace needs CAP_SYS_ADMIN, as any setns does.
        guard geteuid() == 0 else { return }
        let caller = pthread_self()
        let (value, sameThread) = try NetworkNamespace.path("/proc/self/ns/net").run { (42, pthread_equal(pthread_self(), caller) != 0) }
        #expect(value == 42 && !sameThread)
    }

    @Test("SocketDescriptor: a local socket pair over a path: bind, listen, connect, accept, send, receive")
    func localSockets() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-ls-\(getpid()).sock").path
        unlink(path)
        defer { unlink(path) }
        let listener = try SocketDescriptor.open(.local, .sequencedPackets)
        defer { listener.close() }
        try listener.bind(to: .local(path))
        try listener.listen(backlog: 4)
        let client = try SocketDescriptor.open(.local, .sequencedPackets)
        defer { client.close() }
        try client.connect(to: .local(path))
        #expect(try listener.wait(for: .readable, milliseconds: 1000))
        let (server, _) = try listener.accept()
        defer { server.close() }
        let sent = try Array("record".utf8).withUnsafeBytes { b in try client.send(b, noSignal: true) }
        #expect(sent == 6)
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = try buffer.withUnsafeMutableBytes { b in try server.receive(into: b) }
        #expect(String(decoding: buffer[..<n], as: UTF8.self) == "record")
        // Nothing more waiting on a non-blocking socket: EAGAIN.
        server.setNonBlocking(true)
        let empty = #expect(throws: Errno.self) { _ = try buffer.withUnsafeMutableBytes { b in try server.receive(into: b) } }
        #expect(empty == .wouldBlock)
    }

    @Test("SocketDescriptor: a path longer than sun_path is ENAMETOOLONG; a path with no socket ENOENT")
    func localSocketFailures() throws {
        let socket = try SocketDescriptor.open(.local, .sequencedPackets)
        defer { socket.close() }
        let long = #expect(throws: Errno.self) { try socket.bind(to: .local("/tmp/" + String(repeating: "x", count: 200))) }
        #expect(long == .fileNameTooLong)
        let refused = #expect(throws: Errno.self) { try socket.connect(to: .local("/nonexistent/salabel.sock")) }
        #expect(refused == .noSuchFileOrDirectory)
    }

    @Test("SocketDescriptor: UDP on loopback, the port the kernel chose, one datagram with its source")
    func udpLoopback() throws {
        let loopback = try #require(SocketEndpoint(ipv4: "127.0.0.1", port: 0))
        #expect(SocketEndpoint(ipv4: "not an address", port: 0) == nil)
        let a = try SocketDescriptor.open(.ipv4, .datagram, nonBlocking: true)
        defer { a.close() }
        let b = try SocketDescriptor.open(.ipv4, .datagram, nonBlocking: true)
        defer { b.close() }
        try a.bind(to: loopback)
        try b.bind(to: loopback)
        let aAddress = try #require(a.localEndpoint())
        let bAddress = try #require(b.localEndpoint())
        guard case .internet(let bytes, let port) = bAddress else { Issue.record("not an internet endpoint: \(bAddress)"); return }
        #expect(bytes == [127, 0, 0, 1] && port != 0)
        #expect(bAddress.text == "127.0.0.1:\(port)")
        _ = try Array("ping".utf8).withUnsafeBytes { d in try a.send(d, to: bAddress) }
        #expect(try b.wait(for: .readable, milliseconds: 1000))
        var buffer = [UInt8](repeating: 0, count: 64)
        let (n, source) = try buffer.withUnsafeMutableBytes { d in try b.receiveFrom(into: d) }
        #expect(String(decoding: buffer[..<n], as: UTF8.self) == "ping" && source == aAddress)
    }
}

@Suite("LinuxSystem: reading a whole file")
struct FileContentsTests {
    @Test("a kernel file whose stat size is 0 is read to its end")
    func procfs() throws {
        var st = stat()
        #expect(stat("/proc/self/status", &st) == 0 && st.st_size == 0)
        let bytes = try readFileContents(atPath: "/proc/self/status")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("Name:") && text.contains("\nPid:") && text.hasSuffix("\n"))
    }

    @Test("a file larger than one read, byte for byte; the limit is EFBIG")
    func largeFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-read-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = (0..<200_003).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(data).write(to: URL(fileURLWithPath: path))
        #expect(try readFileContents(atPath: path) == data)
        let tooLarge = #expect(throws: SystemError.self) { try readFileContents(atPath: path, limit: 100_000) }
        #expect(tooLarge?.operation == "read" && tooLarge?.errno == .fileTooLarge && tooLarge?.detail == path)
    }

    @Test("a missing file: open, the path, ENOENT")
    func missing() {
        let error = #expect(throws: SystemError.self) { try readFileContents(atPath: "/nonexistent/salabel") }
        #expect(error?.description == "open /nonexistent/salabel: No such file or directory (ENOENT)")
    }
}
