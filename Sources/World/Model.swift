import Engine

/// How big the world is and which one it is. The same config always builds
/// the same world, byte for byte.
public struct WorldConfig: Sendable, Equatable {
    /// Entities of all kinds together (passages are one per entity).
    public var entities: Int
    public var seed: UInt64
    /// Share of the questions held out for evaluation.
    public var testFraction: Double
    /// Draws the facts, the passages' wording and the split; nil means
    /// `seed`. Worlds with the same `seed` and different fact seeds are
    /// parallel worlds: the same entities under the same names, each with
    /// other facts, so a model can learn the names without the facts.
    public var factSeed: UInt64?

    public init(entities: Int = 3000, seed: UInt64 = 0, testFraction: Double = 0.2, factSeed: UInt64? = nil) {
        self.entities = entities
        self.seed = seed
        self.testFraction = testFraction
        self.factSeed = factSeed
    }

    /// The world with the same names and the facts drawn from `factSeed`.
    public func parallel(factSeed: UInt64) -> WorldConfig {
        var config = self
        config.factSeed = factSeed
        return config
    }

    /// Below this, some kinds would get no entity and some question forms
    /// could not be asked.
    public static let minimumEntities = 40

    func validate() throws {
        try require(
            entities >= Self.minimumEntities, "WorldConfig",
            "entities must be ≥ \(Self.minimumEntities), got \(entities)")
        try require(testFraction > 0 && testFraction < 1, "WorldConfig", "testFraction must be in (0, 1), got \(testFraction)")
    }
}

public enum EntityKind: String, Sendable, Codable, CaseIterable {
    case country, city, person, company, river

    /// Parts of the world per 100 entities: enough cities that every country
    /// has several, and people and companies dominate because most question
    /// forms start from them.
    var share: Int {
        switch self {
        case .country: 4
        case .city: 24
        case .person: 40
        case .company: 20
        case .river: 12
        }
    }
}

/// One property of an entity. Each kind has a fixed list (`EntityKind.attributes`).
public enum Attribute: String, Sendable, Codable, CaseIterable {
    case capital, language
    case country, founded
    case born, birthplace, occupation
    case founder, headquarters, industry
    case flowsThrough = "flows_through", length
}

extension EntityKind {
    /// The facts every entity of the kind has, in the order generation fills them.
    public var attributes: [Attribute] {
        switch self {
        case .country: [.capital, .language]
        case .city: [.country, .founded]
        case .person: [.born, .birthplace, .occupation]
        case .company: [.founder, .headquarters, .founded, .industry]
        case .river: [.flowsThrough, .length]
        }
    }
}

public enum FactValue: Sendable, Equatable {
    /// Another entity, by index into `World.entities`.
    case entity(Int)
    case year(Int)
    case kilometres(Int)
    case word(String)
}

public struct Fact: Sendable, Equatable {
    public var attribute: Attribute
    public var value: FactValue
}

public struct Entity: Sendable, Equatable {
    /// Index into `World.entities`; also the passage id.
    public var index: Int
    public var kind: EntityKind
    /// Full name, the passage title: "Tavi Morleno", "Zorvex Works", "Ulma River".
    public var name: String
    /// The distinctive single word a reader may answer with ("Morleno",
    /// "Zorvex", "Ulma"); nil where the name already is one word.
    public var shortName: String?
    /// In `kind.attributes` order (an array, not a dictionary, so iteration is
    /// the same in every process).
    public var facts: [Fact]

    public var passageID: String { String(index) }

    public func value(_ attribute: Attribute) -> FactValue? {
        facts.first { $0.attribute == attribute }?.value
    }
}
