import Foundation
import Testing

/// `salabel keygen`, two `salabel dataplane run` hosts on loopback ports, and the labeled-echo
/// example against them: the whole user path of the userspace data plane, in separate processes.
@Suite(.serialized) struct DataPlaneCLITests {
    @Test func exampleEchoThroughTwoDataPlaneHosts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-dp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let apply = dir.appendingPathComponent("echo.yaml")
        try """
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }
        associations:
          - { name: echo, between: [client, server], context: system_u:system_r:echoclient_t:s0,
              reply_context: system_u:system_r:echoserver_t:s0, policy_context: system_u:object_r:ipsec_spd_t:s0,
              selector: { proto: udp, port: 7 } }
        key_file: echo.keys
        """.write(to: apply, atomically: true, encoding: .utf8)
        let keygen = try CLITests.salabel("keygen", apply.path)
        try #require(keygen.status == 0, "\(keygen.stderr)")

        let base = UInt16.random(in: 20000...29000)
        let ports = ["client": base, "server": base + 10]
        var hosts: [Process] = []
        defer { for p in hosts { p.terminate(); p.waitUntilExit() } }
        for (name, port) in ports {
            let peer = name == "client" ? "server" : "client"
            let p = Process()
            p.executableURL = CLITests.binary
            p.arguments = ["dataplane", "run", apply.path, "--host", name, "--control", dir.appendingPathComponent("\(name).sock").path,
                           "--bind", "127.0.0.1", "--esp-port", "\(port)", "--clear-port", "\(port + 1)",
                           "--peer", "\(peer)=127.0.0.1:\(ports[peer]!):\(ports[peer]! + 1)"]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            hosts.append(p)
        }
        for name in ports.keys {
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(name).sock").path) { usleep(50_000) }
        }
        let example = CLITests.binary.deletingLastPathComponent().appendingPathComponent("labeled-echo")
        let server = Process()
        server.executableURL = example
        server.arguments = ["server", "--control", dir.appendingPathComponent("server.sock").path, "--count", "1"]
        let serverOut = Pipe()
        server.standardOutput = serverOut
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var reply: CLITests.Run?
        for _ in 0..<20 {
            let r = try CLITests.run(example, ["client", "--control", dir.appendingPathComponent("client.sock").path, "--to", "10.77.0.2", "hello", "there"])
            reply = r
            if r.status == 0 { break }
            usleep(100_000)  // the server may not have bound its port yet
        }
        let r = try #require(reply)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("as system_u:system_r:echoclient_t:s0: esp spi=0x"))
        #expect(r.stdout.contains("reply from 10.77.0.2:7, label system_u:system_r:echoserver_t:s0: hello there\n"))
        server.waitUntilExit()
        let served = String(decoding: serverOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(served.contains("label system_u:system_r:echoclient_t:s0: hello there\n"), "\(served)")
    }
}
