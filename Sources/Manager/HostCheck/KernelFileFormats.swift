// The kernel files `salabel doctor` reads, parsed: /proc/net/xfrm_stat, /proc/cmdline,
// /sys/kernel/security/lsm, a kernel build configuration, /proc/modules and modules.builtin.
// Tests/Fixtures/doctor holds each as the Debian 6.1 kernel in the VM wrote it.

internal import Foundation

/// `/proc/net/xfrm_stat`: one `NAME<spaces and a tab>VALUE` line per counter of the namespace's
/// LINUX_MIB_XFRM* MIB (`net/xfrm/xfrm_proc.c`, `xfrm_statistics_seq_show`).
public struct XfrmStatistics: Sendable, Hashable {
    /// The counters in file order.
    public var counters: [(name: String, value: UInt64)]

    /// Parses the file; a line that is not a name and a number is an error (nil).
    public init?(parsing text: String) {
        var out: [(name: String, value: UInt64)] = []
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2, let value = UInt64(words[1]) else { return nil }
            out.append((String(words[0]), value))
        }
        counters = out
    }

    public subscript(name: String) -> UInt64? { counters.first { $0.name == name }?.value }

    public static func == (a: XfrmStatistics, b: XfrmStatistics) -> Bool {
        a.counters.map(\.name) == b.counters.map(\.name) && a.counters.map(\.value) == b.counters.map(\.value)
    }
    public func hash(into h: inout Hasher) {
        for c in counters {
            h.combine(c.name)
            h.combine(c.value)
        }
    }
}

/// The kernel command line (`/proc/cmdline`): its words, and the LSM parameters.
public struct KernelCommandLine: Sendable, Hashable {
    /// The words, split at spaces (the kernel's own quoting is not needed for the parameters read here).
    public var words: [String]

    public init(_ text: String) { words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init) }

    /// The value of the last `NAME=` word (the kernel's `__setup` handlers keep the last one).
    public func value(of name: String) -> String? {
        words.last { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// `lsm=a,b,c`: the order of LSMs asked for (overrides `security=` and CONFIG_LSM).
    public var lsmOrder: [String]? { value(of: "lsm").map(lsmList) }
    /// `security=NAME`: the one "major" LSM asked for (ignored when `lsm=` is given).
    public var security: String? { value(of: "security") }
}

/// A comma-separated LSM list (`/sys/kernel/security/lsm`, `lsm=`, CONFIG_LSM), without empty items.
public func lsmList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
}

/// A kernel build configuration (`.config` as in /boot/config-RELEASE).
public struct KernelConfig: Sendable, Hashable {
    /// `CONFIG_X` → its value (`y`, `m`, a quoted string without its quotes, a number); options
    /// written `# CONFIG_X is not set` map to `n`.
    public var options: [String: String]

    public init(parsing text: String) {
        var out: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
                let name = line.dropFirst(2).dropLast(" is not set".count)
                out[String(name)] = "n"
            } else if line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") {
                var value = String(line[line.index(after: eq)...])
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
                out[String(line[..<eq])] = value
            }
        }
        options = out
    }

    public subscript(name: String) -> String? { options[name] }
}

/// The names of the modules in `/proc/modules` (the first word of each line).
public func loadedModules(_ procModules: String) -> Set<String> {
    Set(procModules.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
}

/// The names of the modules built into the kernel, from `modules.builtin` (`kernel/net/ipv4/esp4.ko`
/// → `esp4`; the kernel's names use `_` where a file name may have `-`).
public func builtinModules(_ modulesBuiltin: String) -> Set<String> {
    Set(
        modulesBuiltin.split(separator: "\n").compactMap { line -> String? in
            guard let file = line.split(separator: "/").last, file.hasSuffix(".ko") else { return nil }
            return String(file.dropLast(3)).replacingOccurrences(of: "-", with: "_")
        })
}
