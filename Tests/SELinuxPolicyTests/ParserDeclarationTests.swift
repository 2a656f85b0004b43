import Testing
import SELinuxPolicy
import SecurityContexts

/// One test per declaration statement, asserting the exact syntax tree.
@Suite struct ParserDeclarationTests {
    @Test func classDeclaration() throws {
        guard case .classDeclaration(let name) = try parseOne("class file") else { Issue.record("kind"); return }
        #expect(name == "file")
    }

    @Test func initialSIDDeclarationFollowedByKeyword() throws {
        let statements = try parse("sid kernel\nsid security\nclass file")
        guard case .initialSIDDeclaration(let first) = statements[0].kind,
            case .initialSIDDeclaration(let second) = statements[1].kind,
            case .classDeclaration = statements[2].kind
        else { Issue.record("kinds"); return }
        #expect(first == "kernel" && second == "security")
        #expect(statements[1].location == SourceLocation(file: "test.conf", line: 2, column: 1))
    }

    @Test func common() throws {
        guard case .common(let name, let permissions) = try parseOne("common file { ioctl read write }")
        else { Issue.record("kind"); return }
        #expect(name == "file" && permissions == ["ioctl", "read", "write"])
    }

    @Test func classPermissions() throws {
        guard case .classPermissions(let name, let inherits, let permissions) = try parseOne("class process { fork sigchld }")
        else { Issue.record("kind"); return }
        #expect(name == "process" && inherits == nil && permissions == ["fork", "sigchld"])

        guard case .classPermissions(let name2, let inherits2, let permissions2) = try parseOne("class dir inherits file")
        else { Issue.record("kind"); return }
        #expect(name2 == "dir" && inherits2 == "file" && permissions2 == [])

        guard case .classPermissions(_, let inherits3, let permissions3) = try parseOne("class dir inherits file { search }")
        else { Issue.record("kind"); return }
        #expect(inherits3 == "file" && permissions3 == ["search"])
    }

    @Test func defaultUserRoleType() throws {
        guard case .defaultUser(let classes, let object) = try parseOne("default_user { file dir } source;")
        else { Issue.record("kind"); return }
        #expect(classes == ["file", "dir"] && object == .source)
        guard case .defaultRole(let classes2, let object2) = try parseOne("default_role file target;")
        else { Issue.record("kind"); return }
        #expect(classes2 == ["file"] && object2 == .target)
        guard case .defaultType(let classes3, let object3) = try parseOne("DEFAULT_TYPE file SOURCE;")
        else { Issue.record("kind"); return }
        #expect(classes3 == ["file"] && object3 == .source)
    }

    @Test func defaultRange() throws {
        let cases: [(String, DefaultRange)] = [
            ("source low", .sourceLow), ("source high", .sourceHigh), ("source low-high", .sourceLowHigh),
            ("target low", .targetLow), ("target high", .targetHigh), ("target low-high", .targetLowHigh),
            ("glblub", .glblub),
        ]
        for (text, expected) in cases {
            guard case .defaultRange(let classes, let choice) = try parseOne("default_range { file } \(text);")
            else { Issue.record("kind"); return }
            #expect(classes == ["file"] && choice == expected)
        }
    }

    @Test func sensitivity() throws {
        guard case .sensitivity(let name, let aliases) = try parseOne("sensitivity s0 alias { unclassified u };")
        else { Issue.record("kind"); return }
        #expect(name == "s0" && aliases == ["unclassified", "u"])
        guard case .sensitivity(_, let none) = try parseOne("sensitivity s1;") else { Issue.record("kind"); return }
        #expect(none.isEmpty)
    }

    @Test func dominance() throws {
        guard case .dominance(let order) = try parseOne("dominance { s0 s1 s2 }") else { Issue.record("kind"); return }
        #expect(order == ["s0", "s1", "s2"])
        guard case .dominance(let single) = try parseOne("dominance s0") else { Issue.record("kind"); return }
        #expect(single == ["s0"])
    }

    @Test func category() throws {
        guard case .category(let name, let aliases) = try parseOne("category c0 alias zero;")
        else { Issue.record("kind"); return }
        #expect(name == "c0" && aliases == ["zero"])
    }

    @Test func levelSplitsCategoryRanges() throws {
        guard case .level(let value) = try parseOne("level s0:c0.c1023,c5;") else { Issue.record("kind"); return }
        #expect(value == level("s0", .range("c0", "c1023"), .single("c5")))
        guard case .level(let bare) = try parseOne("level s1;") else { Issue.record("kind"); return }
        #expect(bare == level("s1"))
    }

    @Test func policyCapability() throws {
        guard case .policyCapability(let name) = try parseOne("policycap network_peer_controls;")
        else { Issue.record("kind"); return }
        #expect(name == "network_peer_controls")
    }

    @Test func handleUnknown() throws {
        for value in [HandleUnknown.deny, .reject, .allow] {
            guard case .handleUnknown(let parsed) = try parseOne("handle_unknown \(value.rawValue);")
            else { Issue.record("kind"); return }
            #expect(parsed == value)
        }
    }

