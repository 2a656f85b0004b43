// The names of an MLS policy: sensitivities (in dominance order) and categories, their aliases, and
// which categories each sensitivity may carry. Resolves written levels and ranges to `MLSLevel` and
// `MLSRange`.

/// A vocabulary that cannot be built: a duplicate or invalid name, an unknown name in a `level`
/// statement, a sensitivity with two `level` statements.
public struct MLSVocabularyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// How a category range `cA.cB` must be ordered.
public enum CategoryRangeRule: Sendable, Hashable {
    /// The kernel's rule for context strings (`mls_context_to_sid`, also libsepol's): `cA` strictly
    /// before `cB`, so `c5.c5` is an error.
    case kernelContext
    /// checkpolicy's rule for policy sources (`level`, `user`, `range_transition` statements):
    /// `cA` not after `cB`, so `c5.c5` is `c5`.
    case policySource
}

/// The MLS names of a policy, and the rules that tie them together.
///
/// - Sensitivities are listed in dominance order, lowest first (the `dominance` statement); the
///   index of a sensitivity is its rank, as the kernel's sensitivity value minus one.
/// - Categories are listed in declaration order; the index of a category is its bit in a
///   `CategorySet`, as the kernel's category value minus one.
/// - Each sensitivity allows a set of categories (from its `level` statement); a level may only
///   carry allowed categories.
/// - Aliases resolve to their primary name everywhere, including as an end of a category range
///   (as in the kernel and checkpolicy); canonical output prints primary names only.
public struct MLSVocabulary: Sendable, Hashable {
    /// A sensitivity or a category: its primary name and its aliases.
    public struct Declaration: Sendable, Hashable {
        /// The primary name (the one printed).
        public var name: String
        /// Other names that resolve to this one.
        public var aliases: [String]

        /// Creates a declaration.
        public init(_ name: String, aliases: [String] = []) {
            self.name = name
            self.aliases = aliases
        }
    }

    /// A sensitivity declaration (`sensitivity s0 alias unclassified;`).
    public typealias Sensitivity = Declaration
    /// A category declaration (`category c0 alias finance;`).
    public typealias Category = Declaration

    /// The sensitivities, in dominance order (lowest first).
    public let sensitivities: [Sensitivity]
    /// The categories, in declaration order.
    public let categories: [Category]
    /// For each sensitivity (same index), the categories allowed with it.
    public let allowedCategories: [CategorySet]

    private let sensitivityIndex: [String: Int]
    private let categoryIndex: [String: Int]

    /// Creates a vocabulary with the allowed categories of each sensitivity given as sets
    /// (`allowedCategories[i]` for `sensitivities[i]`).
    /// - Throws: `MLSVocabularyError` for an empty, invalid or duplicate name or alias (names are
    ///   ASCII letters, digits and `_`), a count mismatch, or an allowed category out of range.
    public init(sensitivities: [Sensitivity], categories: [Category], allowedCategories: [CategorySet])
        throws(MLSVocabularyError)
    {
        guard allowedCategories.count == sensitivities.count else {
            throw MLSVocabularyError(
                "\(allowedCategories.count) allowed-category sets for \(sensitivities.count) sensitivities")
        }
        self.sensitivityIndex = try Self.index(sensitivities, kind: "sensitivity")
        self.categoryIndex = try Self.index(categories, kind: "category")
        for (index, allowed) in allowedCategories.enumerated() {
            if let last = allowed.last, last >= categories.count {
                throw MLSVocabularyError(
                    "sensitivity \(sensitivities[index].name) allows category index \(last), but there are \(categories.count) categories")
            }
        }
        self.sensitivities = sensitivities
        self.categories = categories
        self.allowedCategories = allowedCategories
    }

