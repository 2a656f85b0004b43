import DataPlaneNode
import DecisionEngine
import Foundation
public import IPsecModel
import LinuxSystem
import XfrmManager

/// Why a host of an apply file could not be set up; the description is the message to print.
public struct DataPlaneSetupError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension DataPlaneHost {
    /// One host of a salabel apply file, as `salabel dataplane run` starts it: the SAs and SPD
    /// entries `salabel apply` would install in a kernel (keys from the file's key file), ESP in UDP
    /// on `espPort` and clear datagrams on `clearPort` at `bind` (default: the host's address in the
    /// file), the peers at their addresses on the same ports unless `peers` moves them, and the
    /// local socket at `control` (Specs/dataplane/endpoints.md).
    public struct ApplyFileHost: Sendable {
        public var file: String
        public var host: String
        public var control: String
        public var espPort: UInt16
        public var clearPort: UInt16
        public var bind: IPAddress?
        /// Where peers' sockets are when not at their address and the same ports: a host of the
        /// file, its address and its two ports (`option`: how the user wrote it, for an error).
        public var peers: [(option: String, host: String, address: IPAddress, espPort: UInt16, clearPort: UInt16)] = []
        /// The network namespace to open the sockets in (a name or a path).
        public var netns: String?
        /// A pcap file every datagram sent and received is written to (no keys).
        public var pcap: String?

        public init(file: String, host: String, control: String, espPort: UInt16, clearPort: UInt16) {
            self.file = file
            self.host = host
            self.control = control
            self.espPort = espPort
            self.clearPort = clearPort
        }

        /// Adds a peer as `--peer` gives it: `HOST=ADDRESS:ESP-PORT:CLEAR-PORT`, an IPv6 address in
        /// brackets (`[::1]:4500:4501`); the host is checked against the file by ``make(server:)``.
        public mutating func addPeer(_ option: String) throws(DataPlaneSetupError) {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw DataPlaneSetupError("--peer \(option): expected HOST=ADDRESS:ESP-PORT:CLEAR-PORT with a host of the file") }
            guard let (a, e, c) = Self.socketPair(parts[1]) else {
                throw DataPlaneSetupError("--peer \(option): expected ADDRESS:ESP-PORT:CLEAR-PORT (an IPv6 address in brackets: [::1]:4500:4501)")
            }
            peers.append((option, parts[0], a, e, c))
        }

        /// `ADDRESS:ESP-PORT:CLEAR-PORT`, or `[IPv6-ADDRESS]:ESP-PORT:CLEAR-PORT`; nil for anything
        /// else (an IPv6 address without brackets included).
        public static func socketPair(_ text: String) -> (address: IPAddress, espPort: UInt16, clearPort: UInt16)? {
            let address: Substring, rest: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
                address = text[text.index(after: text.startIndex)..<close]
                rest = text[text.index(close, offsetBy: 2)...]
            } else {
                guard let colon = text.firstIndex(of: ":") else { return nil }
                address = text[..<colon]
                rest = text[text.index(after: colon)...]
            }
            let ports = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard ports.count == 2, let a = IPAddress(String(address)), let e = UInt16(ports[0]), let c = UInt16(ports[1]) else { return nil }
            if !text.hasPrefix("[") && a.family == .inet6 { return nil }
            return (a, e, c)
        }

        /// The host, its sockets open, its decisions made by `server`; and the host's address in the file.
        public func make(server: SecurityServer) throws(DataPlaneSetupError) -> (host: DataPlaneHost, address: IPAddress) {
            // Read as `salabel apply` reads it: the same size limit, the same messages.
            let apply: ApplyFile, keys: KeyFile
            do { apply = try ApplyFile.read(from: file) } catch { throw DataPlaneSetupError("\(error)") }
            do { keys = try KeyFile.read(from: apply.keyFilePath(relativeTo: file)) } catch { throw DataPlaneSetupError("\(file): \(error)") }
            guard let me = apply.hosts[host] else { throw DataPlaneSetupError("no host \(host) in \(file)") }
            var peerSockets: [IPAddress: Peer] = [:]
            for (name, h) in apply.hosts where name != host {
                peerSockets[h.address] = Peer(esp: SocketAddress(h.address, espPort), clear: SocketAddress(h.address, clearPort))
            }
            for p in peers {
                guard let h = apply.hosts[p.host] else {
                    throw DataPlaneSetupError("--peer \(p.option): expected HOST=ADDRESS:ESP-PORT:CLEAR-PORT with a host of the file")
                }
                peerSockets[h.address] = Peer(esp: SocketAddress(p.address, p.espPort), clear: SocketAddress(p.address, p.clearPort))
            }
            let address = bind ?? me.address
            let dataPlane: DataPlaneHost
            do {
                let desired = try ApplyPlanner.desired(apply, host: host, keys: keys)
                let node = try DataPlaneNode(
                    address: me.address, sas: desired.sas, policies: desired.policies,
                    authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
                try FileManager.default.createDirectory(atPath: (control as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                dataPlane = try DataPlaneHost(
                    node: node, esp: SocketAddress(address, espPort), clear: SocketAddress(address, clearPort),
                    controlPath: control, namespace: netns.map(NetworkNamespace.init(nameOrPath:)))
            } catch { throw DataPlaneSetupError("\(error)") }
            dataPlane.peers = peerSockets
            if let pcap {
                do { try dataPlane.capture(to: pcap) } catch { throw DataPlaneSetupError("--pcap: \(error)") }
            }
            return (dataPlane, me.address)
        }
    }
}

/// Stops a host on SIGINT or SIGTERM, also on a signal that came before the host was made (it
/// stops as soon as it is attached), so that the local socket is removed however early the signal
/// comes. Make one before the host, attach the host, run it.
public final class HostStopper: @unchecked Sendable {  // its state is behind `lock`
    private let lock = NSLock()
    private var host: DataPlaneHost?
    private var stopped = false
    private var sources: [any DispatchSourceSignal] = []

    /// Takes over SIGINT and SIGTERM for this process.
    public init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [unowned self] in stop() }
            source.resume()
            sources.append(source)
        }
    }

    /// The host a signal stops (at once, if one came already).
    public func attach(_ h: DataPlaneHost) {
        lock.lock()
        host = h
        let stop = stopped
        lock.unlock()
        if stop { h.stop() }
    }

    func stop() {
        lock.lock()
        stopped = true
        let h = host
        lock.unlock()
        h?.stop()
    }
}
