import SecurityContexts
import Testing
import TestSupport

@Suite struct CategorySetTests {
    @Test func membersAndOrder() {
        var set: CategorySet = [5, 0, 64, 63, 1023, 1]
        #expect(Array(set) == [0, 1, 5, 63, 64, 1023])
        #expect(set.count == 6)
        #expect(set.first == 0)
        #expect(set.last == 1023)
        #expect(set.contains(63) && set.contains(64) && !set.contains(62) && !set.contains(-1) && !set.contains(5000))
        #expect(set.remove(1023) == 1023)
        #expect(set.remove(1023) == nil)
        #expect(set.last == 64)
        // Removing the highest member trims storage, so equality and hashing see members only.
        #expect(set == [0, 1, 5, 63, 64])
        #expect(set.hashValue == CategorySet([64, 63, 5, 1, 0]).hashValue)
        #expect(set.insert(5).inserted == false)
        #expect(set.update(with: 7) == nil)
        #expect(set.update(with: 7) == 7)
        #expect(CategorySet().isEmpty && CategorySet().first == nil && CategorySet().last == nil)
        #expect(Array(CategorySet()) == [])
    }

    @Test func rangesAcrossWords() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<500 {
            let low = Int(generator.next() % 300)
            let high = low + Int(generator.next() % 300)
            var bulk = CategorySet()
            bulk.insert(contentsOf: low...high)
            var single = CategorySet()
            for category in low...high { single.insert(category) }
            #expect(bulk == single)
            #expect(bulk.count == high - low + 1)
            #expect(bulk.runs == [low...high])
            #expect(CategorySet(low...high) == bulk)
        }
    }

    @Test func runs() {
        #expect(CategorySet([0, 1, 2, 5]).runs == [0...2, 5...5])
        #expect(CategorySet([0, 1, 3, 4]).runs == [0...1, 3...4])
        #expect(CategorySet([63, 64]).runs == [63...64])
        #expect(CategorySet([7]).runs == [7...7])
        #expect(CategorySet().runs == [])
        #expect(CategorySet([0, 1, 2, 5]).description == "{0-2,5}")
    }

    @Test func algebraMatchesSwiftSets() {
        var generator = SplitMix64(seed: 7)
        func random() -> Set<Int> {
            Set((0..<Int(generator.next() % 40)).map { _ in Int(generator.next() % 200) })
        }
        for _ in 0..<500 {
            let a = random(), b = random()
            let x = CategorySet(a), y = CategorySet(b)
            #expect(Set(x.union(y)) == a.union(b))
            #expect(Set(x.intersection(y)) == a.intersection(b))
            #expect(Set(x.symmetricDifference(y)) == a.symmetricDifference(b))
            #expect(Set(x.subtracting(y)) == a.subtracting(b))
            #expect(x.isSuperset(of: y) == a.isSuperset(of: b))
            #expect(x.isSubset(of: y) == a.isSubset(of: b))
            #expect(x.isDisjoint(with: y) == a.isDisjoint(with: b))
            #expect((x == y) == (a == b))
            // Results are normalized: equal to a set built directly.
            #expect(x.intersection(y) == CategorySet(a.intersection(b)))
            #expect(x.symmetricDifference(y) == CategorySet(a.symmetricDifference(b)))
        }
    }
}
