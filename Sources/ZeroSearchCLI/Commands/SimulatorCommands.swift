import Agent
import ArgumentParser
import Console
import Foundation
import Generation
import Models
import RL
import RealRun
import Runs
import Search
import Support
import Training

/// `zerosearch simulator collect | label | train | eval`: the paper's
/// simulation tuning on real data (docs/real.md).
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator", abstract: "Tune an LLM to play the search engine on real search results (docs/real.md).",
        subcommands: [SimulatorCollect.self, SimulatorLabel.self, SimulatorTrain.self, SimulatorEval.self])
}

struct SimulatorCollect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect", abstract: "Ask the real engine each training question; write (query, documents) pairs as JSONL.")

    @Option(help: "Questions (a split file of `zerosearch data splits`).") var questions: String
    @Option(help: "The real engine's BM25 index.") var index: String
    @Option(help: "Documents per query.") var topK = 5
    @Option(help: "Words per document: the window of the passage with the most query words.") var snippetWords = 30
    @Option(help: "Use the first N questions (0: all).") var limit = 0
    @Flag(help: "Also ask each question with its first gold answer appended (answer-guided useful pairs).")
    var answerGuided = false
    @Option(help: "JSONL file to write.") var out: String

    func run() async throws {
        var asked = try JSONLines.read(QuestionSplits.Question.self, from: URL(fileURLWithPath: questions))
        if limit > 0 { asked = Array(asked.prefix(limit)) }
        let bm25 = try BM25Index(contentsOf: URL(fileURLWithPath: index))
        let pairs = SimulatorTuning.collect(
            questions: asked, answerGuided: answerGuided, index: bm25, topK: topK, snippetWords: snippetWords)
        try JSONLines.write(pairs, to: URL(fileURLWithPath: out))
        print("wrote \(pairs.count) pairs to \(out)")
    }
}

struct SimulatorLabel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label",
        abstract: "Judge each pair useful or noisy: by rule (the documents contain a gold answer) or by an LLM judge server.")

    @Option(help: "Pairs from `simulator collect`.") var pairs: String
    @Option(help: "An OpenAI-compatible server to judge with (http://HOST:PORT); without it the rule judges.") var judge: String?
    @Option(help: "The `model` field sent to the judge.") var judgeModel = ""
    @Option(help: "The environment variable holding the judge's API key (none is sent otherwise).") var apiKeyEnv = ""
    @Option(help: "JSONL file to write.") var out: String

    func run() async throws {
        var labelled = try JSONLines.read(EnginePair.self, from: URL(fileURLWithPath: pairs))
        if let judge {
            var engine = TrainConfig.Engine()
            engine.spec = "sim+" + judge
            engine.servedModel = judgeModel
            engine.apiKeyEnv = apiKeyEnv
            engine.temperature = 0
            engine.maxTokens = 8
            labelled = await SimulatorTuning.llmLabels(labelled, judge: try makeCompleter(engine))
        } else {
            labelled = SimulatorTuning.ruleLabels(labelled)
        }
        try JSONLines.write(labelled, to: URL(fileURLWithPath: out))
        let useful = labelled.filter { $0.label == .useful }.count
        print("\(labelled.count) pairs: \(useful) useful, \(labelled.count - useful) noisy → \(out)")
    }
}

