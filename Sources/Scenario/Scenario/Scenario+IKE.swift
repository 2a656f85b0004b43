public import IKEConfig
import SecurityContexts
import XfrmManager

// Associations keyed by IKE in a scenario (Specs/scenarios/README.md, "Associations keyed by IKE"):
// each host of one runs pluto in the context `ike_daemon` names, with the conns `salabel apply`
// would write for it.

extension Scenario {
    /// Whether any association is keyed by IKE: the kernel run then starts a pluto per such host.
    public var usesIKE: Bool {
        layout.associations.contains { $0.keying != .static }
    }

    /// The hosts that take part in an association keyed by IKE, sorted.
    public var ikeHosts: [String] { Self.ikeHosts(of: layout) }

    static func ikeHosts(of layout: ApplyFile) -> [String] {
        Set(layout.associations.filter { $0.keying != .static }.flatMap { [$0.between.0, $0.between.1] }).sorted()
    }

    /// `host`'s libreswan conns, as `salabel apply --host` writes them (no secrets: the kernel run
    /// generates the pre-shared keys), for predicting which conn answers an ACQUIRE.
    public func ikeConfiguration(host: String) throws(Scenario.Error) -> LibreswanConfiguration {
        do { return try LibreswanConfiguration.forHost(layout, host: host, psks: nil) } catch {
            throw Error(file: name, path: error.path, message: error.message)
        }
    }

    /// Reads `ike_daemon` (top level, and per host) and checks what a scenario's IKE associations
    /// need: a daemon context for every host of one, and pre-shared keys (the kernel run generates
    /// them; a raw RSA key would have to be made in each guest's NSS database first).
    static func ikeDaemons(
        _ top: [String: Any], layout: ApplyFile, fail: (String, String) -> Scenario.Error
    ) throws(Scenario.Error) -> [String: SecurityContext] {
        func context(_ value: Any?, at path: String) throws(Scenario.Error) -> SecurityContext? {
            guard let value else { return nil }
            guard let text = value as? String else { throw fail(path, "expected the context pluto runs in") }
            do { return try SecurityContext(parsing: text) } catch { throw fail(path, "\(error)") }
        }
        let all = try context(top["ike_daemon"], at: "ike_daemon")
        let hosts = top["hosts"] as? [String: Any] ?? [:]
        var daemons: [String: SecurityContext] = [:]
        for name in hosts.keys.sorted() {
            let own = try context((hosts[name] as? [String: Any])?["ike_daemon"], at: "hosts.\(name).ike_daemon")
            if let c = own ?? all { daemons[name] = c }
        }
        for (i, a) in layout.associations.enumerated() {
            guard case .ike(let options) = a.keying else { continue }
            if options.authentication != .psk {
                throw fail(
                    "associations[\(i)].ike.authentication",
                    "a scenario's IKE associations authenticate with pre-shared keys (the kernel run generates them)")
            }
            for host in [a.between.0, a.between.1] where daemons[host] == nil {
                throw fail(
                    "hosts.\(host).ike_daemon",
                    "association \(a.name) is keyed by IKE: name the context \(host)'s pluto runs in (ike_daemon: at the top or on the host)")
            }
        }
        return daemons
    }
}
