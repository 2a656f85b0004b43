// Canonical printing of levels, ranges and contexts, as the kernel prints a context
// (security/selinux/ss/mls.c, mls_sid_to_context).

/// How runs of consecutive categories are printed.
public enum MLSPrintStyle: Sendable, Hashable {
    /// The kernel's `mls_sid_to_context`: every run of two or more consecutive
    /// categories is `cA.cB` (`c0,c1` prints `c0.c1`).
    case kernel
    /// libsepol's `mls_sid_to_context` (userspace: `sepol_sid_to_context`, checkpolicy, libsepol
    /// through 3.x): a run of exactly two is `cA,cB`; runs of three or more are `cA.cB`.
    case libsepol
}

extension MLSVocabulary {
    /// The categories of `set` by primary name, in order, runs joined as `style` says, items joined
    /// by `,` (`c0.c3,c7`). Empty for the empty set.
    public func canonicalCategories(_ set: CategorySet, style: MLSPrintStyle = .kernel) -> String {
        var text = ""
        for run in set.runs {
            precondition(run.upperBound < categories.count, "category index \(run.upperBound) is not in this vocabulary")
            if !text.isEmpty { text += "," }
            text += categories[run.lowerBound].name
            let length = run.count
            if length >= 3 || (length == 2 && style == .kernel) {
                text += "." + categories[run.upperBound].name
            } else if length == 2 {
                text += "," + categories[run.upperBound].name
            }
        }
        return text
    }

    /// A level as the kernel prints it: the sensitivity's primary name, then `:` and the canonical
    /// categories when there are any (`s0`, `s2:c0.c3,c7`).
    /// - Precondition: the level's indices are in this vocabulary.
    public func canonical(_ level: MLSLevel, style: MLSPrintStyle = .kernel) -> String {
        precondition(level.sensitivity < sensitivities.count, "sensitivity index \(level.sensitivity) is not in this vocabulary")
        let name = sensitivities[level.sensitivity].name
        if level.categories.isEmpty { return name }
        return name + ":" + canonicalCategories(level.categories, style: style)
    }

    /// A range as the kernel prints it: `low` when the levels are equal, `low-high` otherwise.
    /// - Precondition: the range's indices are in this vocabulary.
    public func canonical(_ range: MLSRange, style: MLSPrintStyle = .kernel) -> String {
        if range.isSingleLevel { return canonical(range.low, style: style) }
        return canonical(range.low, style: style) + "-" + canonical(range.high, style: style)
    }

    /// A context as the kernel prints it (`security_sid_to_context`): user, role and type as they
    /// are, then the range resolved and printed canonically (`u:r:t:s0-s1:c0.c3`).
    /// - Throws: `ContextParseError` when the context has no range or its range does not resolve
    ///   (see `resolve(_:rule:)`).
    public func canonical(_ context: SecurityContext, style: MLSPrintStyle = .kernel) throws(ContextParseError) -> String {
        let range = try resolve(context)
        return context.user + ":" + context.role + ":" + context.type + ":" + canonical(range, style: style)
    }

    /// The canonical written form of a level: primary names, categories in order, runs as `style` says.
    public func syntax(_ level: MLSLevel, style: MLSPrintStyle = .kernel) -> LevelSyntax {
        precondition(level.sensitivity < sensitivities.count, "sensitivity index \(level.sensitivity) is not in this vocabulary")
        var items: [CategoryItem] = []
        for run in level.categories.runs {
            precondition(run.upperBound < categories.count, "category index \(run.upperBound) is not in this vocabulary")
            let low = categories[run.lowerBound].name
            let high = categories[run.upperBound].name
            switch run.count {
            case 1: items.append(.single(low))
            case 2 where style == .libsepol: items.append(contentsOf: [.single(low), .single(high)])
            default: items.append(.range(low, high))
            }
        }
        return LevelSyntax(sensitivity: sensitivities[level.sensitivity].name, categories: items)
    }

    /// The canonical written form of a range: no high level when the levels are equal.
    public func syntax(_ range: MLSRange, style: MLSPrintStyle = .kernel) -> RangeSyntax {
        RangeSyntax(
            low: syntax(range.low, style: style),
            high: range.isSingleLevel ? nil : syntax(range.high, style: style))
    }

    /// The canonical text of a level (kernel style); the same as `canonical(_:style:)`.
    public func text(_ level: MLSLevel) -> String { canonical(level) }

    /// The canonical text of a range (kernel style); the same as `canonical(_:style:)`.
    public func text(_ range: MLSRange) -> String { canonical(range) }

    /// The context with its range resolved and rewritten canonically; its `description` equals
    /// `canonical(context, style:)`.
    /// - Throws: `ContextParseError` as `canonical(_:style:)`.
    public func canonicalized(_ context: SecurityContext, style: MLSPrintStyle = .kernel) throws(ContextParseError) -> SecurityContext {
        let range = try resolve(context)
        return SecurityContext(user: context.user, role: context.role, type: context.type, range: syntax(range, style: style))
    }
}
