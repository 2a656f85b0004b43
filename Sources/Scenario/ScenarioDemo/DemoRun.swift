import DataPlaneHost
import DataPlaneNode
import DecisionEngine
import ESPCrypto
import Foundation
import Glibc
import IPsecModel
import LinuxSystem
public import Scenario
import XfrmManager

/// One run of the demo on the userspace data plane (ESP in UDP, RFC 3948): the two hosts, the
/// threads that run them, and what they logged. ``start(scenario:loopback:verbose:why:say:)``
/// makes the hosts and starts them, ``play()`` plays the five paths, ``finish()`` removes what
/// was made.
public final class DemoRun: @unchecked Sendable {  // its state is behind NSCondition/NSLock
    let network: DemoNetwork
    let hosts: [String: DataPlaneHost]
    let addresses: [String: IPAddress]
    let directory: String
    let verbose: Bool
    /// Why not the kernel's data plane.
    let why: String
    /// What each host holds, described before the hosts run.
    let saLines: [String]
    /// The server's ESP socket as the client host reaches it.
    let serverWire: SocketAddress
    private let output: DemoOutput
    private let events = NSCondition()
    private var log: [(host: String, event: DataPlaneHost.Event)] = []
    private let outputLock = NSLock()
    private let finished = NSCondition()
    private var running = 0

    /// Makes the demo's two hosts for `scenario` (the demo's: ``DemoScenario/load()``): network
    /// namespaces joined by veth when it runs as root, else (or with `loopback`) loopback ports;
    /// the SAs and SPD entries of its network with fresh keys; each host on a thread of its own.
    /// `why` says why not the kernel's data plane; `verbose` shows every check, not only the AVC
    /// records; the lines go to `say`. Call ``finish()`` when done.
    public static func start(
        scenario: Scenario, loopback: Bool, verbose: Bool, why: String,
        say: @escaping DemoOutput
    ) throws(DemoError) -> DemoRun {
        try DemoError.wrapping { try DemoRun(scenario: scenario, loopback: loopback, verbose: verbose, why: why, say: say) }
    }

    private init(scenario: Scenario, loopback: Bool, verbose: Bool, why: String, say: @escaping DemoOutput) throws {
        self.verbose = verbose
        self.why = why
        output = say
        let engine = try scenario.securityServer()
        let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: engine))
        let file = scenario.layout
        let keys = try KeyFile.generate(for: file) { n in try SecureBytes.random(count: n).withUnsafeBytes { Array($0) } }
        let names = ["client", "server"]
        var addresses: [String: IPAddress] = [:]
        for n in names { addresses[n] = file.hosts[n]!.address }
        self.addresses = addresses
        network = DemoNetwork.make(hosts: names.map { ($0, addresses[$0]!) }, loopback: loopback)
        var template = Array("/tmp/salabel-demo-XXXXXX".utf8CString)
        let made: UnsafeMutablePointer<CChar>
        switch pointerOrErrno({ mkdtemp(&template) }) {
        case .success(let path): made = path
        case .failure(let code):
            network.teardown()
            throw DemoError("mkdtemp: \(code.message)")
        }
        directory = String(cString: made)
        var hosts: [String: DataPlaneHost] = [:]
        do {
            for n in names {
                let desired = try ApplyPlanner.desired(file, host: n, keys: keys)
                let node = try DataPlaneNode(address: addresses[n]!, sas: desired.sas, policies: desired.policies, authorizer: authorizer)
                let bind = network.bindAddresses(addresses[n]!)
                hosts[n] = try DataPlaneHost(
                    node: node, esp: bind.esp, clear: bind.clear, controlPath: "\(directory)/\(n).sock",
                    namespace: network.namespace(n))
            }
        } catch {
            network.teardown()
            rmdir(directory)
            throw DemoError("\(error)")
        }
        for n in names {
            for m in names where m != n {
                hosts[n]!.peers[addresses[m]!] = DataPlaneHost.Peer(esp: hosts[m]!.espAddress, clear: hosts[m]!.clearAddress)
            }
        }
        self.hosts = hosts
        saLines = names.flatMap { n in
            hosts[n]!.node.resolver.mirror.sas.filter { $0.source == addresses[n]! }.map { sa in
                let alg = [sa.algorithms.aead, sa.algorithms.encryption, sa.algorithms.authentication].compactMap { $0?.name }.joined(separator: " + ")
                return
                    "SA \(n) → \(n == "client" ? "server" : "client"): spi 0x\(String(sa.spi, radix: 16)) \(alg), label \(sa.securityContext?.description ?? "none")"
            }
        }
        serverWire = hosts["client"]!.peers[addresses["server"]!]!.esp
        for (name, host) in hosts {
            host.log = { [weak self] e in self?.record(name, e) }
            let t = Thread { [self] in
                host.run()
                finished.lock(); running -= 1; finished.signal(); finished.unlock()
            }
            running += 1
            t.start()
        }
    }

    private func record(_ host: String, _ e: DataPlaneHost.Event) {
        events.lock()
        log.append((host, e))
        events.broadcast()
        events.unlock()
    }

    /// Waits for the next inbound event at `host` after `index`, at most two seconds.
    func nextReceived(at host: String, after index: Int) -> (Int, InboundResult)? {
        let deadline = Date().addingTimeInterval(2)
        events.lock()
        defer { events.unlock() }
        var i = index
        while true {
            while i < log.count {
                if log[i].host == host, case .received(let r, _) = log[i].event { return (i + 1, r) }
                i += 1
            }
            if !events.wait(until: deadline) { return nil }
        }
    }

    var mark: Int { events.lock(); defer { events.unlock() }; return log.count }

    func lastSentPacket(from host: String) -> [UInt8]? {
        events.lock()
        defer { events.unlock() }
        for e in log.reversed() where e.host == host {
            if case .sent(let r, _) = e.event, case .esp(let packet, _) = r.outcome { return packet }
        }
        return nil
    }

    /// Says one line (one at a time).
    func say(_ s: String) {
        outputLock.lock()
        output(s)
        outputLock.unlock()
    }

    /// Stops the hosts and waits for their threads (at most five seconds), deletes the namespaces
    /// and the directory of the hosts' local sockets.
    public func finish() {
        for h in hosts.values { h.stop() }
        finished.lock()
        let deadline = Date().addingTimeInterval(5)
        while running > 0 && finished.wait(until: deadline) {}
        finished.unlock()
        network.teardown()
        for n in ["client", "server"] { unlink("\(directory)/\(n).sock") }
        rmdir(directory)
    }
}
