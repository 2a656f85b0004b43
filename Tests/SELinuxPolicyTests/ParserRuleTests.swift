import Testing
import SELinuxPolicy
import SecurityContexts

/// One test per rule statement (TE, RBAC, constraints, conditionals), asserting the exact syntax tree.
@Suite struct ParserRuleTests {
    @Test func avRuleKinds() throws {
        let kinds: [AVRuleKind] = [.allow, .auditallow, .auditdeny, .dontaudit, .neverallow]
        for kind in kinds {
            guard
                case .avRule(let parsed, let sources, let targets, let classes, let permissions) =
                    try parseOne("\(kind.rawValue) { a b } self:{ file dir } { read write };")
            else { Issue.record("kind"); return }
            #expect(parsed == kind)
            #expect(sources == names("a", "b") && targets == names("self"))
            #expect(classes == names("file", "dir") && permissions == names("read", "write"))
        }
    }

    @Test func avRuleSets() throws {
        guard
            case .avRule(_, let sources, let targets, let classes, let permissions) =
                try parseOne("allow { domain -init_t { x_t -y_t } } ~{ a b }:file *;")
        else { Issue.record("kind"); return }
        #expect(sources == NameSet(included: ["domain", "x_t"], excluded: ["init_t", "y_t"]))
        #expect(targets == NameSet(included: ["a", "b"], isComplement: true))
        #expect(classes == names("file"))
        #expect(permissions == NameSet(isAll: true))

        guard case .avRule(_, let minus, _, _, let complement) = try parseOne("neverallow a - b c:file ~read;")
        else { Issue.record("kind"); return }
        #expect(minus == names("a", excluded: ["b"]))
        #expect(complement == NameSet(included: ["read"], isComplement: true))
    }

    @Test func roleAllowIsToldApartFromTEAllow() throws {
        guard case .roleAllow(let from, let to) = try parseOne("allow { ra rb } rc;") else { Issue.record("kind"); return }
        #expect(from == names("ra", "rb") && to == names("rc"))
        guard case .avRule(.allow, _, _, _, _) = try parseOne("allow a b:c p;") else { Issue.record("kind"); return }
    }

    @Test func extendedPermissionRule() throws {
        guard
            case .extendedPermissionRule(let kind, let sources, let targets, let classes, let operation, let tokens) =
                try parseOne("allowxperm a b:tcp_socket ioctl { 0x1 0x2-0x5 };")
        else { Issue.record("kind"); return }
        #expect(kind == "allowxperm" && sources == names("a") && targets == names("b"))
        #expect(classes == names("tcp_socket") && operation == "ioctl")
        #expect(tokens == ["{", "0x1", "0x2", "-", "0x5", "}"])

        for kind in ["auditallowxperm", "dontauditxperm", "neverallowxperm"] {
            guard
                case .extendedPermissionRule(let parsed, _, _, _, _, let tokens2) =
                    try parseOne("\(kind) a b:c ioctl ~{ 35088 { 0x8910 } };")
            else { Issue.record("kind"); return }
            #expect(parsed == kind)
            #expect(tokens2 == ["~", "{", "35088", "{", "0x8910", "}", "}"])
        }
        guard case .extendedPermissionRule(_, _, _, _, let nlmsg, let single) = try parseOne("allowxperm a b:c nlmsg 0x12;")
        else { Issue.record("kind"); return }
        #expect(nlmsg == "nlmsg" && single == ["0x12"])
    }

