import Foundation
import IKEConfig
import IPsecModel
import Testing
import TestSupport
import XfrmManager

/// Apply files, keys and libreswan's own parser for the IKE tests.
enum IKETestSupport {
    static let addconn = "/usr/libexec/ipsec/addconn"
    static let readwriteconf = "/usr/libexec/ipsec/readwriteconf"

    /// A fixed pre-shared key per association (its bytes: 0xA5 repeated, then the name's length).
    static func psks(for file: ApplyFile) -> [String: KeyMaterial] {
        Dictionary(uniqueKeysWithValues: file.associations.map { ($0.name, KeyMaterial([UInt8](repeating: 0xA5, count: 31) + [UInt8($0.name.count)])) })
    }

    /// The hex text of a key as the secrets file holds it: what must appear nowhere else.
    static func exposed(_ key: KeyMaterial) -> String { String(key.exposedHex.dropFirst(2)) }

    /// A fresh directory under the temporary directory.
    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-ike-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// libreswan's parser on a conns file salabel wrote, wrapped in an `ipsec.conf` with an empty
    /// `config setup` that includes it (as Debian's does).
    static func libreswan(_ tool: String, conf: String, extra: [String] = []) throws -> ProcessResult {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let included = dir.appendingPathComponent("salabel.conf")
        try conf.write(to: included, atomically: true, encoding: .utf8)
        let main = dir.appendingPathComponent("ipsec.conf")
        try "config setup\n\ninclude \(included.path)\n".write(to: main, atomically: true, encoding: .utf8)
        return try runProcess(URL(fileURLWithPath: tool), ["--config", main.path] + extra)
    }

    /// What `readwriteconf` echoes back, per conn: each keyword's values in order (it writes some twice,
    /// the first time empty: `auto=` then `auto=ondemand`).
    static func echoed(_ conf: String) throws -> [String: [String: [String]]] {
        let r = try libreswan(readwriteconf, conf: conf)
        try #require(r.status == 0, "readwriteconf refused the file: \(r.stderr)")
        var out: [String: [String: [String]]] = [:]
        var conn: String?
        for line in r.stdout.split(separator: "\n") {
            if line.hasPrefix("conn ") {
                conn = String(line.dropFirst(5))
                out[conn!] = [:]
            } else if let c = conn, line.hasPrefix("\t"), let eq = line.firstIndex(of: "=") {
                let key = String(line.dropFirst()[..<eq]), value = String(line[line.index(after: eq)...])
                out[c]![key, default: []].append(value)
            }
        }
        return out
    }

    /// The last non-empty value readwriteconf gave a keyword.
    static func value(_ echoed: [String: [String]]?, _ keyword: String) -> String? {
        echoed?[keyword]?.last { !$0.isEmpty }
    }

    /// A two-host file; `associations` is the YAML list's text, indented by four spaces per item line.
    static func file(_ associations: String, top: String = "", v6: Bool = false) throws(ApplyFile.Error) -> ApplyFile {
        let (c, s) = v6 ? ("fd00::1", "fd00::2") : ("10.0.0.1", "10.0.0.2")
        return try ApplyFile(
            yaml: """
                hosts:
                  client: { address: "\(c)" }
                  server: { address: "\(s)" }
                \(top)
                associations:
                \(associations)
                """)
    }

    /// The path of an apply-file error, or nil when the text is accepted.
    static func refusal(_ associations: String, top: String = "") -> ApplyFile.Error? {
        switch Result(catching: { () throws(ApplyFile.Error) in try file(associations, top: top) }) {
        case .success: return nil
        case .failure(let e): return e
        }
    }
}
