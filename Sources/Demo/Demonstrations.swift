import Agent
import Foundation
import Models
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
        var sequence = Trajectory(prompt: encode(PolicyPrompt(template: Demo.agentTemplate).render(question: question.question)))
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

/// The base model's pretraining text, from another world than the demo's:
/// encyclopedia passages, and questions answered in the agent's format by
/// searching each hop and reading simulator-style documents. Every token is
/// trained on. The base learns the language, the tags, to copy names into
/// queries and answers out of documents; the facts it sees are not the demo
/// world's (the names are invented per world).
struct PretrainingPages {
    let world: World
    let tokenizer: BPETokenizer

    func page(rng: inout RandomGenerator) -> SupervisedExample {
        guard rng.uniformDouble() < 0.7 else {
            let passage = world.passages[rng.below(world.passages.count)]
            return SupervisedExample(prompt: start, completion: encode("(Title: \(passage.title)) \(passage.text)"))
        }
        return readingPage(world.train[rng.below(world.train.count)], rng: &rng)
    }

    private var start: [Int32] { [tokenizer.eosTokenID ?? 0] }

    /// A question answered by searching each hop and reading the documents.
    func readingPage(_ question: WorldQuestion, rng: inout RandomGenerator) -> SupervisedExample {
        var text = PolicyPrompt(template: Demo.agentTemplate).render(question: question.question)
        for hop in question.hops {
            let query = world.entities[hop.entity].name
            text += "<search> \(query) </search>"
                + informationText(world.simulatedDocuments(for: query, question: question, kind: .useful, rng: &rng))
        }
        text += "<answer> \(question.answers[0]) </answer>"
        return SupervisedExample(prompt: start, completion: encode(text))
    }

    /// The mean probability, teacher-forced, of the first token of the answer
    /// on reading pages of questions the base never trained on: how well it
    /// has learned to copy from documents.
    func readingAccuracy(_ model: Decoder, questions: ArraySlice<WorldQuestion>) throws -> Double {
        var rng = RandomGenerator(seed: 7)
        let trajectories = questions.map { question in
            let page = readingPage(question, rng: &rng).sequence
            let answer = encode(" \(question.answers[0]) </answer>")
            var probe = Trajectory(prompt: Array(page.tokens.dropLast(answer.count)))
            probe.appendGenerated([answer[0]], logProbs: [0], turn: 0)
            return probe
        }
        let logProbs = try responseLogProbs(trajectories, under: model)
        return logProbs.reduce(0) { $0 + Foundation.exp($1[0]) } / Double(max(logProbs.count, 1))
    }

    private func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecialTokens: false) }
}
