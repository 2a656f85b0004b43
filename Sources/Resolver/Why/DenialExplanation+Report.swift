import IPsecModel
public import DecisionEngine

// What `salabel why` prints: each explanation as lines for people and as a JSON-ready dictionary.

extension DenialExplanation.Carrier {
    /// One line: the SA, SPD entry or ACQUIRE with its label.
    public var line: String {
        switch self {
        case .sa(let sa):
            return "SA \(sa.source) → \(sa.destination) spi 0x\(String(sa.spi, radix: 16)) \(sa.proto) \(sa.mode) labeled "
                + (sa.securityContext?.description ?? "-")
        case .policy(let p):
            return "SPD entry index \(p.index) dir \(p.direction) \(p.selector.source) → \(p.selector.destination) labeled "
                + (p.securityContext?.description ?? "-")
        case .acquire(let a):
            return "pending ACQUIRE seq \(a.sequence) \(a.source) → \(a.destination) \(a.proto) for " + (a.label?.description ?? "no label")
        }
    }

    /// The carrier as a dictionary: `kind` (`sa`, `policy`, `acquire`), its endpoints, and its
    /// `label` when it has one.
    public var json: [String: Any] {
        var o: [String: Any]
        let label: String?
        switch self {
        case .sa(let sa):
            o = ["kind": "sa", "src": sa.source.description, "dst": sa.destination.description, "spi": Int(sa.spi), "proto": sa.proto.description]
            label = sa.securityContext?.description
        case .policy(let p):
            o = [
                "kind": "policy", "index": Int(p.index), "dir": p.direction.description, "src": p.selector.source.description,
                "dst": p.selector.destination.description,
            ]
            label = p.securityContext?.description
        case .acquire(let a):
            o = ["kind": "acquire", "seq": Int(a.sequence), "src": a.source.description, "dst": a.destination.description]
            label = a.label?.description
        }
        if let label { o["label"] = label }
        return o
    }
}

extension DenialExplanation.Fix {
    /// One line for people.
    public var line: String {
        switch self {
        case .allowRule(let rule, let check):
            let verdict: String
            switch check {
            case .passes: verdict = "the policy's neverallow rules take it"
            case .violates(let why): verdict = "but a neverallow forbids it: \(why)"
            case .notChecked(let why): verdict = "not checked against neverallow: \(why)"
            }
            return "add the rule `\(rule)` (\(verdict))"
        case .boolean(let name, let value): return "set the boolean \(name) to \(value) (setsebool -P \(name) \(value ? "on" : "off"))"
        case .constraint(let c):
            return "the contexts must satisfy `\(c.statement)`: no allow rule changes that; change a level, user, role or type instead"
        case .spdLabel(let allowed):
            return "the domain may polmatch these SPD labels of this host instead: \(allowed.map(\.description).joined(separator: ", "))"
        case .labelTheTraffic:
            return "the peer is unlabeled: the packet came on no labeled SA; give the flow a labeled SPD entry and an SA with the sender's label"
        case .bounds(let parent, let target, let stages):
            return "typebounds: the bounding type \(parent) is refused it on \(target) (\(stages.isEmpty ? "no decision" : stages.joined(separator: ", "))); "
                + "a bounded type gets no more than its bounding type, so the bounding type needs it first:"
        case .keyManager(let a):
            return "ACQUIRE seq \(a.sequence) for \(a.label?.description ?? "no label") is pending: no key manager has installed its SA"
        }
    }

    public var json: [String: Any] {
        switch self {
        case .allowRule(let rule, let check):
            var o: [String: Any] = ["kind": "allow_rule", "rule": rule]
            switch check {
            case .passes: o["neverallow"] = "passes"
            case .violates(let why):
                o["neverallow"] = "violates"
                o["why"] = why
            case .notChecked(let why):
                o["neverallow"] = "not_checked"
                o["why"] = why
            }
            return o
        case .boolean(let name, let value): return ["kind": "boolean", "name": name, "value": value]
        case .constraint(let c):
            return [
                "kind": "constraint", "mls": c.isMLS, "permissions": c.permissions, "expression": c.expression, "statement": c.statement,
                "terms": c.terms.map(\.json),
            ]
        case .spdLabel(let allowed): return ["kind": "spd_label", "allowed": allowed.map(\.description)]
        case .labelTheTraffic: return ["kind": "label_the_traffic"]
        case .bounds(let parent, let target, let stages): return ["kind": "bounds", "parent": parent, "target": target, "parent_stages": stages]
        case .keyManager(let a): return ["kind": "key_manager", "acquire": DenialExplanation.Carrier.acquire(a).json]
        }
    }
}

extension DenialExplanation {
    /// The explanation for people: the record, the check, the policy's answer, the carriers, the
    /// fixes (or why it is not explained).
    public var lines: [String] {
        var out = ["line \(logged.line)" + (logged.event.map { " (audit \($0))" } ?? "") + ": " + record.description]
        if let check {
            out.append("  check: \(check.id), \(check.function): \(check.meaning)")
            out.append("    subject \(record.scontext): \(check.subject)")
            out.append("    target \(record.tcontext): \(check.target)")
        }
        if let decision {
            switch decision.decision {
            case .allowed: out.append("  policy: allows it")
            case .denied(let stages):
                out.append("  policy: denies it (\(stages.joined(separator: ", ")))" + (decision.enforced ? "" : ", not enforced (permissive)"))
            case .undecided(let why): out.append("  policy: no decision: \(why)")
            }
        }
        for c in carriers { out.append("  carrier: \(c.line)") }
        if carriers.isEmpty && check != nil { out.append("  carrier: none on this host carries these labels") }
        for f in fixes {
            out.append("  fix: \(f.line)")
            if case .constraint(let c) = f {
                for t in c.terms { out.append("    `\(t.text)` \(t.holds ? "holds" : "fails"): \(t.explanation)") }
            }
        }
        if let unexplained { out.append("  not explained: \(unexplained)") }
        return out
    }

    /// The explanation as a dictionary: `line`, `event`, `avc`, and `check`, `policy`
    /// (``AccessQuery/json``), `carriers`, `fixes`, `unexplained` when they apply.
    public var json: [String: Any] {
        var o: [String: Any] = ["line": logged.line, "avc": record.description, "carriers": carriers.map(\.json), "fixes": fixes.map(\.json)]
        if let event = logged.event { o["event"] = event }
        if let check {
            o["check"] = [
                "id": check.id, "function": check.function, "meaning": check.meaning, "subject": check.subject, "target": check.target,
                "stage": check.stage,
            ]
        }
        if let decision { o["policy"] = decision.json }
        if let unexplained { o["unexplained"] = unexplained }
        return o
    }
}

extension ConstraintTerm {
    /// `text`, `holds`, `left` and `right` ({`name`, `value`}), `levels` for two levels
    /// ({`relation`, `sensitivity`, `other_sensitivity`, `sensitivity_order`, `lacking`, `extra`}),
    /// `explanation`.
    public var json: [String: Any] {
        func operand(_ o: Operand) -> [String: Any] { o.value.map { ["name": o.name, "value": $0] } ?? ["name": o.name] }
        var o: [String: Any] = ["text": text, "holds": holds, "left": operand(left), "right": operand(right), "explanation": explanation]
        if let l = levels {
            o["levels"] =
                [
                    "relation": l.relation.rawValue, "sensitivity": l.sensitivity, "other_sensitivity": l.otherSensitivity,
                    "sensitivity_order": l.sensitivityOrder.signum(), "lacking": l.lacking, "extra": l.extra,
                ] as [String: Any]
        }
        return o
    }
}