    /// Creates a vocabulary from declarations and `level` statements (`level s0:c0.c255;`), as a
    /// policy declares them. A sensitivity without a `level` statement allows no category.
    /// Category ranges in `levels` follow checkpolicy's rule (`CategoryRangeRule.policySource`).
    /// - Throws: `MLSVocabularyError` as `init(sensitivities:categories:allowedCategories:)`, and for
    ///   an unknown name in a level, a reversed range, or two levels for one sensitivity.
    public init(sensitivities: [Sensitivity], categories: [Category], levels: [LevelSyntax])
        throws(MLSVocabularyError)
    {
        let open = try MLSVocabulary(
            sensitivities: sensitivities, categories: categories,
            allowedCategories: Array(repeating: CategorySet(), count: sensitivities.count))
        var allowed = Array(repeating: CategorySet(), count: sensitivities.count)
        var defined = Set<Int>()
        for level in levels {
            let resolved: MLSLevel
            do throws(ContextParseError) {
                resolved = try open.resolveUnchecked(level, rule: .policySource)
            } catch {
                throw MLSVocabularyError("level \(level): \(error.message)")
            }
            guard defined.insert(resolved.sensitivity).inserted else {
                throw MLSVocabularyError(
                    "sensitivity \(sensitivities[resolved.sensitivity].name) used in multiple level definitions")
            }
            allowed[resolved.sensitivity] = resolved.categories
        }
        try self.init(sensitivities: sensitivities, categories: categories, allowedCategories: allowed)
    }

    /// The default of refpolicy's MLS build: sensitivities `s0`…`s15`, categories `c0`…`c1023`,
    /// every category allowed with every sensitivity, no aliases.
    public static let standard: MLSVocabulary = {
        let categories = (0..<1024).map { Category("c\($0)") }
        let all = CategorySet(0...1023)
        do {
            return try MLSVocabulary(
                sensitivities: (0..<16).map { Sensitivity("s\($0)") }, categories: categories,
                allowedCategories: Array(repeating: all, count: 16))
        } catch {
            fatalError("the standard vocabulary is valid: \(error)")
        }
    }()

    private static func index(_ declarations: [Declaration], kind: String) throws(MLSVocabularyError) -> [String: Int] {
        var index: [String: Int] = [:]
        for (position, declaration) in declarations.enumerated() {
            for name in [declaration.name] + declaration.aliases {
                guard ContextCharacters.isValidLevelName(name) else {
                    throw MLSVocabularyError("invalid \(kind) name '\(name)': use ASCII letters, digits and '_'")
                }
                guard index.updateValue(position, forKey: name) == nil else {
                    throw MLSVocabularyError("duplicate declaration of \(kind) '\(name)'")
                }
            }
        }
        return index
    }

    // MARK: Names

    /// The index of the sensitivity named `name` (a primary name or an alias).
    public func sensitivity(named name: String) -> Int? { sensitivityIndex[name] }

    /// The index of the category named `name` (a primary name or an alias).
    public func category(named name: String) -> Int? { categoryIndex[name] }

    /// Whether `level` belongs to this vocabulary: a known sensitivity, and only categories allowed
    /// with it (the kernel's `mls_level_isvalid`).
    public func isValid(_ level: MLSLevel) -> Bool {
        level.sensitivity < sensitivities.count && allowedCategories[level.sensitivity].isSuperset(of: level.categories)
    }

    /// Whether `range` belongs to this vocabulary: both levels valid and the high level dominating
    /// the low level (the kernel's `mls_range_isvalid`).
    public func isValid(_ range: MLSRange) -> Bool { isValid(range.low) && isValid(range.high) && range.isWellFormed }

    /// The number of sensitivities.
    public var sensitivityCount: Int { sensitivities.count }

    /// The number of categories.
    public var categoryCount: Int { categories.count }

    // MARK: Resolving

    /// Resolves a written level: names or aliases to indices, category ranges to their members.
    /// - Throws: `ContextParseError` for an unknown sensitivity or category, a category range
    ///   reversed (or, under `.kernelContext`, naming one category twice), or a category that the
    ///   sensitivity does not allow. Errors name what was written, and the primary name when an
    ///   alias was written.
    public func resolve(_ level: LevelSyntax, rule: CategoryRangeRule = .kernelContext) throws(ContextParseError) -> MLSLevel {
        let resolved = try resolveUnchecked(level, rule: rule)
        let allowed = allowedCategories[resolved.sensitivity]
        if let first = resolved.categories.subtracting(allowed).first {
            let written = writtenName(ofCategory: first, in: level)
            throw ContextParseError(
                .categoryNotAllowed(category: written, sensitivity: level.sensitivity),
                note: notes(category: written, index: first, sensitivity: level.sensitivity, at: resolved.sensitivity))
        }
        return resolved
    }

