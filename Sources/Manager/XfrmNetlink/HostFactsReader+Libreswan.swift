// salabel doctor's facts about libreswan (check 9 of Specs/manager/doctor.md): pluto's pid file,
// process, domain and control socket, and the labeled conns as libreswan's own parser reads them.

import Foundation
import HostCheck
import LinuxSystem

extension HostFactsReader {
    /// libreswan's facts; nil when it is not installed (no readwriteconf) and pluto does not run.
    /// - Parameter config: the `ipsec.conf` to read (libreswan's default: /etc/ipsec.conf).
    static func libreswan(config: String) -> LibreswanFacts? {
        var swan = LibreswanFacts(config: config)
        if let pidText = text(LibreswanFacts.pidFile), let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 {
            swan.pluto = .init(
                pid: pid, alive: entryExists(atPath: "/proc/\(pid)"),
                context: text("/proc/\(pid)/attr/current").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\0\n")) })
        }
        swan.controlSocketExists = entryExists(atPath: LibreswanFacts.controlSocket)
        swan.configExists = entryExists(atPath: config)
        let installed = entryExists(atPath: LibreswanFacts.readwriteconf)
        guard installed || swan.pluto?.alive == true else { return nil }
        guard installed else {
            swan.connsError = "\(LibreswanFacts.readwriteconf) (libreswan's parser) is not installed"
            return swan
        }
        let r = ChildProcess.run([LibreswanFacts.readwriteconf, "--config", config])
        guard r.status == 0 else {
            swan.connsError = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
            return swan
        }
        let files = configurationFiles(config)
        swan.conns = LibreswanFacts.labeledConns(readwriteconf: r.output).map { conn in
            var conn = conn
            conn.file = files.first { LibreswanFacts.declares(conn.name, in: $0.text) }?.path
            return conn
        }
        return swan
    }

    /// The configuration and the files it includes, depth first, each once (for naming the file that
    /// declares a conn: readwriteconf does not say).
    static func configurationFiles(_ path: String) -> [(path: String, text: String)] {
        var out: [(path: String, text: String)] = []
        var seen: Set<String> = []
        func visit(_ path: String) {
            guard out.count < 256, seen.insert(path).inserted, let body = text(path) else { return }
            out.append((path, body))
            for pattern in LibreswanFacts.includes(in: body) {
                let absolute = pattern.hasPrefix("/") ? pattern : (path as NSString).deletingLastPathComponent + "/" + pattern
                let dir = (absolute as NSString).deletingLastPathComponent, last = (absolute as NSString).lastPathComponent
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                for name in names.sorted() where LibreswanFacts.matches(name, pattern: last) { visit(dir + "/" + name) }
            }
        }
        visit(path)
        return out
    }
}
