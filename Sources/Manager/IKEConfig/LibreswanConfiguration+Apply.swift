public import XfrmManager
import IPsecModel

// From an apply file's IKE associations to one host's libreswan configuration
// (Specs/manager/apply.md, "Associations keyed by IKE").

extension LibreswanConfiguration {
    /// The configuration `host` needs for the associations of `file` keyed by IKE: a conn per
    /// association (left = `host`, right = the peer), and per pair of hosts one secret, the pre-shared
    /// key of the pair's first association by name that authenticates with one (both hosts choose the
    /// same one); associations with raw RSA keys carry the hosts' public keys in their conns instead.
    /// Empty when the host has no such association. With `psks` nil, the conns alone (no secrets:
    /// what predicting a negotiation needs, without the key file).
    /// - Throws: `ApplyFile.Error` with the field's path: an unknown host, a name that cannot name a
    ///   conn, a value libreswan could not read back, a missing pre-shared key.
    public static func forHost(_ file: ApplyFile, host: String, psks: [String: KeyMaterial]?) throws(ApplyFile.Error) -> LibreswanConfiguration {
        guard let me = file.hosts[host] else {
            throw ApplyFile.Error(path: "--host", message: "no host \(host) in the file (hosts: \(file.hosts.keys.sorted().joined(separator: ", ")))")
        }
        var conns: [LibreswanConn] = []
        var secretFor: [String: LibreswanSecret] = [:]
        for (i, a) in file.associations.enumerated() where a.between.0 == host || a.between.1 == host {
            guard case .ike(let options) = a.keying else { continue }
            let path = "associations[\(i)]"
            let name: LibreswanConnName
            do { name = try LibreswanConnName(association: a.name) } catch { throw ApplyFile.Error(path: "\(path).name", message: error.description) }
            guard let label = a.policyContext else {
                throw ApplyFile.Error(path: "\(path).policy_context", message: "an association keyed by IKE needs the SPD entry's label")
            }
            let initiator = a.between.0 == host
            let peerName = initiator ? a.between.1 : a.between.0
            let peer = file.hosts[peerName]!
            // The responder's port is on the responder's side of the selector.
            var mine: LibreswanConn.ProtoPort?, theirs: LibreswanConn.ProtoPort?
            if a.upperProtocol != 0 {
                mine = .init(proto: a.upperProtocol, port: initiator ? 0 : a.port)
                theirs = .init(proto: a.upperProtocol, port: initiator ? a.port : 0)
            }
            let conn = LibreswanConn(
                name: name, type: a.mode == .tunnel ? .tunnel : .transport, left: me.address, right: peer.address, secLabel: label,
                authBy: options.authentication == .rsa ? .rsasig : .secret, leftProtoPort: mine, rightProtoPort: theirs,
                auto: LibreswanConn.Auto(rawValue: options.auto.rawValue)!, esp: options.esp,
                leftRSASigKey: options.authentication == .rsa ? me.rsaSigKey : nil, rightRSASigKey: options.authentication == .rsa ? peer.rsaSigKey : nil,
                updown: options.updown, saLifetime: options.saLifetime, rekeyMargin: options.rekeyMargin,
                ikeLifetime: options.ikeLifetime)
            do { _ = try conn.text() } catch { throw ApplyFile.Error(path: path, message: error.description) }
            conns.append(conn)
            // Raw RSA keys need no secret here: the private key is in pluto's NSS database.
            guard options.authentication == .psk, let psks else { continue }
            let pair = [host, peerName].sorted().joined(separator: "\u{0}")
            guard let psk = psks[a.name] else {
                throw ApplyFile.Error(path: "key file", message: "no pre-shared key for association \(a.name) (run salabel keygen)")
            }
            if let kept = secretFor[pair], kept.conn < name { continue }
            secretFor[pair] = LibreswanSecret(left: me.address, right: peer.address, psk: psk, conn: name)
        }
        return LibreswanConfiguration(
            conns: conns.sorted { $0.name < $1.name }, secrets: secretFor.values.sorted { $0.conn < $1.conn })
    }
}
