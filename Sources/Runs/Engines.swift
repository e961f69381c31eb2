import Agent
import Foundation
import Generation
import RL
import Search
import Support
import Training

/// What a run may reuse instead of loading or building it again: models
/// already in memory, by the path or name a config gives them; engines
/// already built, by their spec (the demo's BM25 over its world, say); and
/// questions already read, by their file's path.
public struct Preloaded {
    public var models: [String: LoadedModel]
    public var engines: [String: any SearchEngine]
    public var questions: [String: [RolloutRow]]

    public init(
        models: [String: LoadedModel] = [:], engines: [String: any SearchEngine] = [:],
        questions: [String: [RolloutRow]] = [:]
    ) {
        self.models = models
        self.engines = engines
        self.questions = questions
    }
}

/// The search engine a config describes, with every option it sets. An
/// in-process simulator reuses a preloaded model of the same name; a
/// credential is sent only when `api_key_env` names the variable that holds it.
extension TrainConfig.Engine {
    var retryPolicy: RetryPolicy { RetryPolicy(maxAttempts: attempts, deadline: .seconds(deadline)) }
}

public func makeEngine(
    _ config: TrainConfig.Engine, preloaded: Preloaded = Preloaded(),
    log: @escaping @Sendable (String) -> Void = standardErrorLine
) async throws -> any SearchEngine {
    try config.validate()
    if let engine = preloaded.engines[config.spec] { return engine }
    let apiKey = try config.apiKeyEnv.isEmpty ? nil : environmentValue(config.apiKeyEnv)
    let timeout = Duration.seconds(config.timeout)
    let retry = config.retryPolicy
    switch try config.parsedSpec() {
    case .simulator, .simulatorServers:
        let completer = try await makeCompleter(config, preloaded: preloaded, log: log)
        return SimulatedEngine(
            mode: config.simulatorMode, completer: completer, topK: config.topK,
            redraws: SimulatorRedraws(limit: config.redraws, holdsAnswer: containsAnswer))
    case .retriever(let server):
        return RetrieverEngine(
            .init(
                servers: [server], topK: config.topK, concurrency: config.concurrency, timeout: timeout,
                retry: retry))
    case .google:
        return try GoogleEngine(
            .init(
                apiKey: apiKey, topK: config.topK, concurrency: config.concurrency, timeout: timeout,
                retry: retry))
    case .bm25(let index):
        return try BM25Engine(contentsOf: URL(fileURLWithPath: index), topK: config.topK)
    }
}

/// The model that answers a simulator's (or an LLM judge's) prompts: one in
/// this process (`sim:MODEL`) or OpenAI-compatible servers (`sim+http://…`).
public func makeCompleter(
    _ config: TrainConfig.Engine, preloaded: Preloaded = Preloaded(),
    log: @escaping @Sendable (String) -> Void = standardErrorLine
) async throws -> any TextCompleter {
    try config.validate()
    switch try config.parsedSpec() {
    case .simulator(let name):
        let model: LoadedModel
        if let loaded = preloaded.models[name] { model = loaded } else { model = try LoadedModel(try await resolveModel(name, log: log)) }
        return LocalCompleter(model: model, maxTokens: config.maxTokens, temperature: config.temperature, seed: config.seed)
    case .simulatorServers(let servers):
        return OpenAIChatClient(
            .init(
                servers: servers, model: config.servedModel,
                apiKey: try config.apiKeyEnv.isEmpty ? nil : environmentValue(config.apiKeyEnv),
                maxTokens: config.maxTokens, temperature: Double(config.temperature), seed: config.seed,
                concurrency: config.concurrency, timeout: .seconds(config.timeout), retry: config.retryPolicy))
    default:
        throw InvalidInput(place: "engine.spec", problem: "\(config.spec) is not a model: use sim:MODEL or sim+http://HOST:PORT")
    }
}

private func environmentValue(_ name: String) throws -> String {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
        throw InvalidInput(place: "engine.api_key_env", problem: "the environment variable \(name) is not set")
    }
    return value
}
