import Agent
import Engine
import Foundation
import Models
import Search
import Tokenizers
import Training

/// A small world in which answering needs the search tool: every row pairs a
/// question `Qi` with an answer `Aj` drawn at random, so the same question
/// has different answers in different rows and nothing can be memorised. A
/// policy that answers without searching is right one time in
/// `answers.count`; one that searches and reads the document is always right.
struct TinySearchTask {
    static let size = 8
    let questions = (0..<size).map { "Q\($0)" }
    let answers = (0..<size).map { "A\($0)" }
    let rows: [RolloutRow]
    let tokenizer: BPETokenizer
    let template = "Q: {question}\n"

    init(rows count: Int = 512, seed: UInt64 = 3) throws {
        var rng = RandomGenerator(seed: seed)
        let (questions, answers) = (self.questions, self.answers)
        rows = (0..<count).map { _ in
            RolloutRow(
                question: questions[Int(rng.next() % UInt64(Self.size))],
                goldAnswers: [answers[Int(rng.next() % UInt64(Self.size))]])
        }
        tokenizer = try Self.makeTokenizer()
    }

    /// Byte-level BPE without merges, plus the tags, questions and answers as
    /// single tokens, and an end-of-sequence token.
    static func makeTokenizer() throws -> BPETokenizer {
        var vocab: [String: Int] = [:]
        for (i, byte) in (0..<256).enumerated() { vocab[byteLevelCharacter(UInt8(byte))] = i }
        let words =
            ["<search>", "</search>", "<answer>", "</answer>", "<information>", "</information>"]
            + (0..<size).map { "Q\($0)" } + (0..<size).map { "A\($0)" }
        var added: [[String: Any]] = words.enumerated().map { i, word in
            ["id": 256 + i, "content": word, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false]
        }
        added.append([
            "id": 256 + words.count, "content": "<eos>", "single_word": false, "lstrip": false, "rstrip": false,
            "normalized": false, "special": true,
        ])
        let json: [String: Any] = [
            "version": "1.0", "added_tokens": added,
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "decoder": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
        ]
        let config = try JSONSerialization.data(withJSONObject: ["eos_token": "<eos>"])
        return try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: json), tokenizerConfig: config)
    }

    /// GPT-2's printable stand-in for a byte.
    static func byteLevelCharacter(_ byte: UInt8) -> String {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        if printable.contains(Int(byte)) { return String(UnicodeScalar(byte)) }
        let offset = (0..<256).filter { !printable.contains($0) }.firstIndex(of: Int(byte))!
        return String(UnicodeScalar(UInt32(256 + offset))!)
    }

    /// Big enough, with a short RoPE wavelength, to learn to copy a token
    /// from a fixed distance back within a few hundred steps.
    static let config = DecoderConfig(
        vocabSize: 288, hiddenSize: 128, intermediateSize: 256, layers: 2, heads: 4, kvHeads: 2,
        ropeTheta: 100, maxPositions: 256)

    func prompt(_ question: String) -> String { PolicyPrompt(template: template).render(question: question) }

    /// A policy that knows the format and how to read documents, but not the
    /// world, and rarely searches. Supervised (on the completions only) in two
    /// phases: first on trajectories that search half of the time and then
    /// answer with the document's answer (the others answer at random) until
    /// it reads documents reliably; then briefly on ones that search only
    /// `searchRate` of the time. RL has to discover that searching pays.
    func pretrainedPolicy(searchRate: Float = 0.1, seed: UInt64 = 1) throws -> Models.Decoder {
        let model = try Models.Decoder(config: Self.config, seed: seed)
        var rng = RandomGenerator(seed: seed &+ 100)
        func examples(searchRate: Float) -> [SupervisedExample] {
            (0..<2048).map { _ in
                let question = questions[Int(rng.next() % UInt64(Self.size))]
                let truth = answers[Int(rng.next() % UInt64(Self.size))]
                var answer = answers[Int(rng.next() % UInt64(Self.size))]
                var completion = ""
                if rng.uniform() < searchRate {
                    completion += "<search>\(question)</search>\n\n<information>Doc 1: \(truth)</information>\n\n"
                    answer = truth
                }
                completion += "<answer>\(answer)</answer><eos>"
                return SupervisedExample(
                    prompt: tokenizer.encode(prompt(question), addSpecialTokens: false),
                    completion: tokenizer.encode(completion, addSpecialTokens: false))
            }
        }
        var config = SupervisedConfig(steps: 100, batchSize: 16, lr: 1e-3, seed: seed)
        let reading = examples(searchRate: 0.5)
        for round in 0..<30 where try readingAccuracy(model) < 0.95 {
            config.seed = seed &+ UInt64(round)
            try supervisedFineTune(model, on: reading, config: config)
        }
        config.steps = 60
        try supervisedFineTune(model, on: examples(searchRate: searchRate), config: config)
        return model
    }

    /// The mean probability of answering with the document's answer after a search.
    func readingAccuracy(_ model: Models.Decoder) throws -> Double {
        let trajectories = rows.prefix(32).map { row in
            let (question, answer) = (row.question, row.goldAnswers[0])
            var trajectory = Trajectory(
                prompt: tokenizer.encode(
                    prompt(question) + "<search>\(question)</search>\n\n<information>Doc 1: \(answer)</information>\n\n<answer>",
                    addSpecialTokens: false))
            trajectory.appendGenerated(tokenizer.encode(answer, addSpecialTokens: false), logProbs: [0], turn: 0)
            return trajectory
        }
        let logProbs = try responseLogProbs(trajectories, under: model)
        return logProbs.reduce(0) { $0 + Foundation.exp($1[0]) } / Double(logProbs.count)
    }
}

/// The task's engine: whatever the query, the document gives the row's
/// answer (the engine "knows" the world through the row it is told about).
struct TinySearchEngine: SearchEngine {
    let name = "tiny"

    func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        requests.map { .documents($0.goldAnswers) }
    }
}
