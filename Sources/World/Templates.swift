import Foundation

/// The fixed wording of the world: a few templates per fact, question form and
/// filler, so the corpus is regular enough for a tiny model and its
/// tokenizer, yet a fact is not always said the same way.
enum Templates {
    /// Ways to state a fact; `{s}` is the subject's name, `{v}` the value.
    static func statements(_ attribute: Attribute) -> [String] {
        switch attribute {
        case .capital: ["The capital of {s} is {v}.", "{v} is the capital of {s}."]
        case .language: ["People in {s} speak {v}.", "The main language of {s} is {v}."]
        case .country: ["{s} is a city in {v}.", "{s} lies in {v}."]
        case .founded: ["{s} was founded in {v}.", "{s} was established in the year {v}."]
        case .born: ["{s} was born in {v}.", "{s} was born in the year {v}."]
        case .birthplace: ["{s} was born in the city of {v}.", "The birthplace of {s} is {v}."]
        case .occupation: ["{s} worked as a {v}.", "{s} was a well known {v}."]
        case .founder: ["{s} was founded by {v}.", "The founder of {s} is {v}."]
        case .headquarters: ["{s} has its headquarters in {v}.", "The headquarters of {s} is in {v}."]
        case .industry: ["{s} makes {v}.", "{s} is known for making {v}."]
        case .flowsThrough: ["{s} flows through {v}.", "{s} runs across {v}."]
        case .length: ["{s} is {v} long.", "{s} has a length of {v}."]
        }
    }

    /// Sentences that say nothing checkable: they make passages read like an
    /// encyclopedia and give noisy documents on-topic text without facts.
    static func fillers(_ kind: EntityKind) -> [String] {
        switch kind {
        case .country:
            [
                "{s} has mountains in the north and plains in the south.", "{s} is known for its long winters.",
                "Farming is important in {s}.", "{s} has many small villages.", "The roads of {s} are old but busy.",
            ]
        case .city:
            [
                "{s} is known for its old market.", "{s} has a small harbour and many bridges.",
                "Many visitors come to {s} in the summer.", "{s} has a busy central square.",
                "The streets of {s} are narrow and quiet.",
            ]
        case .person:
            [
                "{s} spent many years travelling.", "{s} wrote many letters that still survive.",
                "Friends remembered {s} as patient and kind.", "Little is known about the early life of {s}.",
                "{s} later moved to the coast.",
            ]
        case .company:
            [
                "{s} employs several hundred workers.", "{s} grew quickly in its first years.",
                "{s} sells its goods in many countries.", "{s} opened a second factory later.",
                "The early years of {s} were difficult.",
            ]
        case .river:
            [
                "{s} is popular with fishermen.", "Several bridges cross {s}.", "{s} floods in the spring.",
                "The water of {s} is cold and clear.", "Boats travel along {s} in the summer.",
            ]
        }
    }

    /// The single-hop question asking for `attribute` of `{s}`.
    static func question(_ attribute: Attribute) -> String {
        switch attribute {
        case .capital: "What is the capital of {s}?"
        case .language: "What language is spoken in {s}?"
        case .country: "In which country is {s}?"
        case .founded: "When was {s} founded?"
        case .born: "When was {s} born?"
        case .birthplace: "Where was {s} born?"
        case .occupation: "What was the occupation of {s}?"
        case .founder: "Who founded {s}?"
        case .headquarters: "Where is the headquarters of {s}?"
        case .industry: "What does {s} make?"
        case .flowsThrough: "Which country does {s} flow through?"
        case .length: "How long is {s}?"
        }
    }

    /// Two-hop forms: the first attribute leads from `{s}` to a bridge
    /// entity, the second from the bridge to the answer.
    static let twoHop: [(first: Attribute, second: Attribute, text: String)] = [
        (.founder, .born, "When was the founder of {s} born?"),
        (.founder, .birthplace, "Where was the founder of {s} born?"),
        (.founder, .occupation, "What was the occupation of the founder of {s}?"),
        (.headquarters, .country, "In which country is the headquarters of {s}?"),
        (.birthplace, .country, "In which country was {s} born?"),
        (.birthplace, .founded, "When was the birthplace of {s} founded?"),
        (.flowsThrough, .capital, "What is the capital of the country that {s} flows through?"),
        (.country, .language, "What language is spoken in the country where {s} lies?"),
        (.capital, .founded, "When was the capital of {s} founded?"),
    ]

    static let occupations = ["painter", "poet", "chemist", "composer", "sailor", "farmer", "teacher", "doctor", "builder", "merchant"]
    static let industries = ["ships", "glass", "paper", "tools", "bread", "cloth", "engines", "clocks", "shoes", "furniture"]

    static func fill(_ template: String, subject: String, value: String = "") -> String {
        template.replacingOccurrences(of: "{s}", with: subject).replacingOccurrences(of: "{v}", with: value)
    }
}
