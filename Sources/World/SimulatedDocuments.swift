import Engine
import Foundation
import Search

extension World {
    /// Five documents for `query`, written from the world's ground truth: the
    /// targets a small simulator is fine-tuned to imitate.
    ///
    /// The query's need is the last hop of the question whose subject it
    /// names (a query naming the bridge entity of a two-hop question asks for
    /// the second hop); a query naming none asks for the first hop, as the
    /// published simulator also sees the question. Useful documents each state
    /// that hop's fact, and only it, so a two-hop question still takes two
    /// searches; noisy ones are about the same entity but state neither the
    /// fact nor any gold answer. Documents read as the real engine prints
    /// passages (`Doc i: (Title: …) …`), so the policy meets one form in
    /// training and evaluation.
    public func simulatedDocuments(
        for query: String, question: WorldQuestion, kind: DocumentKind,
        rng: inout RandomGenerator
    ) -> String {
        let hop = targetHop(of: query, in: question)
        let subject = entities[hop.entity]
        let needed = statementsOf(subject, hop.attribute)
        // One wording per other fact, so no document says the same thing twice.
        var companions =
            subject.facts.map(\.attribute).filter { $0 != hop.attribute }
            .map { entities.statement(subject, $0, variant: rng.below(2)) }
            + Templates.fillers(subject.kind).map { Templates.fill($0, subject: subject.name) }
        let banned = question.answers + entities.answers(subject.value(hop.attribute)!)
        companions.removeAll { sentence in banned.contains { World.mentions(sentence, $0) } }
        rng.shuffle(&companions)

        let documents: [[String]] = (0..<5).map { i in
            switch kind {
            case .useful:
                let pair = [needed[i % needed.count], companions[i % companions.count]]
                return rng.below(2) == 0 ? pair : pair.reversed()
            // Five fillers always survive the filter, so with at least five
            // companions these five pairs are distinct and never repeat a sentence.
            case .noisy: return [companions[i % companions.count], companions[(i + 2) % companions.count]]
            }
        }
        return SearchResult.documents(documents.map { "(Title: \(subject.name)) " + $0.joined(separator: " ") }).text
    }

    private func statementsOf(_ entity: Entity, _ attribute: Attribute) -> [String] {
        Templates.statements(attribute).indices.map { entities.statement(entity, attribute, variant: $0) }
    }

    /// The latest hop whose subject the query names by its distinctive word.
    func targetHop(of query: String, in question: WorldQuestion) -> Hop {
        question.hops.last { hop in
            let entity = entities[hop.entity]
            return World.mentions(query, entity.shortName ?? entity.name)
        } ?? question.hops[0]
    }
}

extension World {
    /// Lowercased words: how queries are matched to names and documents
    /// checked for answers ("Tala" must not match inside "Talaria").
    static func words(_ text: String) -> [Substring] {
        text.lowercased()[...].split { !$0.isLetter && !$0.isNumber }
    }

    /// Whether `phrase` occurs in `text` as whole words, ignoring case.
    public static func mentions(_ text: String, _ phrase: String) -> Bool {
        let text = words(text)
        let phrase = words(phrase)
        guard !phrase.isEmpty, phrase.count <= text.count else { return false }
        return (0...(text.count - phrase.count)).contains { text[$0..<$0 + phrase.count].elementsEqual(phrase) }
    }
}

/// One training example for a simulator in the published `sft` format.
public struct SimulatorExample: Sendable, Equatable {
    public var prompt: String
    public var documents: String
}

extension World {
    /// Examples a small model can be fine-tuned on to play the search engine
    /// in the published `sft` format: for training questions, a query naming
    /// one hop's entity (what a searching policy writes), useful or noisy at
    /// even odds, and the documents this world's ground truth gives for it.
    public func simulatorExamples(count: Int, seed: UInt64) -> [SimulatorExample] {
        guard !train.isEmpty else { return [] }
        var rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in
            let question = train[rng.below(train.count)]
            let hop = question.hops[rng.below(question.hops.count)]
            let query = entities[hop.entity].name
            let kind: DocumentKind = rng.below(2) == 0 ? .useful : .noisy
            let request = SearchRequest(query: query, question: question.question, goldAnswers: question.answers, kind: kind)
            return SimulatorExample(
                prompt: SimulatorPrompt.render(request, mode: .sft),
                documents: simulatedDocuments(for: query, question: question, kind: kind, rng: &rng))
        }
    }
}
