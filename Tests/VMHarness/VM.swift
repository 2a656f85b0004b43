// Test support: run a shell script inside a real SELinux kernel with XFRM/ESP (Debian's kernel under
// QEMU), through scripts/vm. See Tests/VM/README.md for what the guest contains.
//
//     let result = try VM.run(script: "cat /sys/fs/selinux/enforce", files: [])
//     #expect(result.output == "1\n")
//
// One call is one boot (several seconds under TCG): batch many checks into one script.
// When QEMU, the kernel package or another VM package is missing, `run` throws (it never skips):
// install them with `scripts/deps vm`.

import Foundation
import TestSupport

/// What a guest run produced.
public struct VMResult: Sendable {
    /// The script's stdout and stderr, interleaved, exactly as written.
    public let output: String
    /// The script's exit status.
    public let exitStatus: Int32
    /// The guest's kernel log (dmesg) after the script.
    public let dmesg: String
    /// The AVC records of the kernel log (`avc:  denied …` and `avc:  granted …`), in order.
    public let avcLines: [String]

    /// The AVC denials only.
    public var denials: [String] { avcLines.filter { $0.contains("avc:  denied") } }

    /// The AVC lines that mention every one of `fragments`, e.g.
    /// `["denied", "{ setcontext }", "scontext=system_u:system_r:ipsec_supervisor_t:s0", "tclass=association"]`.
    public func avcLines(containing fragments: [String]) -> [String] {
        avcLines.filter { line in fragments.allSatisfy { line.contains($0) } }
    }

    /// The output lines of the form `KEY=VALUE`, a convenient way for a script to report many checks.
    public var keyValues: [String: String] {
        var values: [String: String] = [:]
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return values
    }

    /// Picks the AVC records out of a kernel log.
    public static func parseAVCLines(_ log: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.range(of: #"avc: +(denied|granted)"#, options: .regularExpression) != nil }
    }
}

/// Why a guest run could not produce a result.
public enum VMError: Error, CustomStringConvertible {
    /// A package the VM needs is missing (QEMU, the kernel, busybox, the policy, …).
    case missingDependency(String)
    /// The guest did not finish within the timeout.
    case timedOut(seconds: Double, detail: String)
    /// scripts/vm failed before or around the script (build error, setup error in the guest, …).
    case harnessFailed(status: Int32, detail: String)

