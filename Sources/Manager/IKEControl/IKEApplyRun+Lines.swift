import IKEConfig

// What `salabel apply` prints for the IKE part: words of the library, printed by the command.

extension IKEApplyRun.Plan {
    /// A dry run's lines: the files as they would be written (every key censored) and the conns that
    /// would be added, reloaded or deleted; for a removal, the conns and files that would go.
    public func dryRunLines(files: LibreswanFiles, host: String) -> [String] {
        guard changesFiles else { return ["\(host): libreswan: nothing to change (\(files.confPath) and \(files.secretsPath) are up to date)"] }
        var out: [String] = []
        if let confText, let secrets = censoredSecretsText {
            out.append("\(host): libreswan: would write \(files.confPath) (mode 0644):")
            out += confText.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "  " + $0 }
            out.append("\(host): libreswan: would write \(files.secretsPath) (mode 0600, keys censored):")
            out += secrets.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "  " + $0 }
        } else {
            out.append("\(host): libreswan: would remove \(files.confPath) and \(files.secretsPath)")
        }
        out += connLines(prefix: "\(host): libreswan: would ")
        return out
    }

    func connLines(prefix: String) -> [String] {
        added.map { "\(prefix)add conn \($0)" } + changed.map { "\(prefix)reload conn \($0) (changed)" }
            + removed.map { "\(prefix)delete conn \($0)" }
    }
}

extension IKEApplyRun.Outcome {
    /// What happened: files written or removed, each control command with its status, or why
    /// nothing was loaded.
    public func lines(files: LibreswanFiles, host: String) -> [String] {
        guard plan.changesFiles else { return ["\(host): libreswan: nothing to change (\(files.confPath) and \(files.secretsPath) are up to date)"] }
        var out: [String] = []
        if plan.configuration != nil {
            out.append("\(host): libreswan: wrote \(files.confPath) (mode 0644) and \(files.secretsPath) (mode 0600)")
            if !files.includedByDefault {
                out.append(
                    "\(host): libreswan: note: \(files.directory) is not Debian's /etc/ipsec.d: ipsec.conf and ipsec.secrets must include its *.conf and *.secrets"
                )
            }
        } else {
            out.append("\(host): libreswan: removed \(files.confPath) and \(files.secretsPath)")
        }
        out += plan.connLines(prefix: "\(host): libreswan: ")
        switch loading {
        case .skipped(let why):
            out.append("\(host): libreswan: not loaded: \(why)")
        case .loaded(let steps):
            for s in steps {
                let note = s.succeeded ? "" : s.arguments.contains("--delete") ? " (status \(s.status): pluto did not have it)" : " (status \(s.status))"
                out.append("\(host): libreswan: ran \(s.commandLine)\(note)")
            }
        }
        return out
    }
}