struct SimulatorTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a simulator in the published sft format on labelled pairs; write a model folder for sim:PATH.")

    @Option(help: "Labelled pairs from `simulator label`.") var pairs: String
    @Option(help: "The model to tune: GGUF file, Hugging Face folder or installed name.") var base = "smollm2-135m-instruct"
    @OptionGroup var tuning: FineTuningOptions
    @Option(help: "Kept examples of the more frequent label per example of the rarer one.") var ratio = 1.0
    @Option(help: "Loss weight of a gold answer's tokens in useful examples.") var answerWeight: Float = 8
    @Option(help: "The answer weight inside a document's title (Title: …).") var titleAnswerWeight: Float = 8
    @Flag(inversion: .prefixedNo, help: "Useful targets show their answer-holding documents first (default: the engine's order).")
    var answerFirst = false
    @Option(help: "Weight of the unlikelihood of a gold answer's opening in noisy examples (0: off).") var unlikelihoodWeight = 8.0
    @Option(help: "Model folder to write.") var out: String

    func run() async throws {
        let labelled = try JSONLines.read(EnginePair.self, from: URL(fileURLWithPath: pairs))
        let model = try LoadedModel(try await resolveModel(base), prepareInference: false)
        let examples = SimulatorTuning.examples(
            labelled, model: model, ratio: ratio, answerWeight: answerWeight, titleAnswerWeight: titleAnswerWeight,
            answerFirst: answerFirst)
        try tuning.fineTune(examples, base: model, title: "simulator", unlikelihoodWeight: unlikelihoodWeight, to: out)
    }
}

struct SimulatorEval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "On held-out questions: how often useful and noisy calls contain a gold answer, and how often outputs are well formed.")

    @Option(help: "Held-out questions (a split file).") var questions: String
    @Option(help: "The real engine's BM25 index.") var index: String
    @Option(help: "The untuned model, run in prompt mode (empty: leave that row out).") var base = "smollm2-135m-instruct"
    @Option(help: "The tuned simulator's model folder, run in sft mode.") var simulator: String?
    @Option(help: "Documents per call.") var topK = 5
    @Option(help: "Simulator output limit in tokens.") var maxTokens = 320
    @Option(help: "Simulator sampling temperature.") var temperature: Float = 0.7
    @Option(help: "Tuned simulator: times a malformed reply, or noisy documents holding a gold answer, are asked again.")
    var redraws = 0
    @Option(help: "Score the first N questions.") var limit = 100
    @Option(help: "Write the scores as JSON here.") var out: String?

    func run() async throws {
        let asked = Array(try JSONLines.read(QuestionSplits.Question.self, from: URL(fileURLWithPath: questions)).prefix(limit))
        var real = TrainConfig.Engine()
        real.spec = "bm25:" + index
        real.topK = topK
        var engines: [(String, any SearchEngine)] = [("real engine (BM25)", try await makeEngine(real))]
        for (name, path, mode, redraws) in [
            ("prompt-mode simulator", base.isEmpty ? nil : base, SimulatorMode.prompt, 0),
            (redraws > 0 ? "tuned simulator, \(redraws) redraws" : "tuned simulator", simulator, .sft, redraws),
        ] {
            guard let path else { continue }
            var config = real
            config.spec = "sim:" + path
            config.simulatorMode = mode
            config.maxTokens = maxTokens
            config.temperature = temperature
            config.redraws = redraws
            engines.append((name, try await makeEngine(config)))
        }
        var scores: [SimulatorScore] = []
        for (name, engine) in engines {
            let progress = ProgressBar(title: name, total: asked.count)
            scores.append(
                await SimulatorScore.measure(engine, name: name, questions: asked, topK: topK) { progress.update($0, detail: "") })
            progress.finish()
        }
        print("engine                              useful∋answer  noisy∋answer  useful 1st title∋answer  well-formed  redraws  seconds")
        for score in scores {
            // `%-35@` does not pad on Linux's Foundation.
            print(
                score.engine.padding(toLength: 35, withPad: " ", startingAt: 0)
                    + String(
                        format: " %12.1f%% %12.1f%% %23.1f%% %11.1f%% %8d %8.0f",
                        100 * score.usefulContainsAnswer, 100 * score.noisyContainsAnswer, 100 * (score.usefulFirstTitleHoldsAnswer ?? 0),
                        100 * score.wellFormed, score.redraws, score.seconds))
        }
        if let out {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeAtomically(encoder.encode(scores), to: URL(fileURLWithPath: out))
        }
    }
}

