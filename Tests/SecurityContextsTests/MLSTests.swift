import SecurityContexts
import Testing

/// The vocabulary of `Reference/mls-reference.conf`, built in Swift.
func referenceVocabulary() throws -> MLSVocabulary {
    let sensitivities: [MLSVocabulary.Sensitivity] = [
        .init("s0", aliases: ["unclassified"]), .init("s1"), .init("s2", aliases: ["secret"]),
        .init("s3", aliases: ["topsecret", "top"]),
    ]
    let aliases = [3: ["finance"], 9: ["legal"], 15: ["hr"]]
    let categories = (0..<16).map { MLSVocabulary.Category("c\($0)", aliases: aliases[$0] ?? []) }
    let levels = try ["s0:c0.c7", "s1:c0.c11", "s2:c0.c15", "s3:c0.c15"].map { try LevelSyntax(parsing: $0) }
    return try MLSVocabulary(sensitivities: sensitivities, categories: categories, levels: levels)
}

@Suite struct MLSTests {
    let standard = MLSVocabulary.standard

    func level(_ text: String, in vocabulary: MLSVocabulary = .standard) throws -> MLSLevel {
        try vocabulary.resolve(LevelSyntax(parsing: text))
    }

    func range(_ text: String, in vocabulary: MLSVocabulary = .standard) throws -> MLSRange {
        try vocabulary.resolve(RangeSyntax(parsing: text))
    }

    // MARK: Vocabulary

    @Test func standardVocabulary() throws {
        #expect(standard.sensitivities.count == 16)
        #expect(standard.categories.count == 1024)
        #expect(standard.sensitivities.first?.name == "s0" && standard.sensitivities.last?.name == "s15")
        #expect(standard.categories.last?.name == "c1023")
        #expect(standard.allowedCategories.allSatisfy { $0 == CategorySet(0...1023) })
        #expect(try level("s15:c0.c1023") == MLSLevel(sensitivity: 15, categories: CategorySet(0...1023)))
        #expect(standard.sensitivity(named: "s7") == 7 && standard.category(named: "c512") == 512)
        #expect(standard.sensitivity(named: "s16") == nil && standard.category(named: "c1024") == nil)
    }

