import Foundation
import Testing
import TestSupport

/// `salabel probe` (hidden) on this host's loopback, without SELinux: the socket plumbing, the JSON
/// lines, errno names and timeouts. What a labeled peer looks like is checked against a real SELinux
/// kernel in Tests/KernelVMTests/ResolverVMTests.swift.
@Suite(.serialized)
struct ProbeCLITests {
    /// A server probe running in the background, read line by line.
    final class Background {
        let process: Process
        let output = Pipe()
        private var buffer = Data()

        init(_ args: [String]) throws {
            try #require(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "salabel is not built at \(CLITests.binary.path)")
            process = try startProcess(CLITests.binary, args, input: .null, standardOutput: .pipe(output), standardError: .discard)
        }

        /// The next line of output (nil at end of output).
        func line() -> String? {
            while true {
                if let nl = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer = Data(buffer[(nl + 1)...])
                    return line
                }
                let more = output.fileHandleForReading.availableData
                if more.isEmpty { return buffer.isEmpty ? nil : String(decoding: buffer, as: UTF8.self) }
                buffer.append(more)
            }
        }

        func finish() -> (status: Int32, rest: [String]) {
            var rest: [String] = []
            while let l = line() { rest.append(l) }
            process.waitUntilExit()
            return (process.terminationStatus, rest)
        }
    }

    static func port() -> String { String(Int.random(in: 20000...60000)) }

    @Test func tcpEchoWithoutSELinuxGivesENOPROTOOPT() throws {
        let port = Self.port()
        let server = try Background(["probe", "tcp-server", "--port", port, "--bind", "127.0.0.1", "--count", "1", "--timeout", "10"])
        let listening = try CLITests.json(try #require(server.line()))
        #expect(listening["event"] as? String == "listening")
        let client = try CLITests.salabel("probe", "tcp-client", "--dst", "127.0.0.1", "--port", port, "--message", "hello", "--timeout", "5")
        #expect(client.status == 0, "\(client.stdout)\(client.stderr)")
        let c = try CLITests.json(client.stdout)
        #expect(c["event"] as? String == "connected")
        #expect(c["echo"] as? String == "hello")
        // No LSM answers SO_PEERSEC on this host: the kernel's default, ENOPROTOOPT, and no label.
        #expect(c["errno"] as? String == "ENOPROTOOPT", "\(client.stdout)")
        #expect(c["peer"] is NSNull)
        let (status, rest) = server.finish()
        #expect(status == 0)
        let s = try CLITests.json(try #require(rest.first))
        #expect(s["event"] as? String == "accepted")
        #expect(s["message"] as? String == "hello")
        #expect(s["errno"] as? String == "ENOPROTOOPT")
        #expect(s["peer"] is NSNull)
        #expect((s["from"] as? String)?.hasPrefix("127.0.0.1:") == true)
    }

    @Test func udpWithoutALabelHasNoSCMSecurity() throws {
        let port = Self.port()
        let server = try Background(["probe", "udp-server", "--port", port, "--bind", "127.0.0.1", "--count", "1", "--timeout", "10"])
        #expect(try CLITests.json(try #require(server.line()))["event"] as? String == "listening")
        let send = try CLITests.salabel("probe", "udp-send", "--dst", "127.0.0.1", "--port", port, "--message", "dgram")
        #expect(send.status == 0)
        let sent = try CLITests.json(send.stdout)
        #expect(sent["event"] as? String == "sent" && sent["bytes"] as? Int == 5)
        let (status, rest) = server.finish()
        #expect(status == 0)
        let d = try CLITests.json(try #require(rest.first))
        #expect(d["event"] as? String == "datagram")
        #expect(d["message"] as? String == "dgram")
        #expect(d["peer"] is NSNull, "IP_PASSSEC without a peer label attaches no control message")
        #expect(d["cmsgs"] == nil)
    }

    @Test func connectErrorsAreReportedByErrnoName() throws {
        // Nothing listens on the port: RST, ECONNREFUSED.
        let r = try CLITests.salabel("probe", "tcp-client", "--dst", "127.0.0.1", "--port", Self.port(), "--timeout", "5")
        #expect(r.status == 1)
        let o = try CLITests.json(r.stdout)
        #expect(o["event"] as? String == "error")
        #expect(o["stage"] as? String == "connect")
        #expect(o["errno"] as? String == "ECONNREFUSED")
        #expect(o["timeout"] as? Bool == false)
    }

    @Test func blockingCallsTimeOut() throws {
        let start = Date()
        let r = try CLITests.salabel("probe", "tcp-server", "--port", Self.port(), "--bind", "127.0.0.1", "--timeout", "0.5")
        #expect(r.status == 1)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(try CLITests.json(lines.last ?? "")["event"] as? String == "timeout")
        let u = try CLITests.salabel("probe", "udp-server", "--port", Self.port(), "--bind", "127.0.0.1", "--timeout", "0.5")
        #expect(u.status == 1 && u.stdout.contains("\"event\":\"timeout\""))
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func isHiddenFromHelp() throws {
        let r = try CLITests.salabel("--help")
        #expect(!r.stdout.contains("probe"))
        let sub = try CLITests.salabel("probe", "--help")
        #expect(sub.status == 0 && sub.stdout.contains("tcp-server"))
    }
}
