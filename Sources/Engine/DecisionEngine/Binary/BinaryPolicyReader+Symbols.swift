// Reading the symbol tables (§3.3) into raw records that keep the file's values; the mapping to
// PolicyDB indices is in BinaryPolicyReader+Mapping.swift (§5).

/// An MLS level as written (§1.6).
struct RawLevel {
    var sensitivity: UInt32
    var categories: EBitmap
    var offset: Int
}

/// An MLS range as written (§1.6).
struct RawRange {
    var low: RawLevel
    var high: RawLevel
}

/// A permission: name and 1-based value (bit = value − 1).
struct RawPermission {
    var name: String
    var value: UInt32
}

struct RawCommon {
    var name: String
    var value: UInt32
    var permissions: [RawPermission]
    var offset: Int
}

/// One node of a postfix constraint expression (§3.3.3).
struct RawConstraintNode {
    var exprType: UInt32
    var attr: UInt32
    var op: UInt32
    var names: EBitmap?
    /// The type set as written (version ≥ 29, §3.3.3): types, excluded types and flags.
    var typeNames: (types: EBitmap, negset: EBitmap, flags: UInt32)? = nil
    var offset: Int
}

struct RawConstraint {
    var permissions: UInt32
    var nodes: [RawConstraintNode]
    var offset: Int
}

struct RawClass {
    var name: String
    var common: String?
    var value: UInt32
    var permissionCount: UInt32
    var permissions: [RawPermission]
    var constraints: [RawConstraint]
    var validateTrans: [RawConstraint]
    var defaults: (user: UInt32, role: UInt32, range: UInt32, type: UInt32)
    var offset: Int
}

struct RawRole {
    var name: String
    var value: UInt32
    var bounds: UInt32
    var dominates: EBitmap
    var types: EBitmap
    var offset: Int
}

struct RawType {
    var name: String
    var value: UInt32
    var isPrimary: Bool
    var isAttribute: Bool
    var bounds: UInt32
    var offset: Int
}

struct RawUser {
    var name: String
    var value: UInt32
    var bounds: UInt32
    var roles: EBitmap
    var range: RawRange?
    var defaultLevel: RawLevel?
    var offset: Int
}

struct RawBool {
    var name: String
    var value: UInt32
    var state: Bool
    var offset: Int
}

struct RawSensitivity {
    var name: String
    var isAlias: Bool
    var level: RawLevel
    var offset: Int
}

struct RawCategory {
    var name: String
    var value: UInt32
    var isAlias: Bool
    var offset: Int
}

/// A symbol table's header: `nprim` (the value space) and its records (§1.3, §3.3).
struct RawTable<Record> {
    var valueCount: UInt32 = 0
    var records: [Record] = []
    var offset = 0
}

/// The caps of §4.3 on a table's value space.
enum SymbolCaps {
    static let classesAndTypes = 65535
    static let permissions = 32
    static let other = 1 << 20
}

extension BinaryPolicyReader {
    /// `nprim`, `nel`; refuses records with no value space and counts beyond the caps (§3.3, §4.3).
    mutating func tableHeader(_ section: BinaryPolicySection, minimumRecord: Int, cap: Int) throws(BinaryPolicyError) -> (
        valueCount: UInt32, records: Int, offset: Int
    ) {
        c.section = section
        let at = c.offset
        let nprim = try c.u32()
        guard Int(nprim) <= cap else { throw c.error(.countTooLarge(count: nprim, limit: cap), at: at) }
        let nelAt = c.offset
        let nel = try c.count(minimumSize: minimumRecord)
        guard nel == 0 || nprim > 0 else { throw c.error(.invalid("\(nel) records in a table with no values"), at: nelAt) }
        return (nprim, nel, at)
    }

    /// A sensitivity's or category's `isalias` word: 0 or 1 (§3.3.8, §3.3.9).
    mutating func aliasFlag() throws(BinaryPolicyError) -> Bool {
        let at = c.offset
        let flag = try c.u32()
        guard flag <= 1 else { throw c.error(.invalid("alias flag \(flag)"), at: at) }
        return flag == 1
    }