    public var description: String {
        switch self {
        case .missingDependency(let what):
            return "VM harness: \(what) is missing; install the VM packages with `scripts/deps vm` (as root)"
        case .timedOut(let seconds, let detail):
            return "VM harness: the guest did not finish within \(seconds) s\n\(detail)"
        case .harnessFailed(let status, let detail):
            return "VM harness: scripts/vm failed (exit \(status))\n\(detail)"
        }
    }
}

public struct VM {
    /// Boots the VM once and runs `script` (busybox sh) as the guest's init, after the modules and the
    /// policy are loaded.
    /// - Parameters:
    ///   - script: the shell script's text. `ip` in it is iproute2; see Tests/VM/README.md for the helpers.
    ///   - files: host files to copy into the guest (`dest` absolute, or relative to /vm/files); ELF files
    ///     bring the shared libraries `ldd` lists.
    ///   - policyConf: the text of a policy.conf to compile with checkpolicy and load, instead of Debian's
    ///     reference policy (/etc/selinux/default/policy/policy.33).
    ///   - enforcing: enforcing (default) or permissive after the policy load.
    ///   - timeout: seconds before QEMU is killed (a TCG boot takes about 10 s).
    ///   - contexts: contexts the guest's init moves to, in order, before the script
    ///     (`/proc/self/attr/current`); empty: the script runs as the kernel's initial SID.
    ///   - binaryPolicyPath: a binary policy file to load (excludes `policyConf`).
    ///   - libreswan: add libreswan's pluto, whack, addconn, getpeercon_server, readwriteconf and an NSS database
    ///     (`scripts/vm --libreswan`).
    ///   - kernelArguments: kernel command-line words instead of `security=selinux`
    ///     (`scripts/vm --kernel-arg`), e.g. an `lsm=` that puts another LSM first; the script then
    ///     runs even when the kernel has no SELinux.
    public static func run(
        script: String,
        files: [(source: String, dest: String)] = [],
        policyConf: String? = nil,
        enforcing: Bool = true,
        timeout: Double = 120,
        contexts: [String] = [],
        binaryPolicyPath: String? = nil,
        libreswan: Bool = false,
        kernelArguments: [String] = []
    ) throws -> VMResult {
        try checkDependencies()
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("salabel-vm-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        let scriptFile = work.appendingPathComponent("script.sh")
        try script.write(to: scriptFile, atomically: true, encoding: .utf8)
        var arguments = ["run", "--timeout", String(timeout), "--result-dir", work.appendingPathComponent("result").path]
        if let policyConf {
            let conf = work.appendingPathComponent("policy.conf")
            try policyConf.write(to: conf, atomically: true, encoding: .utf8)
            arguments += ["--policy", conf.path]
        }
        if let binaryPolicyPath { arguments += ["--binary-policy", binaryPolicyPath] }
        if !enforcing { arguments.append("--permissive") }
        if libreswan { arguments.append("--libreswan") }
        for argument in kernelArguments { arguments += ["--kernel-arg", argument] }
        for context in contexts { arguments += ["--context", context] }
        for file in files {
            guard !file.source.contains(":") else {
                throw VMError.harnessFailed(status: -1, detail: "a source path with ':' cannot be passed to scripts/vm: \(file.source)")
            }
            arguments += ["--file", "\(file.source):\(file.dest)"]
        }
        arguments.append(scriptFile.path)

        let stderrFile = work.appendingPathComponent("stderr")
        guard fm.createFile(atPath: stderrFile.path, contents: nil) else {
            throw VMError.harnessFailed(status: -1, detail: "cannot create \(stderrFile.path)")
        }
        let run = try runProcess(
            repositoryRoot.appendingPathComponent("scripts/vm"), arguments, input: .null, currentDirectory: repositoryRoot,
            standardOutput: .discard, standardError: .file(stderrFile))

        let stderrText = run.stderr
        let result = work.appendingPathComponent("result")
        let statusText = try? String(contentsOf: result.appendingPathComponent("status"), encoding: .utf8)
        guard let statusText, let status = Int32(statusText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            // No status file: the script did not complete; scripts/vm said why on stderr.
            let status = run.status
            if status == 124 { throw VMError.timedOut(seconds: timeout, detail: stderrText) }
            if stderrText.contains("scripts/deps vm") { throw VMError.missingDependency(stderrText.trimmingCharacters(in: .whitespacesAndNewlines)) }
            throw VMError.harnessFailed(status: status, detail: stderrText)
        }
        let outputData = (try? Data(contentsOf: result.appendingPathComponent("output"))) ?? Data()
        let dmesg = (try? String(contentsOf: result.appendingPathComponent("dmesg"), encoding: .utf8)) ?? ""
        return VMResult(
            output: String(decoding: outputData, as: UTF8.self), exitStatus: status, dmesg: dmesg,
            avcLines: VMResult.parseAVCLines(dmesg))
    }

    /// Throws `VMError.missingDependency` naming the first thing the VM needs that is not installed.
    public static func checkDependencies() throws {
        let fm = FileManager.default
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        func inPath(_ tool: String) -> Bool {
            path.split(separator: ":").contains { fm.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
        guard inPath("qemu-system-x86_64") else { throw VMError.missingDependency("qemu-system-x86_64 (package qemu-system-x86)") }
        let kernels = ((try? fm.contentsOfDirectory(atPath: "/boot")) ?? []).filter { $0.hasPrefix("vmlinuz-") }
        guard !kernels.isEmpty else { throw VMError.missingDependency("a kernel in /boot (package linux-image-amd64)") }
        guard fm.isExecutableFile(atPath: "/bin/busybox") || fm.isExecutableFile(atPath: "/usr/bin/busybox") else {
            throw VMError.missingDependency("busybox (package busybox-static)")
        }
        guard fm.isExecutableFile(atPath: repositoryRoot.appendingPathComponent("scripts/vm").path) else {
            throw VMError.harnessFailed(status: -1, detail: "scripts/vm not found under \(repositoryRoot.path)")
        }
    }
}
