import Agent
import Engine
import Search
import Tokenizers
import Training
import World

/// The policy's warm start: trajectories that show the tag format under the
/// three prompts it is evaluated with, on training questions only.
///
/// - Agent prompt: `searchRate` of them search, naming each hop's entity in
///   turn (the bridge's name is in the first documents), read documents of
///   the kind the fine-tuned simulator writes, and answer from them; when a
///   search comes back noisy, or when they do not search, they answer with a
///   guess of the right type. The documents are observations, not trained on.
/// - Direct prompt: a guess.
/// - RAG prompt: documents about the question's first entity; the answer when
///   they hold it (single-hop), a guess otherwise.
///
/// Guesses are another entity's value for the same attribute: the policy
/// learns what an answer looks like, never which one is right.
struct Demonstrations {
    let world: World
    let tokenizer: BPETokenizer
    let searchRate: Double
    let usefulRate: Double
    private let entitiesByKind: [EntityKind: [Int]]

    init(world: World, tokenizer: BPETokenizer, searchRate: Double, usefulRate: Double) {
        self.world = world
        self.tokenizer = tokenizer
        self.searchRate = searchRate
        self.usefulRate = usefulRate
        entitiesByKind = Dictionary(grouping: world.entities.indices, by: { world.entities[$0].kind })
    }

    mutating func example(rng: inout RandomGenerator) -> SupervisedExample {
        let question = world.train[rng.below(world.train.count)]
        let format = rng.uniformDouble()
        if format < 0.6 { return agent(question, &rng) }
        if format < 0.8 { return answering(question, template: PolicyPrompt.direct, context: nil, answer: guess(question, &rng)) }
        let documents = self.documents(question, hop: 0, kind: .useful, &rng)
        let answer = question.kind == .singleHop ? question.answers[0] : guess(question, &rng)
        return answering(question, template: PolicyPrompt.retrievalAugmented, context: documents, answer: answer)
    }

    private func agent(_ question: WorldQuestion, _ rng: inout RandomGenerator) -> SupervisedExample {
        var sequence = Trajectory(prompt: encode(PolicyPrompt().render(question: question.question)))
        var answer = guess(question, &rng)
        if rng.uniformDouble() < searchRate {
            for (turn, hop) in question.hops.enumerated() {
                generate("<search> \(world.entities[hop.entity].name) </search>", turn: turn, into: &sequence)
                let useful = rng.uniformDouble() < usefulRate
                sequence.appendObservation(encode(informationText(documents(question, hop: turn, kind: useful ? .useful : .noisy, &rng))),
                                           turn: turn)
                guard useful else { break }
                if turn == question.hops.count - 1 { answer = question.answers[0] }
            }
        }
        generate("<answer> \(answer) </answer>", turn: question.hops.count, into: &sequence)
        // Documents repeat the facts they state, so predicting them is
        // learning to copy from context: the reading the answers need.
        sequence.trainOnObservations()
        return SupervisedExample(sequence: sequence)
    }

    private func answering(_ question: WorldQuestion, template: String, context: String?, answer: String) -> SupervisedExample {
        SupervisedExample(prompt: encode(PolicyPrompt(template: template).render(question: question.question, context: context)),
                          completion: encode("<answer> \(answer) </answer>"))
    }

    /// What the simulator is fine-tuned to return for a query naming the hop's entity.
    private func documents(_ question: WorldQuestion, hop: Int, kind: DocumentKind, _ rng: inout RandomGenerator) -> String {
        world.simulatedDocuments(for: world.entities[question.hops[hop].entity].name, question: question, kind: kind, rng: &rng)
    }

    private func guess(_ question: WorldQuestion, _ rng: inout RandomGenerator) -> String {
        let last = question.hops[question.hops.count - 1]
        let candidates = entitiesByKind[world.entities[last.entity].kind] ?? [last.entity]
        let other = world.entities[candidates[rng.below(candidates.count)]]
        return other.value(last.attribute).map { world.entities.answers($0)[0] } ?? question.answers[0]
    }

    private func generate(_ text: String, turn: Int, into sequence: inout Trajectory) {
        let tokens = encode(text)
        sequence.appendGenerated(tokens, logProbs: Array(repeating: 0, count: tokens.count), turn: turn)
    }

    private func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecialTokens: false) }
}
