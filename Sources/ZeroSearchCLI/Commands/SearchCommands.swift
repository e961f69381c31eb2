import Agent
import ArgumentParser
import Engine
import Foundation
import Generation
import RL
import Runs
import Search
import Support
import Training

/// The options that choose and configure a search engine: the fields of a
/// config's `engine:` section, as flags.
struct EngineOptions: ParsableArguments {
    @Option(help: "sim:MODEL, sim+http://HOST:PORT[,…], bm25:INDEX, retriever+http://HOST:PORT or google.")
    var engine: String
    @Option(help: "Documents per search.") var topK = TrainConfig.Engine().topK
    @Option(help: "Simulator prompt format: prompt (an instruct model) or sft (a fine-tuned simulator).")
    var simulatorMode = TrainConfig.Engine().simulatorMode
    @Option(help: "Simulator sampling temperature.") var simulatorTemperature = TrainConfig.Engine().temperature
    @Option(help: "Simulator output limit in tokens.") var simulatorMaxTokens = TrainConfig.Engine().maxTokens
    @Option(help: "Simulator random seed (sent to simulator servers too).") var simulatorSeed = TrainConfig.Engine().seed
    @Option(help: "Simulator: times a malformed reply, or noisy documents holding a gold answer, are asked again.")
    var simulatorRedraws = TrainConfig.Engine().redraws
    @Option(help: "Model name sent to a simulator server (vLLM needs the served name).") var simulatorModel = ""
    @Option(help: "Remote engines: calls in flight at most.") var concurrency = TrainConfig.Engine().concurrency
    @Option(help: "Remote engines: seconds before an attempt is abandoned (then retried).") var timeout = TrainConfig.Engine().timeout
    @Option(help: "Remote engines: attempts per call.") var attempts = TrainConfig.Engine().attempts
    @Option(help: "Remote engines: the environment variable holding the API key (none is sent otherwise).") var apiKeyEnv = ""

    var config: TrainConfig.Engine {
        var config = TrainConfig.Engine()
        config.spec = engine
        config.topK = topK
        config.simulatorMode = simulatorMode
        config.temperature = simulatorTemperature
        config.maxTokens = simulatorMaxTokens
        config.seed = simulatorSeed
        config.redraws = simulatorRedraws
        config.servedModel = simulatorModel
        config.concurrency = concurrency
        config.timeout = timeout
        config.attempts = attempts
        config.apiKeyEnv = apiKeyEnv
        return config
    }

    /// Builds the engine; `sharing` is a model already loaded for another
    /// role, reused when the simulator names the same model.
    func makeEngine(sharing loaded: (name: String, model: LoadedModel)? = nil) async throws -> any SearchEngine {
        try await Runs.makeEngine(config, preloaded: Preloaded(models: loaded.map { [$0.name: $0.model] } ?? [:]))
    }
}

extension SimulatorMode: ExpressibleByArgument {}

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the documents an engine returns for a query.")

    @Argument(help: "The query.") var query: String
    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "The question the query serves (a simulator may use it).") var question = ""
    @Option(help: "A gold answer the simulator may use (repeatable).") var gold: [String] = []
    @Flag(help: "Ask a simulator for noisy documents instead of useful ones.") var noisy = false

    func run() async throws {
        let engine = try await engineOptions.makeEngine()
        let request = SearchRequest(query: query, question: question, goldAnswers: gold, kind: noisy ? .noisy : .useful)
        let result = await engine.search([request])[0]
        print(result.text)
        if let failure = result.failure {
            standardErrorLine("search failed: \(failure)")
            throw ExitCode.failure
        }
    }
}

struct Ask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the search agent on one question and show the whole trajectory.")

    @Argument(help: "The question.") var question: String
    @Option(help: "The policy model: GGUF file, Hugging Face folder or installed name.") var policy: String
    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "A gold answer, for the reward and for a simulator (repeatable).") var gold: [String] = []
    @Option(help: "Searches allowed before the final answer.") var maxTurns = 2
    @Option(help: "Policy tokens per turn.") var maxTurnTokens = 500
    @Option(help: "Policy sampling temperature (0: greedy).") var temperature: Float = 0.7
    @Option(help: "Policy nucleus sampling mass.") var topP: Float = 0.95
    @Option(help: "Probability that a simulated search returns noisy documents.") var noise = 0.0
    @Option(help: "Random seed for the policy and the noise draws.") var seed: UInt64 = 0
    @Flag(help: "Print the trajectory as JSON (tokens, log-probs, masks, turns) instead of text.") var json = false

    func run() async throws {
        let model = try LoadedModel(try await resolveModel(policy))
        let engine = try await engineOptions.makeEngine(sharing: (policy, model))
        let agent = try ModelPolicy(model: model, sampling: SamplingParameters(temperature: temperature, topP: topP), seed: seed)
        var config = RolloutConfig()
        config.maxTurns = maxTurns
        config.maxTurnTokens = maxTurnTokens
        config.revealGoldAnswers = try engineOptions.config.parsedSpec().isSimulated
        var rng = RandomGenerator(seed: seed)
        let started = DispatchTime.now().uptimeNanoseconds
        let trajectory = try await rollout(
            [RolloutRow(question: question, goldAnswers: gold)], policy: agent, engine: engine,
            noiseProbability: noise, rng: &rng, config: config)[0]
        let scores = gold.isEmpty ? nil : scoreAnswer(trajectory.answer, gold: gold)
        if json {
            var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(trajectory)) as! [String: Any]
            if let scores { object["scores"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(scores)) }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print(readable(trajectory, scores: scores, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9))
    }

    func readable(_ trajectory: Trajectory, scores: AnswerScores?, seconds: Double) -> String {
        var lines = ["Question: \(question)"]
        for (turn, text) in trajectory.generations.enumerated() {
            lines += ["", "── turn \(turn + 1) ─ policy", text.trimmingPythonWhitespace()]
            for call in trajectory.searches where call.turn == turn {
                lines += [
                    "", "── turn \(turn + 1) ─ search \"\(call.query)\" (\(call.kind.rawValue)\(call.failed ? ", failed" : ""))",
                    call.documents,
                ]
            }
        }
        lines += [
            "", "Answer: \(trajectory.answer ?? "(none)")  [\(trajectory.end.rawValue)]",
            "Searches: \(trajectory.searches.count), response tokens: \(trajectory.responseLength) "
                + "(\(trajectory.lossMask.filter { $0 == 1 }.count) generated), \(String(format: "%.1f", seconds)) s",
        ]
        if let scores {
            lines.append(String(format: "Reward (F1): %.3f   EM: %.0f   substring EM: %.0f", scores.f1, scores.em, scores.subem))
        }
        return lines.joined(separator: "\n")
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a prediction against gold answers: exact match, substring match and F1.")

    @Option(help: "The predicted answer.") var prediction: String
    @Option(help: "A gold answer (repeatable; the best score counts).") var gold: [String]

    func run() throws {
        let scores = scoreAnswer(prediction, gold: gold)
        let object: [String: Double] = ["em": scores.em, "subem": scores.subem, "f1": scores.f1]
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}