    @Test func typeRules() throws {
        guard
            case .typeRule(let kind, let sources, let targets, let classes, let newType, let objectName) =
                try parseOne(#"type_transition a_t b_t:dir c_t "Maildir";"#)
        else { Issue.record("kind"); return }
        #expect(kind == .typeTransition && sources == names("a_t") && targets == names("b_t"))
        #expect(classes == names("dir") && newType == "c_t" && objectName == "Maildir")

        guard case .typeRule(let member, _, _, _, _, let none) = try parseOne("type_member a b:c d;")
        else { Issue.record("kind"); return }
        #expect(member == .typeMember && none == nil)
        guard case .typeRule(let change, _, _, _, _, _) = try parseOne("TYPE_CHANGE a b:c d;")
        else { Issue.record("kind"); return }
        #expect(change == .typeChange)
    }

    @Test func rangeTransition() throws {
        guard
            case .rangeTransition(let sources, let targets, let classes, let range) =
                try parseOne("range_transition a b:process s0 - s1:c0,c3.c5;")
        else { Issue.record("kind"); return }
        #expect(sources == names("a") && targets == names("b") && classes == names("process"))
        #expect(range == RangeSyntax(low: level("s0"), high: level("s1", .single("c0"), .range("c3", "c5"))))

        guard case .rangeTransition(_, _, let noClasses, let low) = try parseOne("range_transition a b s0;")
        else { Issue.record("kind"); return }
        #expect(noClasses == nil && low == RangeSyntax(low: level("s0")))
    }

    @Test func roleTransition() throws {
        guard
            case .roleTransition(let roles, let types, let classes, let newRole) =
                try parseOne("role_transition ra exec_t rb;")
        else { Issue.record("kind"); return }
        #expect(roles == names("ra") && types == names("exec_t") && classes == nil && newRole == "rb")

        guard case .roleTransition(_, _, let classes2, _) = try parseOne("role_transition ra exec_t:{ process } rb;")
        else { Issue.record("kind"); return }
        #expect(classes2 == names("process"))
    }

    @Test func conditional() throws {
        let text = """
            if (a && !b) {
                allow x y:file read;
                type_transition x y:file z "n";
            } else {
                dontaudit x y:file write;
                allowxperm x y:file ioctl 0x1;
            }
            """
        guard case .conditional(let condition, let then, let otherwise) = try parseOne(text)
        else { Issue.record("kind"); return }
        #expect(condition == .and(.bool("a"), .not(.bool("b"))))
        #expect(then.count == 2 && otherwise.count == 2)
        guard case .avRule(.allow, _, _, _, _) = then[0].kind,
            case .typeRule(.typeTransition, _, _, _, _, "n") = then[1].kind,
            case .avRule(.dontaudit, _, _, _, _) = otherwise[0].kind,
            case .extendedPermissionRule = otherwise[1].kind
        else { Issue.record("branch kinds"); return }
        #expect(then[0].location == SourceLocation(file: "test.conf", line: 2, column: 5))

        guard case .conditional(_, let empty, let noElse) = try parseOne("if b { }") else { Issue.record("kind"); return }
        #expect(empty.isEmpty && noElse.isEmpty)
    }

    @Test func conditionalPrecedence() throws {
        func condition(_ text: String) throws -> ConditionalExpr? {
            guard case .conditional(let expr, _, _) = try parseOne("if \(text) { }") else { return nil }
            return expr
        }
        let a = ConditionalExpr.bool("a"), b = ConditionalExpr.bool("b"), c = ConditionalExpr.bool("c")
        // OR < XOR < AND < NOT < ==, !=; binary operators are left-associative.
        #expect(try condition("a || b && c") == .or(a, .and(b, c)))
        #expect(try condition("a && b || c") == .or(.and(a, b), c))
        #expect(try condition("a ^ b && c") == .xor(a, .and(b, c)))
        #expect(try condition("a || b ^ c") == .or(a, .xor(b, c)))
        #expect(try condition("a or b and c") == .or(a, .and(b, c)))
        #expect(try condition("a xor b XOR c") == .xor(.xor(a, b), c))
        #expect(try condition("!a && b") == .and(.not(a), b))
        #expect(try condition("!a == b") == .not(.eq(a, b)))
        #expect(try condition("not a != b") == .not(.neq(a, b)))
        #expect(try condition("a == b && c") == .and(.eq(a, b), c))
        #expect(try condition("a == b != c") == .neq(.eq(a, b), c))
        #expect(try condition("a eq b") == .eq(a, b))
        #expect(try condition("a && !b == c") == .and(a, .not(.eq(b, c))))
        #expect(try condition("!(a || b)") == .not(.or(a, b)))
        #expect(try condition("!!a") == .not(.not(a)))
    }

    @Test func constrain() throws {
        guard
            case .constrain(let classes, let permissions, let expr) =
                try parseOne("constrain { file dir } { create relabelto } (u1 == u2 or t1 == can_change_t);")
        else { Issue.record("kind"); return }
        #expect(classes == names("file", "dir") && permissions == names("create", "relabelto"))
        #expect(expr == .or(.attributes(.u1, .eq, .u2), .names(.t1, .eq, names("can_change_t"))))
    }

    @Test func constraintPrecedenceAndForms() throws {
        func expression(_ text: String) throws -> ConstraintExpr? {
            guard case .constrain(_, _, let expr) = try parseOne("constrain file read \(text);") else { return nil }
            return expr
        }
        let u = ConstraintExpr.attributes(.u1, .eq, .u2)
        let r = ConstraintExpr.attributes(.r1, .dom, .r2)
        let t = ConstraintExpr.attributes(.t1, .neq, .t2)
        #expect(try expression("u1 == u2 or r1 dom r2 and t1 != t2") == .or(u, .and(r, t)))
        #expect(try expression("not u1 == u2 and r1 dom r2") == .and(.not(u), r))
        #expect(try expression("(u1 == u2 || r1 dom r2) && t1 != t2") == .and(.or(u, r), t))
        #expect(try expression("! ( u1 == u2 )") == .not(u))
        #expect(try expression("sameuser") == u)
        #expect(try expression("source role { a b }") == .names(.r1, .eq, names("a", "b")))
        #expect(try expression("target role a") == .names(.r2, .eq, names("a")))
        #expect(try expression("source type a") == .names(.t1, .eq, names("a")))
        #expect(try expression("target type ~{ a }") == .names(.t2, .eq, NameSet(included: ["a"], isComplement: true)))
        #expect(try expression("role domby") == .attributes(.r1, .domby, .r2))
        #expect(try expression("r1 incomp r2") == .attributes(.r1, .incomp, .r2))
        #expect(try expression("r2 != *") == .names(.r2, .neq, NameSet(isAll: true)))
        #expect(try expression("u3 == system_u") == .names(.u3, .eq, names("system_u")))
        #expect(try expression("t3 == { a b }") == .names(.t3, .eq, names("a", "b")))
        #expect(try expression("l1 eq h2") == .attributes(.l1, .eq, .h2))
        #expect(try expression("l1 domby h1") == .attributes(.l1, .domby, .h1))
        #expect(try expression("h1 dom l2") == .attributes(.h1, .dom, .l2))
        #expect(try expression("l2 incomp h2") == .attributes(.l2, .incomp, .h2))
    }

    @Test func validateTrans() throws {
        guard case .validateTrans(let classes, let expr) = try parseOne("validatetrans file (u3 == a or t3 == b);")
        else { Issue.record("kind"); return }
        #expect(classes == names("file"))
        #expect(expr == .or(.names(.u3, .eq, names("a")), .names(.t3, .eq, names("b"))))
        // u1 compares with u2 or with names only, as in checkpolicy's grammar.
        #expect(parseError("validatetrans file (u1 == u3);")?.message.contains("expected 'u2' or a name") == true)
    }

    @Test func mlsConstrainAndValidateTrans() throws {
        guard
            case .mlsConstrain(let classes, let permissions, let expr) =
                try parseOne("mlsconstrain process transition (h1 dom h2 or t1 == mcs_t);")
        else { Issue.record("kind"); return }
        #expect(classes == names("process") && permissions == names("transition"))
        #expect(expr == .or(.attributes(.h1, .dom, .h2), .names(.t1, .eq, names("mcs_t"))))

        guard case .mlsValidateTrans(let classes2, let expr2) = try parseOne("mlsvalidatetrans file (l1 domby h2);")
        else { Issue.record("kind"); return }
        #expect(classes2 == names("file") && expr2 == .attributes(.l1, .domby, .h2))
    }
}
