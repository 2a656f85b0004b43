public import IPsecModel
import SecurityContexts
import XfrmManager

extension ScenarioStep {
    /// An outbound per-socket IPsec policy the client sets on its socket before it connects or sends
    /// (Specs/scenarios/README.md, "Steps"): the `ctx` and `tmpl` words of an `ip xfrm policy` line.
    /// The kernel run sets it with `setsockopt(SOL_IP, IP_IPSEC_POLICY)` (PF_KEY's format, which can
    /// carry a context) when it has a `ctx`, else with `IP_XFRM_POLICY` (xfrm_user's, which cannot).
    public struct SocketPolicy: Sendable, Hashable {
        /// The words as written.
        public var line: String
        /// The policy: direction out, a selector matching every flow of its family (PF_KEY's socket
        /// policies have no selector), `isSocketPolicy` set; its label is a placeholder
        /// when ``rawContext`` is given (the model reads the label from it).
        public var entry: PolicyEntry
        /// The `ctx` word as written, or nil for an unlabeled socket policy.
        public var rawContext: String?

        /// The option the kernel run sets: `IP_IPSEC_POLICY` (16) with a context, else `IP_XFRM_POLICY` (17); `IPV6_…` for IPv6 templates.
        public var optionName: String {
            let prefix = entry.selector.source.address.family == .inet6 ? "IPV6" : "IP"
            return prefix + (rawContext == nil ? "_XFRM_POLICY" : "_IPSEC_POLICY")
        }

        /// Parses `[ctx CONTEXT] tmpl …` (transport-mode templates, without `spi`, `reqid` or
        /// `level use`: what PF_KEY's `sadb_x_ipsecrequest` carries without addresses); the error
        /// says what is wrong.
        public static func parse(_ line: String) throws(ParseError) -> SocketPolicy {
            var words: [String]
            do { words = try IPXfrmSyntax.words(line) } catch { throw ParseError("\(error)") }
            guard let first = words.first, first == "ctx" || first == "tmpl" else {
                throw ParseError("expected `[ctx CONTEXT] tmpl …` (the ctx and tmpl words of an `ip xfrm policy` line)")
            }
            var raw: String?
            if let i = words.firstIndex(of: "ctx") {
                guard i == 0, i + 1 < words.count else { throw ParseError("ctx: expected one context, first") }
                raw = words[i + 1]
                words[i + 1] = placeholderContext
            }
            // Templates of either family: the selector takes the first template's.
            var parsed: PolicyEntry?
            var lastError = ""
            for any in ["0.0.0.0/0", "::/0"] {
                do {
                    let op = try IPXfrmSyntax.parse(words: ["policy", "add", "src", any, "dst", any, "dir", "out"] + words)
                    if case .addPolicy(let p) = op, p.templates.allSatisfy({ $0.family == p.selector.source.address.family }) {
                        parsed = p
                        break
                    }
                    lastError = "the templates' family differs from the selector's"
                } catch { lastError = "\(error)" }
            }
            guard var entry = parsed else { throw ParseError(lastError) }
            guard !entry.templates.isEmpty else { throw ParseError("expected at least one tmpl") }
            guard entry.mark == nil, entry.interfaceID == nil, entry.priority == 0, entry.action == .allow else {
                throw ParseError("only ctx and tmpl words: a socket policy has no mark, if_id, priority or action here")
            }
            for (n, t) in entry.templates.enumerated() {
                let what = "tmpl \(n + 1)"
                guard t.mode == .transport else { throw ParseError("\(what): only mode transport (PF_KEY carries a transport template without addresses)") }
                guard t.spi == 0, t.reqid == 0 else { throw ParseError("\(what): no spi or reqid in a socket policy here") }
                guard !t.optional else { throw ParseError("\(what): level use is not modelled") }
                // A transport template's addresses are the flow's (`xfrm_tmpl_resolve_one`); PF_KEY
                // carries none.
                entry.templates[n].source = .any(t.family)
                entry.templates[n].destination = .any(t.family)
            }
            entry.isSocketPolicy = true
            return SocketPolicy(line: line, entry: entry, rawContext: raw)
        }

        /// Why a socket policy line was refused.
        public struct ParseError: Error, CustomStringConvertible {
            public var description: String
            init(_ description: String) { self.description = description }
        }
    }
}

extension Scenario {
    /// Whether a step sets a labeled socket policy, which only PF_KEY's format carries
    /// (`IP_IPSEC_POLICY`): the kernel run loads af_key for it.
    public var usesPFKey: Bool {
        steps.contains {
            if case .traffic(let t) = $0.action, t.socketPolicy?.rawContext != nil { return true }
            return false
        }
    }
}
