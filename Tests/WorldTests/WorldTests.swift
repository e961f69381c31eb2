import Agent
import Engine
import Foundation
import Search
import Testing
import World

@Suite struct WorldTests {
    static let small = try! World(WorldConfig(entities: 300, seed: 7))

    static func supportText(_ question: WorldQuestion, in world: World) -> String {
        question.support.map { world.passages[Int($0)!].text }.joined(separator: " ")
    }

    @Test func sameSeedSameWorldOtherSeedOtherWorld() throws {
        let again = try World(WorldConfig(entities: 300, seed: 7))
        #expect(again.passages == Self.small.passages && again.train == Self.small.train && again.test == Self.small.test)
        let other = try World(WorldConfig(entities: 300, seed: 8))
        #expect(other.passages.map(\.title) != Self.small.passages.map(\.title))
        #expect(other.test != Self.small.test)
    }

    /// A parallel world keeps every name and kind and redraws every fact, so
    /// a model pretrained on parallel worlds learns names, not the facts.
    @Test func parallelWorldsShareNamesNotFacts() throws {
        let world = Self.small
        let parallel = try World(world.config.parallel(factSeed: 99))
        #expect(parallel.entities.map(\.name) == world.entities.map(\.name))
        #expect(parallel.entities.map(\.kind) == world.entities.map(\.kind))
        #expect(try World(world.config.parallel(factSeed: world.config.seed)).passages == world.passages)
        // Each attribute agrees no more than its values' spread allows: capitals
        // are redrawn too, not given to the same city in every world.
        for attribute in Attribute.allCases {
            let pairs = zip(world.entities, parallel.entities).compactMap { a, b in a.value(attribute).map { ($0, b.value(attribute)!) } }
            let agreeing = pairs.filter { $0.0 == $0.1 }.count
            let distinct = Set(pairs.map { "\($0.0)" }).count
            #expect(Double(agreeing) <= 3 * Double(pairs.count) / Double(distinct) + 2, "\(attribute): \(agreeing) of \(pairs.count) agree")
        }
    }

    @Test func namesAreUniqueWordsAcrossTheWorld() {
        let world = Self.small
        #expect(Set(world.entities.map(\.name)).count == world.entities.count)
        // The distinctive words identify one entity each (people share first names only).
        let keys = world.entities.map { ($0.shortName ?? $0.name).lowercased() }
        #expect(Set(keys).count == keys.count)
        #expect(EntityKind.allCases.allSatisfy { kind in world.entities.contains { $0.kind == kind } })
    }

    @Test func passagesAreShortAndOnePerEntity() {
        for (entity, passage) in zip(Self.small.entities, Self.small.passages) {
            #expect(passage.id == entity.passageID && passage.title == entity.name)
            let words = passage.text.split(separator: " ").count
            #expect((20...60).contains(words), "\(passage.text)")
        }
    }

