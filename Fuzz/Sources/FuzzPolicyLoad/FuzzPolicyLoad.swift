// libFuzzer entry point for the whole policy load path: bytes → PolicyParser → PolicyCompiler →
// SecurityServer → decisions. Any bytes must give a compiled policy or a PolicyError, never a
// crash, a hang or a memory error; and a policy that compiles must load and answer.
//
// For a policy that compiles:
//   - `SecurityServer(policy:)` loads it (no boolean overrides, so it cannot fail);
//   - the first initial SID with a context gets a SID from its text (the compiler stores initial
//     SID contexts validated and in canonical form, so the text must resolve), and that SID maps
//     back to the same context;
//   - for every class, `computeAV(sid, sid)` allows only bits of the class's permissions,
//     `computeAccess(ctx, ctx)` allows only the class's permission names and agrees with it, and
//     asking each twice gives the same answer;
//   - one `computeTransition(.transition, ctx, ctx)` (class `process` if defined, else the first
//     class) either refuses or gives a context the policy accepts, the same both times.
//
//   scripts/fuzz builds and runs it; by hand:
//   swift build --package-path Fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
//       --scratch-path .build-fuzz --product FuzzPolicyLoad
//   mkdir -p /tmp/load-corpus
//   .build-fuzz/debug/FuzzPolicyLoad -dict=Fuzz/policy.dict -max_total_time=300 /tmp/load-corpus Fuzz/corpus/load

import DecisionEngine
import SecurityContexts
import SELinuxPolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicyLoad(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let policy: PolicyDB
    do {
        policy = try PolicyCompiler.compile(bytes: bytes, file: "fuzz.conf")
    } catch {
        // A located error must point at a line and column of the input.
        if let location = error.location, location.line < 1 || location.column < 1 {
            fatalError("PolicyError with an invalid location: \(error)")
        }
        return 0
    }
    checkLoad(policy)
    return 0
}

private func checkLoad(_ policy: PolicyDB) {
    let server: SecurityServer
    do {
        server = try SecurityServer(policy: policy)
    } catch {
        fatalError("a compiled policy does not load: \(error)")
    }
    guard let context = policy.initialSIDs.lazy.compactMap(\.context).first else { return }
    let text = context.description
    let sid: SID
    do {
        sid = try server.sid(forText: text)
    } catch {
        fatalError("initial SID context \(text) has no SID: \(error)")
    }
    guard (try? server.sid(forText: text)) == sid else { fatalError("\(text) got two SIDs") }
    guard let back = server.context(of: sid) else { fatalError("\(sid) of \(text) has no context") }
    guard back == context else { fatalError("\(sid) of \(text) maps back to \(back)") }

    for (i, cls) in policy.classes.enumerated() {
        let c = i + 1
        guard cls.value == c, policy.classValues[cls.name] == c else {
            fatalError("class \(cls.name) at position \(c) has value \(cls.value) / \(String(describing: policy.classValues[cls.name]))")
        }
        let av = server.computeAV(sid, sid, classValue: c)
        guard av.allowed & ~cls.allPermissions == 0 else {
            fatalError("computeAV allows bits \(String(av.allowed, radix: 16)) outside class \(cls.name) (\(cls.permissions.count) permissions)")
        }
        guard server.computeAV(sid, sid, classValue: c) == av else { fatalError("computeAV for \(cls.name) is not stable") }

        let access: AccessDecision
        do {
            access = try server.computeAccess(source: context, target: context, objectClass: cls.name)
        } catch {
            fatalError("computeAccess(\(text), \(text), \(cls.name)) failed: \(error)")
        }
        let permissions = Set(cls.permissions)
        guard access.allowed.allSatisfy(permissions.contains) else {
            fatalError("AccessDecision for \(cls.name) allows \(access.allowed), not all in \(cls.permissions)")
        }
        guard access.allowed == policy.permissionNames(av.allowed, classValue: c) else {
            fatalError("computeAccess (\(access.allowed)) and computeAV (\(String(av.allowed, radix: 16))) disagree for \(cls.name)")
        }
        guard (try? server.computeAccess(source: context, target: context, objectClass: cls.name)) == access else {
            fatalError("computeAccess for \(cls.name) is not stable")
        }
    }

    guard let cls = policy.classes.first(where: { $0.name == "process" }) ?? policy.classes.first else { return }
    let first = transition(server, context, cls.name)
    if case .success(let new) = first {
        do { try server.validate(new) } catch {
            fatalError("transition from \(text) for \(cls.name) gave \(new), which the policy refuses: \(error)")
        }
    }
    guard transition(server, context, cls.name) == first else { fatalError("computeTransition for \(cls.name) is not stable") }
}

private func transition(_ server: SecurityServer, _ context: SecurityContext, _ objectClass: String) -> Result<SecurityContext, DecisionError> {
    Result { () throws(DecisionError) -> SecurityContext in
        try server.computeTransition(.transition, source: context, target: context, objectClass: objectClass, objectName: nil)
    }
}
