import Agent
import Engine
import Foundation
import Models
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
        var sequence = Trajectory(prompt: encode(PolicyPrompt(template: DemoSettings.agentTemplate).render(question: question.question)))
        var answer = guess(question, &rng)
        if rng.uniformDouble() < searchRate {
            for (turn, hop) in question.hops.enumerated() {
                generate("<search> \(world.entities[hop.entity].name) </search>", turn: turn, into: &sequence)
                let useful = rng.uniformDouble() < usefulRate
                sequence.appendObservation(
                    encode(informationText(documents(question, hop: turn, kind: useful ? .useful : .noisy, &rng))),
                    turn: turn)
                guard useful else { break }
                if turn == question.hops.count - 1 { answer = question.answers[0] }
            }
        }
        generate("<answer> \(answer) </answer>", turn: question.hops.count, into: &sequence)
        // The documents stay masked, as in RL: they state other facts of the
        // entity too, some of which test questions ask for.
        return SupervisedExample(sequence: sequence)
    }

    private func answering(_ question: WorldQuestion, template: String, context: String?, answer: String) -> SupervisedExample {
        SupervisedExample(
            prompt: encode(PolicyPrompt(template: template).render(question: question.question, context: context)),
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

/// The base model's pretraining text, from parallel worlds of the demo's: the
/// same entities under the same names, each world with facts of its own. The
/// base learns the names, the language, the tags and to read, but no demo
/// fact: across its worlds a fact takes random values, so the only way to
/// predict one is to read it on the page. Every token is trained on. Pages:
///
/// - an encyclopedia passage (10%);
/// - a drill (60%): a single-hop question answered by searching its entity
///   with BM25 and reading, then every other question about that entity
///   answered from the same documents, so each page has several answers to
///   look up, the skill that forms slowest;
/// - an agent page (30%): any question, single- or two-hop, answered by
///   searching each hop by name and reading what comes back, BM25's results
///   or simulator-style documents at even odds.
struct PretrainingPages {
    private let worlds: [World]
    private let engines: [BM25Engine]
    private let tokenizer: BPETokenizer
    /// Per world, every question, and the single-hop ones by entity.
    private let questions: [[WorldQuestion]]
    private let singleHop: [[Int: [WorldQuestion]]]

    /// Where a reading page's documents come from: always the engine, or
    /// the engine or simulator-style documents at even odds.
    enum Documents {
        case engine, either
    }

    init(parallelTo world: World, count: Int, topK: Int, tokenizer: BPETokenizer) throws {
        worlds = try (1...count).map { k in
            try World(world.config.parallel(factSeed: world.config.seed &+ DemoModels.parallelFactSeeds &+ UInt64(k)))
        }
        engines = try worlds.map { try Demo.bm25($0, topK: topK) }
        self.tokenizer = tokenizer
        // Every question, not the split's: a parallel world's facts are not
        // the demo's, so none is held out, and the split drops some.
        questions = worlds.map { World.questions($0.entities) }
        singleHop = questions.map { questions in
            Dictionary(grouping: questions.filter { $0.kind == .singleHop }, by: { $0.hops[0].entity })
        }
    }

    func page(rng: inout RandomGenerator) -> SupervisedExample {
        let w = rng.below(worlds.count)
        let world = worlds[w]
        let engine = engines[w]
        let kind = rng.uniformDouble()
        let text: String
        if kind < 0.1 {
            text = world.passages[rng.below(world.passages.count)].rendered
        } else if kind < 0.7 {
            // Every entity has a fact, so a single-hop question.
            var questions = singleHop[w][rng.below(world.entities.count)]!
            rng.shuffle(&questions)
            text =
                Self.readingPage(questions[0], in: world, engine: engine, documents: .engine, rng: &rng)
                + questions.dropFirst().map { "\n\n" + Self.prompt($0) + Self.answer($0) }.joined()
        } else {
            text = Self.readingPage(rng.pick(questions[w]), in: world, engine: engine, documents: .either, rng: &rng)
        }
        return Self.page(text, tokenizer: tokenizer)
    }

    /// A page of text, every token trained on, after an end-of-text token.
    static func page(_ text: String, tokenizer: BPETokenizer) -> SupervisedExample {
        SupervisedExample(prompt: start(tokenizer), completion: tokenizer.encode(text, addSpecialTokens: false))
    }

    fileprivate static func start(_ tokenizer: BPETokenizer) -> [Int32] { [tokenizer.eosTokenID ?? 0] }
    private static func prompt(_ question: WorldQuestion) -> String {
        PolicyPrompt(template: DemoSettings.agentTemplate).render(question: question.question)
    }
    private static func answer(_ question: WorldQuestion) -> String { "<answer> \(question.answers[0]) </answer>" }

    /// A question of `world` answered by searching each hop and reading the documents.
    fileprivate static func readingPage(
        _ question: WorldQuestion, in world: World, engine: BM25Engine, documents: Documents,
        rng: inout RandomGenerator
    ) -> String {
        var text = prompt(question)
        for hop in question.hops {
            let query = world.entities[hop.entity].name
            let fromEngine = documents == .engine || rng.below(2) == 0
            let found =
                fromEngine
                ? engine.documents(for: query)
                : world.simulatedDocuments(for: query, question: question, kind: .useful, rng: &rng)
            text += "<search> \(query) </search>" + informationText(found)
        }
        return text + answer(question)
    }
}

/// How well a model reads what the real engine returns, on facts it never
/// saw: the mean probability, teacher-forced, of the answer's first token
/// after searching each hop of `world`'s questions with `engine`. The probes
/// are built once, so checking during a build costs one forward pass.
struct ReadingProbe {
    private let probes: [Trajectory]

    init(world: World, engine: BM25Engine, questions: ArraySlice<WorldQuestion>, tokenizer: BPETokenizer) {
        func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecialTokens: false) }
        var rng = RandomGenerator(seed: 7)
        probes = questions.map { question in
            let answer = encode(" \(question.answers[0]) </answer>")
            let page = encode(PretrainingPages.readingPage(question, in: world, engine: engine, documents: .engine, rng: &rng))
            var probe = Trajectory(prompt: PretrainingPages.start(tokenizer) + page.dropLast(answer.count))
            probe.appendGenerated([answer[0]], logProbs: [0], turn: 0)
            return probe
        }
    }

    func accuracy(_ model: Decoder) throws -> Double {
        let logProbs = try responseLogProbs(probes, under: model)
        return logProbs.reduce(0) { $0 + Foundation.exp($1[0]) } / Double(max(logProbs.count, 1))
    }
}
