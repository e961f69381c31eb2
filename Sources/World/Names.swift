import Engine

/// Invents pronounceable names from consonant-vowel syllables, each distinct
/// word used once in the whole world (first names excepted), so a name
/// identifies its entity and a model can only learn its facts by reading.
struct NameMaker {
    private var used: Set<String> = []

    private static let onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "st", "tr"]
    private static let vowels = ["a", "e", "i", "o", "u"]
    private static let codas = ["", "", "", "n", "r", "l", "s"]

    /// A fresh capitalised word of `syllables` syllables plus `suffix`.
    mutating func word(_ rng: inout RandomGenerator, syllables: ClosedRange<Int>, suffix: [String] = [""]) -> String {
        while true {
            let count = syllables.lowerBound + rng.below(syllables.count)
            var word = ""
            for s in 0..<count {
                word += rng.pick(Self.onsets) + rng.pick(Self.vowels)
                // A coda only at the end keeps clusters like "nstr" out.
                if s == count - 1 { word += rng.pick(Self.codas) }
            }
            let ending = rng.pick(suffix)
            // "Labi" + "ic" reads as "Labic", not "Labiic".
            if let first = ending.first, let last = word.last, Self.vowels.contains(String(first)), Self.vowels.contains(String(last)) {
                word.removeLast()
            }
            word += ending
            word = word.prefix(1).uppercased() + word.dropFirst()
            if used.insert(word).inserted { return word }
        }
    }

    /// The pool people's first names are drawn from: small, so the corpus
    /// vocabulary stays small, and reserved so no place shares one.
    mutating func firstNames(_ rng: inout RandomGenerator, count: Int) -> [String] {
        (0..<count).map { _ in word(&rng, syllables: 2...2) }
    }

    mutating func name(for kind: EntityKind, firstNames: [String], _ rng: inout RandomGenerator) -> (name: String, short: String?) {
        switch kind {
        case .country:
            return (word(&rng, syllables: 2...2, suffix: ["ia", "and", "or", "ara"]), nil)
        case .city:
            return (word(&rng, syllables: 2...3), nil)
        case .person:
            let surname = word(&rng, syllables: 2...3)
            return (rng.pick(firstNames) + " " + surname, surname)
        case .company:
            let core = word(&rng, syllables: 2...2, suffix: ["ex", "ix", "on", "a"])
            return (core + " " + rng.pick(["Works", "Group", "Company", "Labs"]), core)
        case .river:
            let core = word(&rng, syllables: 2...2)
            return (core + " River", core)
        }
    }
}