    /// Resolves a written range; a range without a high level is the one level.
    /// - Throws: `ContextParseError` as `resolve(_:rule:)` for either level, and
    ///   `.highDoesNotDominateLow` when the high level does not dominate the low level.
    public func resolve(_ range: RangeSyntax, rule: CategoryRangeRule = .kernelContext) throws(ContextParseError) -> MLSRange {
        let low = try resolve(range.low, rule: rule)
        guard let highSyntax = range.high else { return MLSRange(low) }
        let high = try resolve(highSyntax, rule: rule)
        let result = MLSRange(low: low, high: high)
        guard result.isWellFormed else {
            throw ContextParseError(.highDoesNotDominateLow(low: canonical(low), high: canonical(high)))
        }
        return result
    }

    /// Resolves the range of a context.
    /// - Throws: `ContextParseError.Kind.missingRange` when the context has none, otherwise as
    ///   `resolve(_:rule:)` for ranges.
    public func resolve(_ context: SecurityContext) throws(ContextParseError) -> MLSRange {
        guard let range = context.range else { throw ContextParseError(.missingRange) }
        return try resolve(range)
    }

    /// Resolves names and ranges without checking the categories the sensitivity allows.
    func resolveUnchecked(_ level: LevelSyntax, rule: CategoryRangeRule) throws(ContextParseError) -> MLSLevel {
        guard let sensitivity = sensitivityIndex[level.sensitivity] else {
            throw ContextParseError(.unknownSensitivity(level.sensitivity))
        }
        var categories = CategorySet()
        for item in level.categories {
            switch item {
            case .single(let name):
                categories.insert(try categoryIndex(of: name))
            case .range(let lowName, let highName):
                let low = try categoryIndex(of: lowName)
                let high = try categoryIndex(of: highName)
                if low > high {
                    throw ContextParseError(
                        .reversedCategoryRange(low: lowName, high: highName),
                        expected: "the lower category first",
                        note: rangeNote(lowName, low, highName, high))
                }
                if low == high && rule == .kernelContext {
                    throw ContextParseError(
                        .degenerateCategoryRange(low: lowName, high: highName),
                        expected: "'\(categoryName(low))' alone",
                        note: rangeNote(lowName, low, highName, high))
                }
                categories.insert(contentsOf: low...high)
            }
        }
        return MLSLevel(sensitivity: sensitivity, categories: categories)
    }

    private func categoryName(_ index: Int) -> String { categories[index].name }

    private func categoryIndex(of name: String) throws(ContextParseError) -> Int {
        guard let index = categoryIndex[name] else { throw ContextParseError(.unknownCategory(name)) }
        return index
    }

    private func rangeNote(_ lowName: String, _ low: Int, _ highName: String, _ high: Int) -> String? {
        var parts: [String] = []
        if categories[low].name != lowName { parts.append("\(lowName) is an alias of \(categories[low].name)") }
        if categories[high].name != highName { parts.append("\(highName) is an alias of \(categories[high].name)") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// The name under which category `index` was written in `level` (an alias, a range end, or the
    /// primary name when it is inside a range).
    private func writtenName(ofCategory index: Int, in level: LevelSyntax) -> String {
        for item in level.categories {
            switch item {
            case .single(let name) where categoryIndex[name] == index:
                return name
            case .range(let low, let high):
                if categoryIndex[low] == index { return low }
                if categoryIndex[high] == index { return high }
            default:
                continue
            }
        }
        return categories[index].name
    }

    private func notes(category written: String, index: Int, sensitivity: String, at sensitivityIndex: Int) -> String? {
        var parts: [String] = []
        if categories[index].name != written { parts.append("\(written) is an alias of \(categories[index].name)") }
        if sensitivities[sensitivityIndex].name != sensitivity {
            parts.append("\(sensitivity) is an alias of \(sensitivities[sensitivityIndex].name)")
        }
        let allowed = allowedCategories[sensitivityIndex]
        parts.append(
            allowed.isEmpty
                ? "\(sensitivities[sensitivityIndex].name) allows no category"
                : "\(sensitivities[sensitivityIndex].name) allows \(canonicalCategories(allowed, style: .kernel))")
        return parts.joined(separator: "; ")
    }

    // MARK: Equality

    /// Vocabularies are equal when their declarations and allowed categories are.
    public static func == (lhs: MLSVocabulary, rhs: MLSVocabulary) -> Bool {
        lhs.sensitivities == rhs.sensitivities && lhs.categories == rhs.categories
            && lhs.allowedCategories == rhs.allowedCategories
    }

    /// Hashes the declarations and allowed categories.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(sensitivities)
        hasher.combine(categories)
        hasher.combine(allowedCategories)
    }
}