    mutating func level() throws(BinaryPolicyError) -> RawLevel {
        let at = c.offset
        let sens = try c.u32()
        return RawLevel(sensitivity: sens, categories: try c.ebitmap(), offset: at)
    }

    /// `items` (1 or 2), the sensitivities, then the category sets (§1.6).
    mutating func range() throws(BinaryPolicyError) -> RawRange {
        let at = c.offset
        let items = try c.u32()
        guard items == 1 || items == 2 else { throw c.error(.invalid("MLS range with \(items) levels (1 or 2)"), at: at) }
        let lowSens = try c.u32()
        let highSens = items == 2 ? try c.u32() : lowSens
        let lowCats = try c.ebitmap()
        let highCats = items == 2 ? try c.ebitmap() : lowCats
        return RawRange(
            low: RawLevel(sensitivity: lowSens, categories: lowCats, offset: at),
            high: RawLevel(sensitivity: highSens, categories: highCats, offset: at))
    }

    /// The permissions of a common or a class (§3.3.1).
    mutating func permissions(_ n: Int, valueCount: UInt32) throws(BinaryPolicyError) -> [RawPermission] {
        var out: [RawPermission] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            let at = c.offset
            let len = try c.nameLength()
            let value = try c.u32()
            let name = try c.name(len)
            guard value >= 1, value <= valueCount else { throw c.error(.indexOutOfRange(what: "permission \(name)", value: value), at: at) }
            out.append(RawPermission(name: name, value: value))
        }
        return out
    }

    mutating func readCommons() throws(BinaryPolicyError) {
        let (nprim, nel, at) = try tableHeader(.commons, minimumRecord: 17, cap: SymbolCaps.other)
        commons.valueCount = nprim
        commons.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let len = try c.nameLength()
            let value = try c.u32()
            let permAt = c.offset
            let permNprim = try c.u32()
            guard permNprim <= 32 else { throw c.error(.countTooLarge(count: permNprim, limit: 32), at: permAt) }
            let permNel = try c.count(minimumSize: 9, cap: 32)
            let name = try c.name(len)
            let perms = try permissions(permNel, valueCount: permNprim)
            commons.records.append(RawCommon(name: name, value: value, permissions: perms, offset: at))
        }
    }

    mutating func readClasses() throws(BinaryPolicyError) {
        let minimum = 25 + (version >= 19 ? 4 : 0) + (version >= 27 ? 12 : 0) + (version >= 28 ? 4 : 0)
        let (nprim, nel, at) = try tableHeader(.classes, minimumRecord: minimum, cap: SymbolCaps.classesAndTypes)
        classes.valueCount = nprim
        classes.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let len = try c.nameLength()
            let comlenAt = c.offset
            let comlen = try c.u32()
            guard Int(comlen) <= c.remaining else { throw c.error(.truncated(needed: Int(comlen), available: c.remaining), at: comlenAt) }
            let value = try c.u32()
            let permAt = c.offset
            let permNprim = try c.u32()
            guard permNprim <= 32 else { throw c.error(.countTooLarge(count: permNprim, limit: 32), at: permAt) }
            let permNel = try c.count(minimumSize: 9, cap: 32)
            let ncons = try c.count(minimumSize: 8)
            let name = try c.name(len)
            let common = comlen > 0 ? try c.name(Int(comlen)) : nil
            let perms = try permissions(permNel, valueCount: permNprim)
            var constraints: [RawConstraint] = []
            for _ in 0..<ncons { constraints.append(try constraint(validateTrans: false)) }
            var validate: [RawConstraint] = []
            if version >= 19 {
                let nvt = try c.count(minimumSize: 8)
                for _ in 0..<nvt { validate.append(try constraint(validateTrans: true)) }
            }
            var defaults: (user: UInt32, role: UInt32, range: UInt32, type: UInt32) = (0, 0, 0, 0)
            if version >= 27 {
                let dAt = c.offset
                defaults.user = try c.u32()
                defaults.role = try c.u32()
                defaults.range = try c.u32()
                if version >= 28 { defaults.type = try c.u32() }
                guard defaults.user <= 2, defaults.role <= 2, defaults.type <= 2, defaults.range <= (version >= 32 ? 7 : 6) else {
                    throw c.error(.invalid("class \(name): invalid default (\(defaults))"), at: dAt)
                }
            }
            classes.records.append(
                RawClass(
                    name: name, common: common, value: value, permissionCount: permNprim, permissions: perms,
                    constraints: constraints, validateTrans: validate, defaults: defaults, offset: at))
        }
    }

    /// A constraint or validatetrans record, with the stack rules of §3.3.3 checked as it is read.
    mutating func constraint(validateTrans: Bool) throws(BinaryPolicyError) -> RawConstraint {
        let at = c.offset
        let permissions = try c.u32()
        if validateTrans {
            guard permissions == 0 else { throw c.error(.invalid("validatetrans with permissions 0x\(String(permissions, radix: 16))"), at: at) }
        } else {
            guard permissions != 0 else { throw c.error(.invalid("constraint with no permission"), at: at) }
        }
        let nexpr = try c.count(minimumSize: 12)
        var nodes: [RawConstraintNode] = []
        nodes.reserveCapacity(nexpr)
        var depth = 0
        for _ in 0..<nexpr {
            let nodeAt = c.offset
            let exprType = try c.u32()
            let attr = try c.u32()
            let op = try c.u32()
            var names: EBitmap? = nil
            var typeNames: (types: EBitmap, negset: EBitmap, flags: UInt32)? = nil
            func bad(_ why: String) -> BinaryPolicyError { c.error(.invalid("constraint expression: \(why)"), at: nodeAt) }
            switch exprType {
            case 1:  // NOT
                guard depth >= 1, attr == 0, op == 0 else { throw bad("malformed NOT") }
            case 2, 3:  // AND, OR
                guard depth >= 2, attr == 0, op == 0 else { throw bad("malformed AND/OR") }
                depth -= 1
            case 4:  // ATTR
                guard [1, 2, 4, 32, 64, 128, 256, 512, 1024].contains(attr), (1...5).contains(op) else { throw bad("attribute \(attr) op \(op)") }
                guard op <= 2 || (attr != 1 && attr != 4) else { throw bad("dom/domby/incomp on users or types") }
                depth += 1
            case 5:  // NAMES
                let base = attr & 7, target = attr & ~7
                guard base == 1 || base == 2 || base == 4, target == 0 || target == 8 || (target == 16 && validateTrans) else {
                    throw bad("names attribute \(attr)")
                }
                guard op == 1 || op == 2 else { throw bad("names op \(op)") }
                names = try c.ebitmap()
                if version >= 29 {
                    let setAt = c.offset
                    let types = try c.ebitmap()
                    let negset = try c.ebitmap()
                    let flags = try c.u32()
                    guard flags <= 3 else { throw c.error(.invalid("type set flags \(flags)"), at: setAt) }
                    if base != 4 {
                        guard types.isEmpty, negset.isEmpty, flags == 0 else { throw c.error(.invalid("a type set on a user or role operand"), at: setAt) }
                    }
                    if base == 4 { typeNames = (types, negset, flags) }
                }
                depth += 1
            default:
                throw bad("unknown node type \(exprType)")
            }
            guard depth <= 5 else { throw bad("deeper than 5") }
            nodes.append(RawConstraintNode(exprType: exprType, attr: attr, op: op, names: names, typeNames: typeNames, offset: nodeAt))
        }
        guard depth == 1 else { throw c.error(.invalid("constraint expression leaves \(depth) values on the stack"), at: at) }
        return RawConstraint(permissions: permissions, nodes: nodes, offset: at)
    }

    mutating func readRoles() throws(BinaryPolicyError) {
        let (nprim, nel, at) = try tableHeader(.roles, minimumRecord: version >= 24 ? 37 : 33, cap: SymbolCaps.other)
        roles.valueCount = nprim
        roles.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let len = try c.nameLength()
            let value = try c.u32()
            let bounds = version >= 24 ? try c.u32() : 0
            let name = try c.name(len)
            let dominates = try c.ebitmap()
            let types = try c.ebitmap()
            roles.records.append(RawRole(name: name, value: value, bounds: bounds, dominates: dominates, types: types, offset: at))
        }
    }

    mutating func readTypes() throws(BinaryPolicyError) {
        let (nprim, nel, at) = try tableHeader(.types, minimumRecord: version >= 24 ? 17 : 13, cap: SymbolCaps.classesAndTypes)
        // From version 20 the type-attribute map at the end holds an ebitmap (≥ 12 bytes) per
        // value, so the value space is bounded by the bytes left (§3.12, §4.1).
        if version >= 20, Int(nprim) > c.remaining / 12 {
            throw c.error(.countTooLarge(count: nprim, limit: c.remaining / 12), at: at)
        }
        types.valueCount = nprim
        types.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let len = try c.nameLength()
            let value = try c.u32()
            var isPrimary: Bool, isAttribute = false, bounds: UInt32 = 0
            if version >= 24 {
                let propsAt = c.offset
                let properties = try c.u32()
                bounds = try c.u32()
                // Bits 4 and 8 are for modules and ignored by kernel readers (§3.3.5).
                guard properties & ~0xF == 0, properties & 3 != 2 else {
                    throw c.error(.invalid("type properties 0x\(String(properties, radix: 16))"), at: propsAt)
                }
                isPrimary = properties & 1 != 0
                isAttribute = properties & 2 != 0
            } else {
                let primAt = c.offset
                let primary = try c.u32()
                guard primary <= 1 else { throw c.error(.invalid("type primary flag \(primary)"), at: primAt) }
                isPrimary = primary == 1
            }
            let name = try c.name(len)
            types.records.append(RawType(name: name, value: value, isPrimary: isPrimary, isAttribute: isAttribute, bounds: bounds, offset: at))
        }
    }

    mutating func readUsers() throws(BinaryPolicyError) {
        let minimum = (version >= 24 ? 25 : 21) + (version >= 19 ? 36 : 0)
        let (nprim, nel, at) = try tableHeader(.users, minimumRecord: minimum, cap: SymbolCaps.other)
        users.valueCount = nprim
        users.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let len = try c.nameLength()
            let value = try c.u32()
            let bounds = version >= 24 ? try c.u32() : 0
            let name = try c.name(len)
            let roles = try c.ebitmap()
            var range: RawRange? = nil, level: RawLevel? = nil
            if version >= 19 {
                range = try self.range()
                level = try self.level()
            }
            users.records.append(RawUser(name: name, value: value, bounds: bounds, roles: roles, range: range, defaultLevel: level, offset: at))
        }
    }

    mutating func readBooleans() throws(BinaryPolicyError) {
        let (nprim, nel, at) = try tableHeader(.booleans, minimumRecord: 13, cap: SymbolCaps.other)
        bools.valueCount = nprim
        bools.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let value = try c.u32()
            let stateAt = c.offset
            let state = try c.u32()
            guard state <= 1 else { throw c.error(.invalid("boolean state \(state)"), at: stateAt) }
            let len = try c.nameLength()
            let name = try c.name(len)
            bools.records.append(RawBool(name: name, value: value, state: state == 1, offset: at))
        }
    }

    mutating func readSensitivities() throws(BinaryPolicyError) {
        let (nprim, nel, at) = try tableHeader(.sensitivities, minimumRecord: 25, cap: SymbolCaps.other)
        sensitivities.valueCount = nprim
        sensitivities.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let len = try c.nameLength()
            let isAlias = try aliasFlag()
            let name = try c.name(len)
            let level = try self.level()
            sensitivities.records.append(RawSensitivity(name: name, isAlias: isAlias, level: level, offset: at))
        }
    }

    mutating func readCategories() throws(BinaryPolicyError) {
        let (nprim, nel, at) = try tableHeader(.categories, minimumRecord: 13, cap: SymbolCaps.other)
        categories.valueCount = nprim
        categories.offset = at
        for _ in 0..<nel {
            let at = c.offset
            let len = try c.nameLength()
            let value = try c.u32()
            let isAlias = try aliasFlag()
            let name = try c.name(len)
            categories.records.append(RawCategory(name: name, value: value, isAlias: isAlias, offset: at))
        }
    }
}