    @Test func everyAnswerIsInItsSupportPassages() {
        let world = Self.small
        for question in world.train + world.test {
            #expect(question.support == question.hops.map { world.entities[$0.entity].passageID })
            #expect(question.kind == (question.hops.count == 1 ? .singleHop : .twoHop))
            let text = Self.supportText(question, in: world)
            for answer in question.answers { #expect(World.mentions(text, answer), "\(question.question) → \(answer)") }
        }
    }

    @Test func twoHopChainsFollowTheFacts() {
        let world = Self.small
        let twoHop = (world.train + world.test).filter { $0.kind == .twoHop }
        #expect(!twoHop.isEmpty)
        for question in twoHop {
            let first = question.hops[0]
            let second = question.hops[1]
            #expect(world.entities[first.entity].value(first.attribute) == .entity(second.entity))
            // The bridge is named in the first passage, the answer read from the second.
            #expect(World.mentions(world.passages[first.entity].text, world.entities[second.entity].name))
            #expect(question.answers == world.entities.answers(world.entities[second.entity].value(second.attribute)!))
            #expect(World.mentions(world.passages[second.entity].text, question.answers[0]))
        }
    }

    @Test func trainAndTestShareNoQuestionAndNoFact() {
        let world = Self.small
        #expect(Set(world.train.map(\.question)).isDisjoint(with: world.test.map(\.question)))
        #expect(Set(world.train.flatMap(\.hops)).isDisjoint(with: world.test.flatMap(\.hops)))
        for split in [world.train, world.test] {
            #expect(QuestionKind.allCases.allSatisfy { kind in split.contains { $0.kind == kind } })
        }
        let all = World.questions(world.entities).count
        #expect(world.test.count == Int((Double(all) * 0.2).rounded()))
        #expect(world.train.count > all / 3)
    }

    @Test func defaultWorldIsAFewThousandEntitiesInAFewMegabytes() throws {
        let world = try World()
        #expect(world.entities.count == 3000)
        let bytes = world.passages.reduce(0) { $0 + $1.title.utf8.count + $1.text.utf8.count }
        #expect(bytes < 2_000_000)
        #expect(world.test.count > 1000 && world.train.count > 3000)
        #expect(throws: (any Error).self) { try World(WorldConfig(entities: 10)) }
    }

    @Test func filesRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("world-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.small.write(to: directory)
        #expect(try WorldQuestion.readJSONL(from: directory.appendingPathComponent("test.jsonl")) == Self.small.test)
        #expect(try WorldQuestion.readJSONL(from: directory.appendingPathComponent("train.jsonl")) == Self.small.train)
        var passages: [Passage] = []
        try JSONLCorpus.forEachPassage(in: directory.appendingPathComponent("corpus.jsonl")) { passage, _ in passages.append(passage) }
        #expect(passages == Self.small.passages)
        let line = try String(contentsOf: directory.appendingPathComponent("test.jsonl"), encoding: .utf8).prefix { $0 != "\n" }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys).isSuperset(of: ["question", "answer", "kind", "support"]))
        #expect(Self.small.test[0].rolloutRow == RolloutRow(question: Self.small.test[0].question, goldAnswers: Self.small.test[0].answers))
    }

    /// Queries a policy would write: the question itself, or a hop's subject
    /// by name (the bridge for a two-hop question's second search).
    @Test func usefulDocumentsHoldTheNeededFactAndNoisyOnesNoAnswer() {
        let world = Self.small
        var rng = RandomGenerator(seed: 1)
        // The test split is shuffled, so its prefix samples every question form.
        for question in world.test.prefix(150) {
            let last = question.hops[question.hops.count - 1]
            let queries = [question.question, world.entities[last.entity].name + " " + last.attribute.rawValue]
            for query in queries {
                let useful = world.simulatedDocuments(for: query, question: question, kind: .useful, rng: &rng)
                let noisy = world.simulatedDocuments(for: query, question: question, kind: .noisy, rng: &rng)
                for documents in [useful, noisy] {
                    let lines = documents.split(separator: "\n")
                    #expect(lines.count == 5 && lines.enumerated().allSatisfy { $0.element.hasPrefix("Doc \($0.offset + 1): (Title: ") })
                    #expect(Set(lines.map { $0.drop { $0 != ")" } }).count == 5, "\(documents)")
                }
                // The question names only the first hop's subject: its documents give the first fact.
                let hop = query == question.question ? question.hops[0] : last
                let needed = world.entities.answers(world.entities[hop.entity].value(hop.attribute)!)[0]
                #expect(useful.split(separator: "\n").allSatisfy { World.mentions(String($0), needed) }, "\(query)\n\(useful)")
                for answer in question.answers + [needed] { #expect(!World.mentions(noisy, answer), "\(query)\n\(noisy)") }
            }
        }
    }

    @Test func wholeWordMatching() {
        #expect(World.mentions("Talaria is a country.", "talaria"))
        #expect(!World.mentions("Talaria is a country.", "Tala"))
        #expect(World.mentions("It was founded by Tavi Morleno in 1873.", "Tavi Morleno"))
        #expect(!World.mentions("Tavi went to Morleno.", "Tavi Morleno"))
    }
}

@Suite struct SimulatorExampleTests {
    @Test func examplesFollowTheSFTFormatAndTheWorld() throws {
        let world = try World(WorldConfig(entities: 200, seed: 5))
        let examples = world.simulatorExamples(count: 40, seed: 1)
        #expect(examples.count == 40)
        #expect(examples == world.simulatorExamples(count: 40, seed: 1))
        for example in examples {
            #expect(example.prompt.hasPrefix("You are the Google search engine.\nGiven a query, you need to generate five "))
            let useful = example.prompt.contains("Useful Output:\n")
            #expect(useful != example.prompt.contains("Noisy Output:\n"))
            #expect(example.documents.hasPrefix("Doc 1: ") && example.documents.contains("\nDoc 5: "))
        }
        #expect(Set(examples.map { $0.prompt.contains("Useful Output:") }).count == 2, "both kinds occur")
    }
}
