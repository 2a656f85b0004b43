// Test support: salabel itself, built for the VM guest, and the guest kernel's policy as policy.conf text.
//
//     let salabel = try GuestSalabel.binary()          // builds once per test process
//     let conf = try GuestSalabel.referencePolicyConf()
//     let r = try VM.run(script: "…", files: [(salabel, GuestSalabel.guestPath), (conf, GuestSalabel.guestPolicyPath)])
//
// The guest has no Swift runtime: salabel is built with --static-swift-stdlib in its own scratch path
// (.build-vm-salabel), stripped, and passed with `files:`; scripts/vm brings the shared libraries `ldd`
// lists (libmnl, libselinux, libcrypto, libpcre2, libstdc++, …) at their host paths. A build failure
// throws (never skips).

import Foundation
import TestSupport

public enum GuestSalabel {
    /// Where tests put the binary in the guest.
    public static let guestPath = "/opt/salabel/salabel"
    /// Where tests put `referencePolicyConf()` in the guest.
    public static let guestPolicyPath = "/opt/salabel/refpolicy.conf"
    /// Where tests put `ctxLenTool()` in the guest.
    public static let guestCtxLenPath = "/opt/salabel/xfrm-ctxlen"
    /// The scratch path of the guest build (git-ignored, like every .build-*).
    public static let scratchPath = ".build-vm-salabel"

    /// The release build of `salabel` for the guest (a stripped copy when `strip` is available). Built
    /// once per process: `swift build -c release --product salabel --static-swift-stdlib
    /// --scratch-path .build-vm-salabel`. Throws `VMError.harnessFailed` with the build log's tail.
    public static func binary() throws -> String { try built.get() }

    /// How long the build took in this process (zero before `binary()` was called).
    public static var buildDuration: Duration { buildTime.value }

    /// Debian's reference policy (the one the guest loads by default) decompiled to policy.conf text with
    /// `checkpolicy -b -F -M`, so that salabel's engine (`--policy FILE.conf`) decides with the very policy
    /// the guest kernel enforces. Written once per process under the scratch path.
    public static func referencePolicyConf(binaryPolicy: String = "/etc/selinux/default/policy/policy.33") throws -> String {
        let out = repositoryRoot.appendingPathComponent(scratchPath).appendingPathComponent("refpolicy.conf").path
        try FileManager.default.createDirectory(
            atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.isReadableFile(atPath: binaryPolicy) else {
            throw VMError.missingDependency("\(binaryPolicy) (package selinux-policy-default)")
        }
        let (status, log) = try runTool(["checkpolicy", "-b", "-F", "-M", "-o", out, binaryPolicy])
        guard status == 0 else {
            if status == 127 { throw VMError.missingDependency("checkpolicy (package checkpolicy)") }
            throw VMError.harnessFailed(status: status, detail: "checkpolicy -b -F -M failed:\n\(log)")
        }
        return out
    }

    /// Tests/VM/xfrm-ctxlen.c, compiled with the host's C compiler (`cc -O2`): in the guest it dumps the
    /// SAs and SPD entries over NETLINK_XFRM and prints each stored context's `ctx_len` and trailing NULs,
    /// which iproute2 cannot show (it prints contexts with "%s"). Built once per process.
    public static func ctxLenTool() throws -> String { try ctxLenBuilt.get() }

    // MARK: - Implementation

    private static let ctxLenBuilt: Result<String, any Error> = Result {
        let source = repositoryRoot.appendingPathComponent("Tests/VM/xfrm-ctxlen.c").path
        let dir = repositoryRoot.appendingPathComponent(scratchPath).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let out = dir + "/xfrm-ctxlen"
        let (status, log) = try runTool(["cc", "-O2", "-Wall", "-o", out, source])
        guard status == 0 else {
            if status == 127 { throw VMError.missingDependency("a C compiler, cc (package gcc)") }
            throw VMError.harnessFailed(status: status, detail: "cc failed on \(source):\n\(log)")
        }
        return out
    }

    private final class Timer: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Duration = .zero
        var value: Duration {
            get { lock.lock(); defer { lock.unlock() }; return stored }
            set { lock.lock(); stored = newValue; lock.unlock() }
        }
    }
    private static let buildTime = Timer()

    /// Initialized once, thread-safely, on first use.
    private static let built: Result<String, any Error> = Result {
        let clock = ContinuousClock()
        let start = clock.now
        let path = try build()
        buildTime.value = clock.now - start
        return path
    }

    private static func build() throws -> String {
        let base = ["swift", "build", "-c", "release", "--product", "salabel", "--static-swift-stdlib", "--scratch-path", scratchPath]
        var (status, log) = try runTool(base)
        // Another writer in the same work tree makes SwiftPM stop with "was modified during the build":
        // one more try, then fail.
        if status != 0 && log.contains("modified during the build") { (status, log) = try runTool(base) }
        guard status == 0 else {
            throw VMError.harnessFailed(
                status: status,
                detail: "cannot build salabel for the guest (\(base.joined(separator: " "))):\n\(log.suffix(6000))")
        }
        let (binStatus, binLog) = try runTool(base + ["--show-bin-path"])
        let binDir = binLog.split(separator: "\n").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        let binary = binDir + "/salabel"
        guard binStatus == 0, FileManager.default.isExecutableFile(atPath: binary) else {
            throw VMError.harnessFailed(status: binStatus, detail: "salabel was built but not found at '\(binary)':\n\(binLog)")
        }
        // A stripped copy keeps the initramfs small (the unstripped binary is ~85 MB).
        let stripped = repositoryRoot.appendingPathComponent(scratchPath).appendingPathComponent("salabel-guest").path
        if let result = try? runTool(["strip", "-o", stripped, binary]), result.0 == 0 { return stripped }
        return binary
    }

    /// Runs a tool from PATH in the repository root; returns its status and its stdout+stderr.
    static func runTool(_ arguments: [String]) throws -> (Int32, String) {
        let r = try runProcess(
            URL(fileURLWithPath: "/usr/bin/env"), arguments, input: .null, currentDirectory: repositoryRoot,
            standardError: .standardOutput)
        return (r.status, r.stdout)
    }
}