    @Test func vocabularyErrors() throws {
        let s = [MLSVocabulary.Sensitivity("s0"), .init("s1", aliases: ["s0"])]
        #expect(throws: MLSVocabularyError("duplicate declaration of sensitivity 's0'")) {
            try MLSVocabulary(sensitivities: s, categories: [], levels: [])
        }
        #expect(throws: MLSVocabularyError("invalid category name 'c.1': use ASCII letters, digits and '_'")) {
            try MLSVocabulary(sensitivities: [.init("s0")], categories: [.init("c.1")], levels: [])
        }
        #expect(throws: MLSVocabularyError("sensitivity s0 used in multiple level definitions")) {
            try MLSVocabulary(
                sensitivities: [.init("s0")], categories: [.init("c0")],
                levels: [LevelSyntax(sensitivity: "s0"), LevelSyntax(sensitivity: "s0", categories: [.single("c0")])])
        }
        #expect(throws: MLSVocabularyError("level s0:c1: unknown category 'c1'")) {
            try MLSVocabulary(
                sensitivities: [.init("s0")], categories: [.init("c0")],
                levels: [LevelSyntax(sensitivity: "s0", categories: [.single("c1")])])
        }
        // A `level` statement may name a one-category range (checkpolicy accepts it).
        let vocabulary = try MLSVocabulary(
            sensitivities: [.init("s0"), .init("s1")], categories: [.init("c0"), .init("c1")],
            levels: [LevelSyntax(sensitivity: "s0", categories: [.range("c1", "c1")])])
        #expect(vocabulary.allowedCategories == [[1], []])
    }

    // MARK: Resolution errors

    struct Failure: Sendable, CustomTestStringConvertible {
        var range: String
        var kind: ContextParseError.Kind
        var message: String
        var testDescription: String { range }
    }

    static let failures: [Failure] = [
        Failure(range: "s16", kind: .unknownSensitivity("s16"), message: "unknown sensitivity 's16'"),
        Failure(range: "s0:c1024", kind: .unknownCategory("c1024"), message: "unknown category 'c1024'"),
        Failure(range: "s0-s0:c0.c2000", kind: .unknownCategory("c2000"), message: "unknown category 'c2000'"),
        Failure(
            range: "s0:c5.c2", kind: .reversedCategoryRange(low: "c5", high: "c2"),
            message: "category range 'c5.c2' is reversed; expected the lower category first"),
        Failure(
            range: "s0:c5.c5", kind: .degenerateCategoryRange(low: "c5", high: "c5"),
            message: "category range 'c5.c5' names one category twice; expected 'c5' alone"),
        Failure(
            range: "s1-s0", kind: .highDoesNotDominateLow(low: "s1", high: "s0"),
            message: "high level 's0' does not dominate low level 's1'"),
        Failure(
            range: "s0:c1-s0:c2", kind: .highDoesNotDominateLow(low: "s0:c1", high: "s0:c2"),
            message: "high level 's0:c2' does not dominate low level 's0:c1'"),
        Failure(
            range: "s0:c0,c1,c2-s5:c0.c1", kind: .highDoesNotDominateLow(low: "s0:c0.c2", high: "s5:c0.c1"),
            message: "high level 's5:c0.c1' does not dominate low level 's0:c0.c2'"),
    ]

    @Test(arguments: failures)
    func resolutionErrors(_ failure: Failure) throws {
        let syntax = try RangeSyntax(parsing: failure.range)
        let error = #expect(throws: ContextParseError.self) { try standard.resolve(syntax) }
        #expect(error?.kind == failure.kind)
        #expect(error?.offset == nil)
        #expect(error?.description == failure.message)
    }

    @Test func resolutionErrorsWithAliasesAndLevels() throws {
        let vocabulary = try referenceVocabulary()
        func failure(_ text: String) throws -> ContextParseError? {
            let syntax = try RangeSyntax(parsing: text)
            return #expect(throws: ContextParseError.self) { try vocabulary.resolve(syntax) }
        }
        // Categories a `level` statement does not allow.
        #expect(
            try failure("s0:c8")?.description
                == "category 'c8' is not allowed with sensitivity 's0' (s0 allows c0.c7)")
        #expect(
            try failure("unclassified:c6.legal")?.description
                == "category 'c8' is not allowed with sensitivity 'unclassified' (unclassified is an alias of s0; s0 allows c0.c7)")
        #expect(
            try failure("s0-s1:legal.hr")?.description
                == "category 'c12' is not allowed with sensitivity 's1' (s1 allows c0.c11)")
        #expect(
            try failure("s1:c1,legal,hr")?.description
                == "category 'hr' is not allowed with sensitivity 's1' (hr is an alias of c15; s1 allows c0.c11)")
        // Ranges through aliases resolve (as in the kernel); errors in them say what the alias stands for.
        #expect(try range("s0:c0.finance", in: vocabulary) == MLSRange(MLSLevel(sensitivity: 0, categories: CategorySet(0...3))))
        #expect(
            try failure("s2:legal.finance")?.description
                == "category range 'legal.finance' is reversed; expected the lower category first (legal is an alias of c9, finance is an alias of c3)")
        #expect(try failure("s2:c3.finance")?.kind == .degenerateCategoryRange(low: "c3", high: "finance"))
        #expect(
            try failure("s2:c3.finance")?.description
                == "category range 'c3.finance' names one category twice; expected 'c3' alone (finance is an alias of c3)")
        #expect(try failure("s4")?.kind == .unknownSensitivity("s4"))
        // Under checkpolicy's rule, `c5.c5` is `c5`.
        #expect(try vocabulary.resolve(LevelSyntax(parsing: "s2:c5.c5"), rule: .policySource) == MLSLevel(sensitivity: 2, categories: [5]))
        #expect(throws: ContextParseError.self) { try vocabulary.resolve(LevelSyntax(parsing: "s2:c5.c4"), rule: .policySource) }
        // Contexts without a range.
        #expect(throws: ContextParseError(.missingRange)) { try vocabulary.canonical(SecurityContext(parsing: "u:r:t")) }
    }

    // MARK: Relations

    struct Relation: Sendable, CustomTestStringConvertible {
        var a: String
        var b: String
        var relation: MLSRelation
        var testDescription: String { "\(a) \(relation) \(b)" }
    }

    static let relations: [Relation] = [
        Relation(a: "s0", b: "s0", relation: .equal),
        Relation(a: "s1", b: "s0", relation: .dominates),
        Relation(a: "s0", b: "s1", relation: .dominatedBy),
        Relation(a: "s0:c0", b: "s0", relation: .dominates),
        Relation(a: "s0:c0", b: "s0:c1", relation: .incomparable),
        Relation(a: "s1:c0", b: "s0:c0,c1", relation: .incomparable),
        Relation(a: "s1:c0.c2", b: "s0:c1", relation: .dominates),
        Relation(a: "s0:c1", b: "s1:c0.c2", relation: .dominatedBy),
        Relation(a: "s2:c0,c1", b: "s2:c1,c0", relation: .equal),
        Relation(a: "s2:c0.c3", b: "s2:c0,c1,c2,c3", relation: .equal),
        Relation(a: "s0:c0.c1023", b: "s15", relation: .incomparable),
        Relation(a: "s15:c0.c1023", b: "s0:c512", relation: .dominates),
        Relation(a: "s3", b: "s3:c0", relation: .dominatedBy),
        Relation(a: "s3:c100", b: "s3:c200", relation: .incomparable),
        Relation(a: "s5:c63,c64", b: "s5:c64", relation: .dominates),
        Relation(a: "s5:c63", b: "s4:c64", relation: .incomparable),
        Relation(a: "s0", b: "s15:c0.c1023", relation: .dominatedBy),
    ]

    @Test(arguments: relations)
    func relation(_ entry: Relation) throws {
        let a = try level(entry.a), b = try level(entry.b)
        #expect(a.relation(to: b) == entry.relation)
        // The converse relation.
        let converse: MLSRelation =
            switch entry.relation {
            case .dominates: .dominatedBy
            case .dominatedBy: .dominates
            default: entry.relation
            }
        #expect(b.relation(to: a) == converse)
        // The constraint-expression relations (dom and domby include eq).
        #expect(a.dominates(b) == (entry.relation == .equal || entry.relation == .dominates))
        #expect(a.isDominated(by: b) == (entry.relation == .equal || entry.relation == .dominatedBy))
        #expect(a.isIncomparable(with: b) == (entry.relation == .incomparable))
        #expect(a.satisfies(.dominates, b) == a.dominates(b))
        #expect(a.satisfies(.dominatedBy, b) == a.isDominated(by: b))
        #expect(a.satisfies(.equal, b) == (entry.relation == .equal))
        #expect(a.satisfies(.incomparable, b) == (entry.relation == .incomparable))
    }

    @Test func relationsAreThePartialOrderOfTheKernel() {
        // Exhaustive over small levels: dom is sensitivity >= and categories ⊇, nothing else.
        var levels: [MLSLevel] = []
        for sensitivity in 0..<3 {
            for bits in 0..<8 { levels.append(MLSLevel(sensitivity: sensitivity, categories: CategorySet((0..<3).filter { bits & (1 << $0) != 0 }))) }
        }
        for a in levels {
            for b in levels {
                let dom = a.sensitivity >= b.sensitivity && Set(a.categories).isSuperset(of: Set(b.categories))
                #expect(a.dominates(b) == dom)
                let expected: MLSRelation =
                    a == b ? .equal : dom ? .dominates : b.dominates(a) ? .dominatedBy : .incomparable
                #expect(a.relation(to: b) == expected)
            }
        }
    }

    @Test func rangeContainment() throws {
        // mls_range_contains(r1, r2): r2.low dom r1.low and r1.high dom r2.high.
        let table: [(String, String, Bool)] = [
            ("s0-s3:c0.c15", "s1:c2-s2:c2.c3", true),
            ("s0-s3:c0.c15", "s0-s3:c0.c15", true),
            ("s1-s3", "s0-s2", false),
            ("s0-s2:c0.c3", "s0-s3", false),
            ("s0-s2:c0.c3", "s0-s2:c0.c4", false),
            ("s0-s2:c0.c3", "s0:c1-s2:c0.c3", true),
            ("s0:c1-s2:c0.c3", "s0-s2:c0.c3", false),
            ("s0:c1-s2:c1,c2", "s0:c2-s2:c2", false),
        ]
        for (outer, inner, expected) in table {
            #expect(try range(outer).contains(range(inner)) == expected, "\(outer) contains \(inner)")
        }
        let r = try range("s1:c1-s3:c0.c5")
        #expect(try r.contains(level("s2:c1,c4")))
        #expect(try !r.contains(level("s2:c4")))
        #expect(try !r.contains(level("s0:c1")))
        #expect(try !r.contains(level("s3:c6")))
        #expect(try !MLSRange(low: level("s1"), high: level("s0")).isWellFormed)
        #expect(try !MLSRange(low: level("s0:c1"), high: level("s0:c2")).isWellFormed)
        #expect(try !standard.isValid(MLSRange(low: level("s0:c1"), high: level("s0:c2"))))
        #expect(try MLSRange(low: level("s0:c1"), high: level("s1:c1,c2")).isWellFormed)
        #expect(try range("s0").isSingleLevel && !range("s0-s1").isSingleLevel)
        #expect(try standard.isValid(range("s0-s15:c0.c1023")))
        #expect(!standard.isValid(MLSLevel(sensitivity: 16)))
        #expect(try !referenceVocabulary().isValid(MLSLevel(sensitivity: 0, categories: [8])))
    }

    // MARK: Canonical printing

    struct Canonical: Sendable, CustomTestStringConvertible {
        var context: String
        var kernel: String
        /// What libsepol prints, when it differs.
        var libsepol: String? = nil
        var testDescription: String { context }
    }

    static let canonicalTable: [Canonical] = [
        Canonical(context: "u:r:t:s0", kernel: "u:r:t:s0"),
        Canonical(context: "u:r:t:s0-s0", kernel: "u:r:t:s0"),
        Canonical(context: "u:r:t:s0:c0,c1", kernel: "u:r:t:s0:c0.c1", libsepol: "u:r:t:s0:c0,c1"),
        Canonical(context: "u:r:t:s0:c0,c1,c2", kernel: "u:r:t:s0:c0.c2"),
        Canonical(context: "u:r:t:s0:c2,c0,c1", kernel: "u:r:t:s0:c0.c2"),
        Canonical(context: "u:r:t:s0:c0.c3,c2,c5", kernel: "u:r:t:s0:c0.c3,c5"),
        Canonical(context: "u:r:t:s0:c0.c3,c4", kernel: "u:r:t:s0:c0.c4"),
        Canonical(context: "u:r:t:s0:c0,c2,c4", kernel: "u:r:t:s0:c0,c2,c4"),
        Canonical(context: "u:r:t:s0:c0,c1,c3,c4", kernel: "u:r:t:s0:c0.c1,c3.c4", libsepol: "u:r:t:s0:c0,c1,c3,c4"),
        Canonical(context: "u:r:t:s0:c0,c1,c2,c4,c5,c7", kernel: "u:r:t:s0:c0.c2,c4.c5,c7", libsepol: "u:r:t:s0:c0.c2,c4,c5,c7"),
        Canonical(context: "u:r:t:s0:c63,c64", kernel: "u:r:t:s0:c63.c64", libsepol: "u:r:t:s0:c63,c64"),
        Canonical(context: "u:r:t:s0:c0.c1023", kernel: "u:r:t:s0:c0.c1023"),
        Canonical(context: "u:r:t:s0-s15:c0.c1023", kernel: "u:r:t:s0-s15:c0.c1023"),
        Canonical(context: "u:r:t:s0:c0.c5-s0:c5,c0.c4", kernel: "u:r:t:s0:c0.c5"),
        Canonical(context: "u:r:t:s0:c9,c9,c9-s1:c1022,c1023,c9", kernel: "u:r:t:s0:c9-s1:c9,c1022.c1023", libsepol: "u:r:t:s0:c9-s1:c9,c1022,c1023"),
    ]

    @Test(arguments: canonicalTable)
    func canonicalPrinting(_ entry: Canonical) throws {
        let context = try SecurityContext(parsing: entry.context)
        #expect(try standard.canonical(context) == entry.kernel)
        #expect(try standard.canonical(context, style: .libsepol) == (entry.libsepol ?? entry.kernel))
        #expect(try standard.canonicalized(context).description == entry.kernel)
        #expect(try standard.canonicalized(context, style: .libsepol).description == (entry.libsepol ?? entry.kernel))
        // Canonical output resolves to the same range, and is a fixed point.
        let canonical = try SecurityContext(parsing: entry.kernel)
        #expect(try standard.resolve(canonical) == standard.resolve(context))
        #expect(try standard.canonical(canonical) == entry.kernel)
    }

    @Test func canonicalPrintingWithAliases() throws {
        let vocabulary = try referenceVocabulary()
        #expect(try vocabulary.canonical(SecurityContext(parsing: "u:r:t:unclassified:finance,c4-top:c0.hr")) == "u:r:t:s0:c3.c4-s3:c0.c15")
        #expect(
            try vocabulary.canonical(SecurityContext(parsing: "u:r:t:secret:legal,c10,c11-topsecret:c0.c15"))
                == "u:r:t:s2:c9.c11-s3:c0.c15")
        #expect(try vocabulary.canonical(SecurityContext(parsing: "u:r:t:s2:hr-secret:c15")) == "u:r:t:s2:c15")
        #expect(vocabulary.canonicalCategories([0, 1, 2, 9, 15]) == "c0.c2,c9,c15")
        #expect(vocabulary.text(MLSRange(low: MLSLevel(sensitivity: 0), high: MLSLevel(sensitivity: 2, categories: [0, 1]))) == "s0-s2:c0.c1")
        #expect(vocabulary.text(MLSLevel(sensitivity: 2, categories: [0, 1])) == "s2:c0.c1")
        #expect(vocabulary.sensitivityCount == 4 && vocabulary.categoryCount == 16)
        #expect(vocabulary.canonical(MLSRange(MLSLevel(sensitivity: 3))) == "s3")
        #expect(
            vocabulary.syntax(MLSLevel(sensitivity: 1, categories: [3, 4, 6]))
                == LevelSyntax(sensitivity: "s1", categories: [.range("c3", "c4"), .single("c6")]))
        #expect(
            vocabulary.syntax(MLSLevel(sensitivity: 1, categories: [3, 4, 6]), style: .libsepol)
                == LevelSyntax(sensitivity: "s1", categories: [.single("c3"), .single("c4"), .single("c6")]))
    }
}
