import DecisionEngine
import SecurityContexts
import Testing

/// The AVC's statistics and invalidation, boolean changes and reloads.
struct CacheAndPolicyChangeTests {
    static let policy = """
        class file
        sid kernel
        class file { read write }
        type a_t;
        type b_t;
        bool writable false;
        allow a_t b_t:file read;
        if (writable) { allow a_t b_t:file write; }
        role r;
        role r types { a_t b_t };
        user u roles { r };
        sid kernel u:r:a_t
        """

    @Test func hitsMissesAndStaleInsertsAreCounted() throws {
        let s = try SecurityServer(policyText: Self.policy, file: "t.conf")
        let cache = AccessVectorCache(server: s)
        let a = try s.sid(forText: "u:r:a_t"), b = try s.sid(forText: "u:r:b_t")
        let c = s.classValue("file")!
        #expect(cache.lookup(a, b, classValue: c) == nil)
        let d = cache.decision(a, b, classValue: c)
        #expect(d.allowed == 0b01)
        #expect(cache.lookup(a, b, classValue: c) == d)
        var stats = cache.statistics
        #expect(stats.lookups == 3 && stats.hits == 1 && stats.misses == 2 && stats.entries == 1)

        // A boolean change bumps the sequence number and resets the cache.
        try s.setBooleans(["writable": true])
        stats = cache.statistics
        #expect(stats.resets == 1 && stats.entries == 0)
        #expect(cache.decision(a, b, classValue: c).allowed == 0b11)
        // A decision computed under the old policy is refused.
        #expect(!cache.insert(a, b, classValue: c, d))
        #expect(cache.statistics.staleInsertsRefused == 1)
        #expect(s.booleans == ["writable": true])
    }

    @Test func aFullCacheIsReclaimed() throws {
        let s = try SecurityServer(policyText: Self.policy, file: "t.conf")
        let cache = AccessVectorCache(server: s, capacity: 16)
        let a = try s.sid(forText: "u:r:a_t")
        let d = s.computeAV(a, a, classValue: 1)
        for i in 0..<40 { cache.insert(SID(rawValue: UInt32(100 + i)), a, classValue: 1, d) }
        #expect(cache.statistics.reclaims >= 2)
        #expect(cache.statistics.entries <= 16)
    }

    @Test func unknownBooleansAreRefusedWholly() throws {
        let s = try SecurityServer(policyText: Self.policy, file: "t.conf")
        #expect(throws: DecisionError.self) { try s.setBooleans(["writable": true, "nope": true]) }
        #expect(s.booleans == ["writable": false])
    }

    /// After a reload SIDs keep their numbers; a context the new policy does not know is
    /// evaluated as the unlabeled context (or denied everything when there is none).
    @Test func reloadKeepsSIDsAndUnlabelsInvalidContexts() throws {
        let s = try SecurityServer(policyText: Self.policy, file: "t.conf")
        let a = try s.sid(forText: "u:r:a_t"), b = try s.sid(forText: "u:r:b_t")
        let seq = s.seqno
        let smaller = Self.policy.replacingOccurrences(of: "type b_t;", with: "type b_t;\ntype c_t;")
            .replacingOccurrences(of: "allow a_t b_t:file read;", with: "allow a_t b_t:file read;\nallow c_t b_t:file read;")
        try s.reload(PolicyCompiler.compile(text: smaller, file: "t2.conf"))
        #expect(s.seqno == seq + 1)
        #expect(try s.sid(forText: "u:r:a_t") == a)
        #expect(s.computeAV(a, b, classValue: 1).allowed == 0b01)
    }

    /// The kernel's `security_preserve_bools` (security/selinux/ss/services.c): a boolean the new
    /// policy also has keeps its running value, whatever the new policy's default; one only the new
    /// policy has takes its default. A context the new policy lacks keeps its SID, and a later
    /// policy that knows it maps the SID back (`convert_context` parses the kept string).
    @Test func reloadKeepsBooleansByNameAndMapsLostContextsBack() throws {
        let s = try SecurityServer(policyText: Self.policy, file: "t.conf")
        try s.setBooleans(["writable": true])
        let b = try s.sid(forText: "u:r:b_t")
        let withoutB = Self.policy.replacingOccurrences(of: "type b_t;", with: "type c_t;\nbool other true;")
            .replacingOccurrences(of: "b_t", with: "c_t")
        try s.reload(PolicyCompiler.compile(text: withoutB, file: "t2.conf"))
        #expect(s.booleans == ["writable": true, "other": true])
        try s.reload(PolicyCompiler.compile(text: Self.policy, file: "t.conf"))
        #expect(s.booleans == ["writable": true])
        #expect(s.context(of: b)?.type == "b_t")
        #expect(s.computeAV(try s.sid(forText: "u:r:a_t"), b, classValue: 1).allowed == 0b11)
    }

    @Test func invalidContextsAreRefusedWithTheReason() throws {
        let s = try SecurityServer(policyText: Self.policy, file: "t.conf")
        for (text, reason) in [
            ("u:r:nope_t", "unknown type nope_t"), ("x:r:a_t", "unknown user x"),
            ("u:object_r:a_t:s0", "the policy has no MLS and the context has a level"),
        ] {
            do {
                _ = try s.sid(forText: text)
                Issue.record("\(text) accepted")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
        }
    }
}