/// The settings of a supervised fine-tuning, as flags.
struct FineTuningOptions: ParsableArguments {
    @Option(help: "LoRA rank on every projection, merged into the saved weights (0: full fine-tuning).") var loraRank = 16
    @Option(help: "Adapters on the top N layers only (0: every layer); the backward pass stops below them.") var loraLayers = 0
    @Option(help: "Optimiser steps.") var steps = 48
    @Option(help: "Examples per step.") var batchSize = 8
    @Option(help: "Examples per forward and backward pass (0: the whole batch); the same step in less memory.")
    var microBatchSize = 0
    @Option(help: "Peak learning rate (linear warm-up over a tenth of the steps, then a cosine to a tenth).") var lr = 1e-3

    func fineTune(
        _ examples: [SupervisedExample], base: LoadedModel, title: String, unlikelihoodWeight: Double = 1, to out: String
    ) throws {
        let tokens = examples.reduce(0) { $0 + $1.sequence.tokens.count }
        standardErrorLine("\(examples.count) examples, \(tokens / max(examples.count, 1)) tokens each on average")
        let lora = SimulatorTuning.lora(rank: loraRank, layers: loraLayers)
        let config = SupervisedConfig(
            steps: steps, batchSize: batchSize, lr: lr, warmupSteps: steps / 10, cosineFloor: 0.1, lengthGrouping: 4,
            unlikelihoodWeight: unlikelihoodWeight, microBatchSize: microBatchSize)
        let progress = ProgressBar(title: title, total: steps)
        try RealRun.fineTune(examples, base: base, lora: lora, config: config, to: URL(fileURLWithPath: out)) { step, loss in
            progress.update(step + 1, detail: String(format: "loss %.3f", loss))
        }
        progress.finish()
        print("wrote \(out)")
    }
}

struct ColdStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coldstart",
        abstract: "Teach a small policy the agent's format before RL: demonstrations with the simulator's documents (docs/real.md).")

    @Option(help: "Training questions (a split file).") var questions: String
    @Option(help: "The simulator whose useful documents the demonstrations read (sft mode).") var simulator: String
    @Option(help: "The policy to teach: GGUF file, Hugging Face folder or installed name.") var policy = "smollm2-135m-instruct"
    @Option(help: "Questions to demonstrate.") var limit = 256
    @Flag(help: "Leave out questions whose documents hold no gold answer.") var requireAnswer = false
    @Option(help: "Simulator output limit in tokens.") var maxTokens = 320
    @Option(help: "Document tokens a demonstration shows, as the rollout's max_observation_tokens cuts them.")
    var maxObservationTokens = RolloutConfig().maxObservationTokens
    @OptionGroup var tuning: FineTuningOptions
    @Option(help: "Model folder to write.") var out: String

    func run() async throws {
        let asked = Array(try JSONLines.read(QuestionSplits.Question.self, from: URL(fileURLWithPath: questions)).prefix(limit))
        var engine = TrainConfig.Engine()
        engine.spec = "sim:" + simulator
        engine.simulatorMode = .sft
        engine.maxTokens = maxTokens
        engine.temperature = 0.7
        let progress = ProgressBar(title: "documents", total: asked.count)
        let documents = await ColdStart.documents(for: asked, simulator: try await makeEngine(engine)) { progress.update($0, detail: "") }
        progress.finish()
        let model = try LoadedModel(try await resolveModel(policy), prepareInference: false)
        let examples = ColdStart.demonstrations(
            asked, documents: documents, model: model, maxObservationTokens: maxObservationTokens, requireAnswer: requireAnswer)
        let holding = zip(asked, documents).filter { question, text in text.map { containsAnswer($0, gold: question.answer) } ?? false }
        standardErrorLine(
            "\(holding.count) of \(asked.count) questions have documents that hold a gold answer; \(examples.count) demonstrations")
        try tuning.fineTune(examples, base: model, title: "cold start", to: out)
    }
}
