import Support
import Synchronization

/// Why one completion failed (timeout, HTTP status, a model error), kept as
/// text for the metrics and logs.
public struct CompletionFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// Something that turns prompts into completions: a model in this process
/// or an OpenAI-compatible server. One result per prompt, in order.
public protocol TextCompleter: Sendable {
    var name: String { get }
    func completions(for prompts: [String]) async -> [Result<String, CompletionFailure>]
}

/// Counts what a simulator did, for the training metrics.
public struct SimulatorCounters: Sendable, Equatable, Codable {
    public var calls = 0
    public var failures = 0
    public var noisy = 0
    /// Replies asked again because they were rejected (`SimulatorRedraws`).
    public var redraws = 0

    public init(calls: Int = 0, failures: Int = 0, noisy: Int = 0, redraws: Int = 0) {
        self.calls = calls
        self.failures = failures
        self.noisy = noisy
        self.redraws = redraws
    }
}

/// Which simulator replies are asked again, and how many times: a reply that
/// is not `topK` numbered documents (a 135M simulator's documents sometimes
/// run past its token limit), and noisy documents that hold a gold answer (a
/// noisy search that answers the question is no noise). The published engine
/// keeps every reply; a redraw is a fresh sample of the same prompt, so a
/// kept reply is always the simulator's own text.
public struct SimulatorRedraws: Sendable {
    /// Times a rejected reply is asked again (0: every reply kept). The last
    /// reply counts even when it too is rejected.
    public var limit: Int
    /// Whether documents hold one of the gold answers (answer matching lives
    /// with the scores, downstream of the engines).
    public var holdsAnswer: @Sendable (_ documents: String, _ gold: [String]) -> Bool

    public init(limit: Int, holdsAnswer: @escaping @Sendable (_ documents: String, _ gold: [String]) -> Bool) {
        self.limit = limit
        self.holdsAnswer = holdsAnswer
    }

    public static let none = SimulatorRedraws(limit: 0) { _, _ in false }

    func rejects(_ result: SearchResult, for request: SearchRequest, topK: Int) -> Bool {
        guard !result.failed else { return false }
        return !SimulatorPrompt.isWellFormed(result.text, topK: topK)
            || (request.kind == .noisy && holdsAnswer(result.text, request.goldAnswers))
    }
}

/// An LLM pretending to be a search engine: each request becomes the
/// published simulator prompt for its own row's question and gold answers,
/// in the useful or noisy form the request asks for.
public final class SimulatedEngine: SearchEngine {
    public let mode: SimulatorMode
    public let completer: any TextCompleter
    public let topK: Int
    public let redraws: SimulatorRedraws
    private let counters = Mutex(SimulatorCounters())

    public init(mode: SimulatorMode, completer: any TextCompleter, topK: Int = 5, redraws: SimulatorRedraws = .none) {
        self.mode = mode
        self.completer = completer
        self.topK = topK
        self.redraws = redraws
    }

    public var name: String { "sim(\(mode.rawValue)):\(completer.name)" }

    public var statistics: SimulatorCounters { counters.withLock { $0 } }

    public func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        var results = await ask(requests)
        var rejected = requests.indices.filter { redraws.rejects(results[$0], for: requests[$0], topK: topK) }
        var redrawn = 0
        for _ in 0..<redraws.limit where !rejected.isEmpty {
            redrawn += rejected.count
            let again = await ask(rejected.map { requests[$0] })
            // A failed redraw keeps the reply it was to replace.
            for (index, result) in zip(rejected, again) where !result.failed { results[index] = result }
            rejected = rejected.filter { redraws.rejects(results[$0], for: requests[$0], topK: topK) }
        }
        counters.withLock { [redrawn] counters in
            counters.calls += requests.count
            counters.failures += results.filter(\.failed).count
            counters.noisy += requests.filter { $0.kind == .noisy }.count
            counters.redraws += redrawn
        }
        return results
    }

    private func ask(_ requests: [SearchRequest]) async -> [SearchResult] {
        let outputs = await completer.completions(for: requests.map { SimulatorPrompt.render($0, mode: mode) })
        return outputs.map { output -> SearchResult in
            switch output {
            case .failure(let failure): return .failed(failure.description)
            case .success(let text):
                let documents = SimulatorPrompt.postprocess(text, topK: topK).trimmingPythonWhitespace()
                return documents.isEmpty ? .failed("the simulator returned no text") : SearchResult(text: documents)
            }
        }
    }
}
