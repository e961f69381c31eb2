import Foundation

/// A client of OpenAI-compatible chat completions (`POST /v1/chat/completions`),
/// what sglang and vLLM serve: the simulated engine's remote back end. Each
/// prompt is one single-turn chat; the servers batch concurrent requests
/// themselves, so throughput comes from keeping `concurrency` calls in flight.
public struct OpenAIChatClient: Sendable {
    public struct Configuration: Sendable {
        /// Replicas of one model, `http://host:6001` (a trailing `/v1` is accepted).
        public var servers: [URL]
        /// The `model` field. sglang ignores it, so the original sent `""`;
        /// vLLM wants a served name (`servedModels()` lists them).
        public var model: String
        /// Sent as `Authorization: Bearer …` when set; never taken from the
        /// environment unasked, so a real key cannot leak to a local server.
        public var apiKey: String?
        /// The system message; the original sent an empty one, which chat
        /// templates render differently from none (Qwen's default system text
        /// appears only without one). `nil` sends no system message.
        public var systemPrompt: String?
        public var maxTokens: Int
        public var temperature: Double
        /// Sent with every request, so that a server that honours it (vLLM,
        /// sglang, llama.cpp) writes the same documents again.
        public var seed: UInt64?
        /// Requests in flight at once over all calls (the original's 10 threads).
        public var concurrency: Int
        public var timeout: Duration
        public var retry: RetryPolicy

        public init(
            servers: [URL], model: String = "",
            apiKey: String? = nil,
            systemPrompt: String? = "", maxTokens: Int = 600, temperature: Double = 0.8, seed: UInt64? = nil,
            concurrency: Int = 10, timeout: Duration = .seconds(120),
            retry: RetryPolicy = RetryPolicy(maxAttempts: 5)
        ) {
            self.servers = servers
            self.model = model
            self.apiKey = apiKey
            self.systemPrompt = systemPrompt
            self.maxTokens = maxTokens
            self.temperature = temperature
            self.seed = seed
            self.concurrency = concurrency
            self.timeout = timeout
            self.retry = retry
        }
    }

    public let configuration: Configuration
    private let client: JSONHTTPClient

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        client = JSONHTTPClient(
            JSONHTTPClient.Configuration(
                servers: configuration.servers.map { $0.lastPathComponent == "v1" ? $0.deletingLastPathComponent() : $0 },
                timeout: configuration.timeout, retry: configuration.retry,
                maxConcurrentRequests: configuration.concurrency,
                headers: configuration.apiKey.map { ["Authorization": "Bearer \($0)"] } ?? [:]))
    }

    public var metrics: RemoteMetrics { client.metrics }

    /// The completion of each prompt, in order; one failure never costs the others.
    public func complete(_ prompts: [String]) async -> [Result<String, HTTPFailure>] {
        await concurrentMap(prompts, limit: configuration.concurrency) { await complete($0) }
    }

    public func complete(_ prompt: String) async -> Result<String, HTTPFailure> {
        var messages = [Message(role: "user", content: prompt)]
        if let system = configuration.systemPrompt { messages.insert(Message(role: "system", content: system), at: 0) }
        let request = ChatRequest(
            model: configuration.model, messages: messages,
            max_tokens: configuration.maxTokens, temperature: configuration.temperature,
            seed: configuration.seed)
        return await client.post("v1/chat/completions", json: request, as: ChatResponse.self).map(\.content)
    }

    /// The model names the servers list (`GET /v1/models`).
    public func servedModels() async -> Result<[String], HTTPFailure> {
        await client.get("v1/models", as: ModelList.self).map { $0.data.map(\.id) }
    }

    private struct Message: Codable {
        var role: String
        var content: String
    }

    private struct ChatRequest: Encodable {
        var model: String
        var messages: [Message]
        var max_tokens: Int
        var temperature: Double
        var seed: UInt64?
    }

    /// `choices[0].message.content`; a missing or null one makes the answer
    /// malformed, so it is retried like any broken answer.
    private struct ChatResponse: Decodable {
        var content: String

        private struct Choice: Decodable { var message: Message }
        private enum CodingKeys: CodingKey { case choices }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard let first = try container.decode([Choice].self, forKey: .choices).first else {
                throw DecodingError.dataCorruptedError(forKey: .choices, in: container, debugDescription: "empty")
            }
            content = first.message.content
        }
    }

    private struct ModelList: Decodable {
        struct Model: Decodable { var id: String }
        var data: [Model]
    }
}

extension OpenAIChatClient: TextCompleter {
    public var name: String { configuration.servers.map(JSONHTTPClient.origin).joined(separator: ",") }

    public func completions(for prompts: [String]) async -> [Result<String, CompletionFailure>] {
        await complete(prompts).map { $0.mapError { CompletionFailure($0.description) } }
    }
}
