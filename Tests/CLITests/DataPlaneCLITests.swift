import Foundation
import Testing
import TestSupport

/// Two `salabel dataplane run` hosts of a one-association apply file (fresh keys from `salabel
/// keygen`) on loopback ports, each logging to DIR/NAME.log and capturing to DIR/NAME.pcap; stopped
/// and removed by `stop()`.
final class TwoHosts {
    let dir: URL
    private(set) var processes: [String: Process] = [:]
    /// The hosts' addresses in the file (the SAs' space); their sockets are on loopback.
    let client: String, server: String

    /// `v6`: IPv6 hosts (fd00:77::1, fd00:77::2) whose sockets are on ::1.
    init(v6: Bool = false) throws {
        (client, server) = v6 ? ("fd00:77::1", "fd00:77::2") : ("10.77.0.1", "10.77.0.2")
        let loopback = v6 ? "::1" : "127.0.0.1"
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-dp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let apply = dir.appendingPathComponent("echo.yaml")
        try """
        hosts:
          client: { address: \(client) }
          server: { address: \(server) }
        associations:
          - { name: echo, between: [client, server], context: system_u:system_r:echoclient_t:s0,
              reply_context: system_u:system_r:echoserver_t:s0, policy_context: system_u:object_r:ipsec_spd_t:s0,
              selector: { proto: udp, port: 7 } }
        key_file: echo.keys
        """.write(to: apply, atomically: true, encoding: .utf8)
        let keygen = try CLITests.salabel("keygen", apply.path)
        try #require(keygen.status == 0, "\(keygen.stderr)")
        let base = UInt16.random(in: 20000...31000)
        let ports = ["client": base, "server": base + 10]
        for (name, port) in ports {
            let peer = name == "client" ? "server" : "client"
            processes[name] = try startProcess(
                CLITests.binary,
                [
                    "dataplane", "run", apply.path, "--host", name, "--control", socket(name),
                    "--bind", loopback, "--esp-port", "\(port)", "--clear-port", "\(port + 1)",
                    "--peer", "\(peer)=\(v6 ? "[::1]" : loopback):\(ports[peer]!):\(ports[peer]! + 1)",
                    "--pcap", dir.appendingPathComponent("\(name).pcap").path,
                ],
                standardOutput: .file(log(name)))
        }
        for name in ports.keys {
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket(name)) { usleep(50_000) }
        }
    }

    func socket(_ host: String) -> String { dir.appendingPathComponent("\(host).sock").path }
    func log(_ host: String) -> URL { dir.appendingPathComponent("\(host).log") }

    /// Stops the hosts (their logs stay until `remove()`).
    func stop() {
        for p in processes.values where p.isRunning { p.terminate(); p.waitUntilExit() }
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// `salabel keygen`, two `salabel dataplane run` hosts on loopback ports, and the labeled-echo
/// example against them: the whole user path of the userspace data plane, in separate processes.
@Suite(.serialized) struct DataPlaneCLITests {
    @Test(arguments: [false, true])
    func exampleEchoThroughTwoDataPlaneHosts(v6: Bool) throws {
        let hosts = try TwoHosts(v6: v6)
        defer { hosts.remove() }
        let dir = hosts.dir
        let example = CLITests.binary.deletingLastPathComponent().appendingPathComponent("labeled-echo")
        let serverOut = Pipe()
        let server = try startProcess(
            example, ["server", "--control", dir.appendingPathComponent("server.sock").path, "--count", "1"],
            standardOutput: .pipe(serverOut))
        defer { if server.isRunning { server.terminate() } }
        var reply: CLITests.Run?
        for _ in 0..<20 {
            let r = try CLITests.run(example, ["client", "--control", dir.appendingPathComponent("client.sock").path, "--to", hosts.server, "hello", "there"])
            reply = r
            if r.status == 0 { break }
            usleep(100_000)  // the server may not have bound its port yet
        }
        let r = try #require(reply)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("as system_u:system_r:echoclient_t:s0: esp spi=0x"))
        #expect(r.stdout.contains("reply from \(hosts.server):7, label system_u:system_r:echoserver_t:s0: hello there\n"), "\(r.stdout)")
        server.waitUntilExit()
        let served = String(decoding: serverOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(served.contains("label system_u:system_r:echoclient_t:s0: hello there\n"), "\(served)")
    }

    /// The ACQUIRE loop through the CLI: a flow with no SA is refused with the ACQUIRE; a key
    /// manager adds the SA on both hosts (`salabel dataplane sa add`, setcontext checked: the
    /// client's own domain is refused with the AVC record); the next datagram is sealed on it and
    /// arrives with its label; no key appears in either host's log.
    @Test func keyManagerAnswersAnAcquire() throws {
        let hosts = try TwoHosts()
        defer { hosts.remove() }
        let dir = hosts.dir
        func sock(_ h: String) -> String { hosts.socket(h) }
        let heard = Pipe()
        let listener = try startProcess(
            CLITests.binary, ["dataplane", "listen", "--control", sock("server"), "--as", "system_u:system_r:echoserver_t:s0", "--port", "7", "--count", "1"],
            standardOutput: .pipe(heard))
        defer { if listener.isRunning { listener.terminate() } }
        usleep(300_000)
        let user = "echo_u:system_r:echoclient_t:s0"
        let send = ["dataplane", "send", "--control", sock("client"), "--as", user, "--port", "0", "--to", "10.77.0.2", "--dport", "7", "hello"]
        let first = try CLITests.run(CLITests.binary, send)
        #expect(first.status == 1 && first.stderr.contains("refused: EAGAIN: no SA: ACQUIRE seq 1") && first.stderr.contains("ctx \(user)"), "\(first.stderr)")
        let sa = [
            "src", "10.77.0.1", "dst", "10.77.0.2", "proto", "esp", "spi", "0x9000", "mode", "transport",
            "aead", "rfc4106(gcm(aes))", "0x0102030405060708090a0b0c0d0e0f1011121314", "128", "ctx", user,
        ]
        let refused = try CLITests.run(
            CLITests.binary, ["dataplane", "sa", "add", "--control", sock("client"), "--as", "system_u:system_r:echoclient_t:s0"] + sa)
        #expect(
            refused.status == 1
                && refused.stderr.contains("avc:  denied  { setcontext } for  scontext=system_u:system_r:echoclient_t:s0 tcontext=\(user) tclass=association"),
            "\(refused.stderr)")
        for h in ["client", "server"] {
            let added = try CLITests.run(CLITests.binary, ["dataplane", "sa", "add", "--control", sock(h)] + sa)
            #expect(added.status == 0 && added.stdout.hasPrefix("ok: ADDSA dst 10.77.0.2 proto esp spi 0x9000"), "\(added.stdout)\(added.stderr)")
        }
        let second = try CLITests.run(CLITests.binary, send)
        #expect(second.status == 0 && second.stdout.hasPrefix("sent esp spi=0x9000 seq=1 label=\(user)"), "\(second.stdout)\(second.stderr)")
        listener.waitUntilExit()
        let text = String(decoding: heard.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("peer \(user): hello"), "\(text)")
        hosts.stop()
        for h in ["client", "server"] {
            let logged = try String(contentsOf: hosts.log(h), encoding: .utf8)
            #expect(!logged.contains("0102030405060708"), "a key appears in \(h).log")
        }
        #expect(try String(contentsOf: hosts.log("client"), encoding: .utf8).contains("SA added by system_u:system_r:ipsec_mgmt_t:s0"))

        // --pcap: the client's capture holds the ESP packet between the SA's addresses on port 4500,
        // which tshark dissects and, given the SA's key, decrypts to the datagram sent (to the echo port).
        let tshark = try #require(
            ["/usr/bin", "/usr/local/bin", "/bin"].map { "\($0)/tshark" }.first { FileManager.default.isExecutableFile(atPath: $0) },
            "tshark is not installed: run scripts/deps test")
        let home = dir.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let dissected = try runProcess(
            URL(fileURLWithPath: tshark),
            [
                "-r", dir.appendingPathComponent("client.pcap").path, "-n", "-o", "esp.enable_encryption_decode:TRUE",
                "-o",
                "uat:esp_sa:\"IPv4\",\"10.77.0.1\",\"10.77.0.2\",\"0x00009000\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x0102030405060708090a0b0c0d0e0f1011121314\",\"NULL\",\"\"",
                "-T", "fields", "-E", "separator=|", "-e", "frame.protocols", "-e", "esp.spi", "-e", "echo.data",
            ],
            environment: ["HOME": home.path, "XDG_CONFIG_HOME": home.path, "PATH": "/usr/bin:/bin"], standardError: .discard
        ).stdout
        #expect(dissected.contains("raw:ip:udp:udpencap:esp:udp:echo|0x00009000|68656c6c6f"), "\(dissected)")
    }

    /// An SA a key manager adds with `limit packet-hard 2` (ip xfrm's syntax): two datagrams go out
    /// on it, the third is refused with EINVAL as the kernel's sendto is, the host reports the
    /// hard EXPIRE to its log and to MONITOR clients and deletes the SA, and the next datagram
    /// raises a new ACQUIRE.
    @Test func aKeyManagersLifetimeLimitEndsItsSA() throws {
        let hosts = try TwoHosts()
        defer { hosts.remove() }
        let user = "echo_u:system_r:echoclient_t:s0"
        let events = Pipe()
        let monitor = try startProcess(CLITests.binary, ["dataplane", "monitor", "--control", hosts.socket("client")], standardOutput: .pipe(events))
        defer { if monitor.isRunning { kill(monitor.processIdentifier, SIGKILL) } }
        usleep(300_000)  // the monitor's MONITOR reaches the host before the first event
        let sa = [
            "src", "10.77.0.1", "dst", "10.77.0.2", "proto", "esp", "spi", "0x9001", "mode", "transport",
            "aead", "rfc4106(gcm(aes))", "0x0102030405060708090a0b0c0d0e0f1011121314", "128", "ctx", user, "limit", "packet-hard", "2",
        ]
        let added = try CLITests.run(CLITests.binary, ["dataplane", "sa", "add", "--control", hosts.socket("client")] + sa)
        #expect(added.status == 0, "\(added.stderr)")
        let send = ["dataplane", "send", "--control", hosts.socket("client"), "--as", user, "--port", "0", "--to", "10.77.0.2", "--dport", "7", "hello"]
        let runs = try (1...4).map { _ in try CLITests.run(CLITests.binary, send) }
        #expect(runs[0].status == 0 && runs[1].status == 0, "\(runs[0].stderr)\(runs[1].stderr)")
        #expect(runs[2].status == 1 && runs[2].stderr.contains("refused: EINVAL: SA spi 0x9001 expired: 2 packets reached packet-hard 2"), "\(runs[2].stderr)")
        #expect(runs[3].status == 1 && runs[3].stderr.contains("refused: EAGAIN: no SA: ACQUIRE"), "\(runs[3].stderr)")
        let expire = "EXPIRE hard src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x9001 ctx \(user): 2 packets reached packet-hard 2; the SA is deleted"
        usleep(700_000)  // the host reports expiries at the end of its loop's round
        // SIGKILL: a child of the test process inherits its blocked SIGTERM.
        kill(monitor.processIdentifier, SIGKILL)
        monitor.waitUntilExit()
        let seen = String(decoding: events.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(seen.contains(expire), "\(seen)")
        hosts.stop()
        #expect(try String(contentsOf: hosts.log("client"), encoding: .utf8).contains(expire))
    }

}
