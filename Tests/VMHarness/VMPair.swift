// Test support: two guests joined by an Ethernet link (`scripts/vm pair`), each its own kernel with its
// own policy and AVC: "left" is 192.0.2.1 and 2001:db8::1, "right" 192.0.2.2 and 2001:db8::2 on eth0.
//
//     let r = try VM.runPair(left: .init(script: "ping -c1 192.0.2.2"), right: .init(script: "sleep 5"))
//     #expect(r.left.exitStatus == 0)
//
// One call boots both guests at once (one vCPU each; the pair takes both VM slots). It throws as
// `VM.run` does, never skips.

import Foundation
import TestSupport

/// One side of a pair: its script and its `scripts/vm` run options.
public struct VMSide: Sendable {
    public var script: String
    public var files: [(source: String, dest: String)]
    /// The text of a policy.conf to compile and load instead of Debian's reference policy.
    public var policyConf: String?
    public var enforcing: Bool
    /// Adds libreswan's pluto, whack, addconn, getpeercon_server, readwriteconf and an NSS database (`--libreswan`).
    public var libreswan: Bool

    public init(
        script: String, files: [(source: String, dest: String)] = [], policyConf: String? = nil, enforcing: Bool = true,
        libreswan: Bool = false
    ) {
        self.script = script
        self.files = files
        self.policyConf = policyConf
        self.enforcing = enforcing
        self.libreswan = libreswan
    }
}

/// What a pair run produced: each side's result, and the wall time from start to both power-offs.
public struct VMPairResult: Sendable {
    public let left: VMResult
    public let right: VMResult
    public let wallSeconds: Double
}

extension VM {
    /// Boots two guests joined by a link and runs one script in each (`scripts/vm pair`).
    public static func runPair(left: VMSide, right: VMSide, timeout: Double = 180) throws -> VMPairResult {
        try checkDependencies()
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("salabel-vm-pair-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        var arguments = ["pair", "--timeout", String(timeout), "--result-dir", work.appendingPathComponent("result").path]
        var scripts: [String] = []
        for (name, side) in [("left", left), ("right", right)] {
            let scriptFile = work.appendingPathComponent("\(name).sh")
            try side.script.write(to: scriptFile, atomically: true, encoding: .utf8)
            scripts.append(scriptFile.path)
            if let policyConf = side.policyConf {
                let conf = work.appendingPathComponent("\(name)-policy.conf")
                try policyConf.write(to: conf, atomically: true, encoding: .utf8)
                arguments += ["--\(name)-policy", conf.path]
            }
            if !side.enforcing { arguments.append("--\(name)-permissive") }
            if side.libreswan { arguments.append("--\(name)-libreswan") }
            for file in side.files {
                guard !file.source.contains(":") else {
                    throw VMError.harnessFailed(status: -1, detail: "a source path with ':' cannot be passed to scripts/vm: \(file.source)")
                }
                arguments += ["--\(name)-file", "\(file.source):\(file.dest)"]
            }
        }
        arguments += scripts

        let stderrFile = work.appendingPathComponent("stderr")
        let start = Date()
        let run = try runProcess(
            repositoryRoot.appendingPathComponent("scripts/vm"), arguments, input: .null, currentDirectory: repositoryRoot,
            standardOutput: .discard, standardError: .file(stderrFile))
        let wall = Date().timeIntervalSince(start)
        let stderrText = run.stderr
        let result = work.appendingPathComponent("result")
        func side(_ name: String) throws -> VMResult {
            let dir = result.appendingPathComponent(name)
            let statusText = try? String(contentsOf: dir.appendingPathComponent("status"), encoding: .utf8)
            guard let statusText, let status = Int32(statusText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                let sideErr = (try? String(contentsOf: result.appendingPathComponent("\(name).stderr"), encoding: .utf8)) ?? ""
                let detail = "\(name): \(sideErr)\n\(stderrText)"
                if run.status == 124 { throw VMError.timedOut(seconds: timeout, detail: detail) }
                if detail.contains("scripts/deps vm") { throw VMError.missingDependency(detail.trimmingCharacters(in: .whitespacesAndNewlines)) }
                throw VMError.harnessFailed(status: run.status, detail: detail)
            }
            let outputData = (try? Data(contentsOf: dir.appendingPathComponent("output"))) ?? Data()
            let dmesg = (try? String(contentsOf: dir.appendingPathComponent("dmesg"), encoding: .utf8)) ?? ""
            return VMResult(
                output: String(decoding: outputData, as: UTF8.self), exitStatus: status, dmesg: dmesg,
                avcLines: VMResult.parseAVCLines(dmesg))
        }
        return VMPairResult(left: try side("left"), right: try side("right"), wallSeconds: wall)
    }
}
