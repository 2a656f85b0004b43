// Printing contexts, levels and ranges as written, and their string-based Codable and
// LosslessStringConvertible conformances.

extension CategoryItem: CustomStringConvertible {
    /// `c5` or `c0.c255`.
    public var description: String {
        switch self {
        case .single(let name): return name
        case .range(let low, let high): return "\(low).\(high)"
        }
    }
}

extension LevelSyntax: CustomStringConvertible, LosslessStringConvertible, Codable {
    /// `sensitivity` or `sensitivity:items`, items joined by `,` as written.
    public var description: String {
        if categories.isEmpty { return sensitivity }
        return sensitivity + ":" + categories.map(\.description).joined(separator: ",")
    }

    /// Parses a level; `nil` if `description` is not a valid level. See `init(parsing:)`.
    public init?(_ description: String) {
        guard let level = try? LevelSyntax(parsing: description) else { return nil }
        self = level
    }

    /// Decodes a level from its string form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do throws(ContextParseError) {
            self = try LevelSyntax(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the level as its string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension RangeSyntax: CustomStringConvertible, LosslessStringConvertible, Codable {
    /// `low` when there is no high level or it is syntactically equal to the low level,
    /// `low-high` otherwise.
    public var description: String {
        guard let high, high != low else { return low.description }
        return low.description + "-" + high.description
    }

    /// Parses a range; `nil` if `description` is not a valid range. See `init(parsing:)`.
    public init?(_ description: String) {
        guard let range = try? RangeSyntax(parsing: description) else { return nil }
        self = range
    }

    /// Decodes a range from its string form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do throws(ContextParseError) {
            self = try RangeSyntax(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the range as its string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The high level: the written one, or the low level when none was written.
    public var effectiveHigh: LevelSyntax { high ?? low }
}

extension SecurityContext: CustomStringConvertible, LosslessStringConvertible, Codable {
    /// `user:role:type` or `user:role:type:range`, the range printed as by `RangeSyntax.description`.
    public var description: String {
        var text = user + ":" + role + ":" + type
        if let range { text += ":" + range.description }
        return text
    }

    /// Parses a context; `nil` if `description` is not a valid context. See `init(parsing:)`.
    public init?(_ description: String) {
        guard let context = try? SecurityContext(parsing: description) else { return nil }
        self = context
    }

    /// Decodes a context from its string form (`"user:role:type:range"`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do throws(ContextParseError) {
            self = try SecurityContext(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the context as its string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