    @Test func attribute() throws {
        guard case .attribute(let name) = try parseOne("attribute domain;") else { Issue.record("kind"); return }
        #expect(name == "domain")
    }

    @Test func type() throws {
        guard case .type(let name, let aliases, let attributes) = try parseOne("type x alias {a b}, attr1, attr2;")
        else { Issue.record("kind"); return }
        #expect(name == "x" && aliases == ["a", "b"] && attributes == ["attr1", "attr2"])

        guard case .type(_, let aliases2, let attributes2) = try parseOne("type y alias z;")
        else { Issue.record("kind"); return }
        #expect(aliases2 == ["z"] && attributes2 == [])

        guard case .type(_, let aliases3, let attributes3) = try parseOne("type w, domain;")
        else { Issue.record("kind"); return }
        #expect(aliases3 == [] && attributes3 == ["domain"])
    }

    @Test func typeAlias() throws {
        guard case .typeAlias(let name, let aliases) = try parseOne("typealias t alias { old_t older_t };")
        else { Issue.record("kind"); return }
        #expect(name == "t" && aliases == ["old_t", "older_t"])
    }

    @Test func typeAttribute() throws {
        guard case .typeAttribute(let type, let attributes) = try parseOne("typeattribute t a, b;")
        else { Issue.record("kind"); return }
        #expect(type == "t" && attributes == ["a", "b"])
    }

    @Test func expandAttribute() throws {
        guard case .expandAttribute(let attributes, let expand) = try parseOne("expandattribute { a b } false;")
        else { Issue.record("kind"); return }
        #expect(attributes == ["a", "b"] && expand == false)
    }

    @Test func typeBounds() throws {
        guard case .typeBounds(let bounding, let bounded) = try parseOne("typebounds parent_t child_t, other_t;")
        else { Issue.record("kind"); return }
        #expect(bounding == "parent_t" && bounded == ["child_t", "other_t"])
    }

    @Test func permissive() throws {
        guard case .permissive(let name) = try parseOne("permissive t;") else { Issue.record("kind"); return }
        #expect(name == "t")
    }

    @Test func neverAudit() throws {
        guard case .neverAudit(let name) = try parseOne("neveraudit t;") else { Issue.record("kind"); return }
        #expect(name == "t")
    }

    @Test func boolAndTunable() throws {
        guard case .bool(let name, let value, let isTunable) = try parseOne("bool b true;")
        else { Issue.record("kind"); return }
        #expect(name == "b" && value && !isTunable)
        guard case .bool(_, let value2, let isTunable2) = try parseOne("TUNABLE tb FALSE;")
        else { Issue.record("kind"); return }
        #expect(!value2 && isTunable2)
    }

    @Test func role() throws {
        guard case .role(let name, let types) = try parseOne("role r;") else { Issue.record("kind"); return }
        #expect(name == "r" && types == nil)
        guard case .role(_, let types2) = try parseOne("role r types { t1_t -t2_t };") else { Issue.record("kind"); return }
        #expect(types2 == names("t1_t", excluded: ["t2_t"]))
    }

    @Test func roleWithAttributes() throws {
        guard case .roleWithAttributes(let name, let attributes) = try parseOne("role r, ra1, ra2;")
        else { Issue.record("kind"); return }
        #expect(name == "r" && attributes == ["ra1", "ra2"])
    }

    @Test func attributeRole() throws {
        guard case .attributeRole(let name) = try parseOne("attribute_role ra;") else { Issue.record("kind"); return }
        #expect(name == "ra")
    }

    @Test func roleAttribute() throws {
        guard case .roleAttribute(let role, let attributes) = try parseOne("roleattribute r ra1, ra2;")
        else { Issue.record("kind"); return }
        #expect(role == "r" && attributes == ["ra1", "ra2"])
    }

    @Test func user() throws {
        guard
            case .user(let name, let roles, let userLevel, let range) =
                try parseOne("user u roles { r } level s0 range s0 - s0:c0.c1023;")
        else { Issue.record("kind"); return }
        #expect(name == "u" && roles == names("r"))
        #expect(userLevel == level("s0"))
        #expect(range == RangeSyntax(low: level("s0"), high: level("s0", .range("c0", "c1023"))))

        guard case .user(_, let roles2, let level2, let range2) = try parseOne("user u roles { ra rb };")
        else { Issue.record("kind"); return }
        #expect(roles2 == names("ra", "rb") && level2 == nil && range2 == nil)
    }

    @Test func rangeWithoutSpacesIsOneIdentifier() throws {
        // As in checkpolicy, `s0-s15` is one identifier (a sensitivity named "s0-s15").
        guard case .user(_, _, _, let range) = try parseOne("user u roles r level s0 range s0-s15;")
        else { Issue.record("kind"); return }
        #expect(range == RangeSyntax(low: level("s0-s15")))
    }
}
