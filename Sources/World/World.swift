import Engine
import Foundation
import Search

/// A synthetic encyclopedia generated from a seed: invented entities with
/// facts that link them, one passage per entity, and questions whose answers
/// only the passages hold (the names are invented, so no model knows them).
public struct World: Sendable {
    public let config: WorldConfig
    /// `entities[i]` is described by `passages[i]`, whose id is `"i"`.
    public let entities: [Entity]
    public let passages: [Passage]
    public let train: [WorldQuestion]
    public let test: [WorldQuestion]

    /// Each stage draws from its own stream, so changing how one stage draws
    /// (a new template, say) leaves the others' output unchanged.
    private enum Stream: UInt64 {
        case names = 1, facts, passages, split
    }

    public init(_ config: WorldConfig = WorldConfig()) throws {
        try config.validate()
        self.config = config
        func stream(_ s: Stream) -> RandomGenerator {
            // Names come from the seed alone, so parallel worlds share them.
            let seed = s == .names ? config.seed : config.factSeed ?? config.seed
            return RandomGenerator(seed: seed &* 0x100 &+ s.rawValue)
        }

        var nameRNG = stream(.names)
        var factRNG = stream(.facts)
        var passageRNG = stream(.passages)
        var splitRNG = stream(.split)
        var entities = Self.makeEntities(config.entities, &nameRNG)
        Self.assignFacts(&entities, names: &nameRNG, &factRNG)
        self.entities = entities
        passages = entities.map { Self.passage(for: $0, in: entities, &passageRNG) }
        (train, test) = Self.split(Self.questions(entities), testFraction: config.testFraction, &splitRNG)
    }

    // MARK: Generation

    private static func makeEntities(_ total: Int, _ rng: inout RandomGenerator) -> [Entity] {
        var counts = EntityKind.allCases.map { max(1, total * $0.share / 100) }
        counts[EntityKind.allCases.firstIndex(of: .person)!] += total - counts.reduce(0, +)
        var names = NameMaker()
        let firstNames = names.firstNames(&rng, count: 60)
        var entities: [Entity] = []
        for (kind, count) in zip(EntityKind.allCases, counts) {
            for _ in 0..<count {
                let (name, short) = names.name(for: kind, firstNames: firstNames, &rng)
                entities.append(Entity(index: entities.count, kind: kind, name: name, shortName: short, facts: []))
            }
        }
        return entities
    }

    private static func assignFacts(_ entities: inout [Entity], names: inout RandomGenerator, _ rng: inout RandomGenerator) {
        func indices(_ kind: EntityKind) -> [Int] { entities.indices.filter { entities[$0].kind == kind } }
        let countries = indices(.country)
        let cities = indices(.city)
        let people = indices(.person)
        // Few languages, shared between countries, keep the vocabulary small.
        var maker = NameMaker()
        let languages = (0..<max(3, countries.count / 4)).map { _ in maker.word(&names, syllables: 2...2, suffix: ["ish", "ese", "ic"]) }
        // Every country gets a capital of its own, drawn like the other facts
        // (so parallel worlds differ in capitals too); other cities lie anywhere.
        var capitals = cities
        rng.shuffle(&capitals)
        var countryOf: [Int: Int] = [:]
        for (country, city) in zip(countries, capitals) { countryOf[city] = country }
        let cityCountry = cities.map { countryOf[$0] ?? rng.pick(countries) }

        func year(_ range: ClosedRange<Int>) -> FactValue { .year(range.lowerBound + rng.below(range.count)) }
        for i in entities.indices {
            let facts: [FactValue]
            switch entities[i].kind {
            case .country:
                let capital = capitals[countries.firstIndex(of: i)!]
                facts = [.entity(capital), .word(rng.pick(languages))]
            case .city:
                facts = [.entity(cityCountry[cities.firstIndex(of: i)!]), year(800...1850)]
            case .person:
                facts = [year(1700...1960), .entity(rng.pick(cities)), .word(rng.pick(Templates.occupations))]
            case .company:
                let founder = rng.pick(people)
                guard case let .year(born) = entities[founder].value(.born) else { preconditionFailure("people come before companies") }
                facts = [.entity(founder), .entity(rng.pick(cities)), year(born + 20...born + 60), .word(rng.pick(Templates.industries))]
            case .river:
                facts = [.entity(rng.pick(countries)), .kilometres(40 + rng.below(2960))]
            }
            entities[i].facts = zip(entities[i].kind.attributes, facts).map { Fact(attribute: $0, value: $1) }
        }
    }

    /// The entity's facts in shuffled order, each in a random template, with
    /// one to three fillers; the first sentence is always a fact, as an
    /// encyclopedia opens with what the subject is.
    private static func passage(for entity: Entity, in entities: [Entity], _ rng: inout RandomGenerator) -> Passage {
        var facts = entity.facts.map { entities.statement(entity, $0.attribute, variant: rng.below(2)) }
        rng.shuffle(&facts)
        var fillers = Templates.fillers(entity.kind).map { Templates.fill($0, subject: entity.name) }
        rng.shuffle(&fillers)
        var rest = Array(facts.dropFirst()) + fillers.prefix(max(1, 4 - entity.facts.count) + rng.below(2))
        rng.shuffle(&rest)
        return Passage(id: entity.passageID, title: entity.name, text: ([facts[0]] + rest).joined(separator: " "))
    }
}

/// Rendering needs only the entities (names of linked entities), so it lives
/// here and serves both the world's generation and its users.
extension [Entity] {
    /// The text of a fact's value as the corpus writes it.
    public func render(_ value: FactValue) -> String {
        switch value {
        case let .entity(i): self[i].name
        case let .year(y): String(y)
        case let .kilometres(k): "\(k) km"
        case let .word(w): w
        }
    }

    /// Strings a correct answer may be given as; the first is the canonical
    /// one, the others are substrings of it (so all appear wherever it does).
    public func answers(_ value: FactValue) -> [String] {
        switch value {
        case let .entity(i): [self[i].name] + (self[i].shortName.map { [$0] } ?? [])
        case let .kilometres(k): ["\(k) km", String(k)]
        case .year, .word: [render(value)]
        }
    }

    /// One sentence stating `attribute` of `entity` in template `variant`
    /// (taken modulo the number of templates).
    func statement(_ entity: Entity, _ attribute: Attribute, variant: Int) -> String {
        let templates = Templates.statements(attribute)
        guard let value = entity.value(attribute) else { preconditionFailure("\(entity.name) has no \(attribute)") }
        return Templates.fill(templates[variant % templates.count], subject: entity.name, value: render(value))
    }
}
