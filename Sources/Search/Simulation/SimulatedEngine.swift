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

    public init(calls: Int = 0, failures: Int = 0, noisy: Int = 0) {
        self.calls = calls
        self.failures = failures
        self.noisy = noisy
    }
}

/// An LLM pretending to be a search engine: each request becomes the
/// published simulator prompt for its own row's question and gold answers,
/// in the useful or noisy form the request asks for.
public final class SimulatedEngine: SearchEngine {
    public let mode: SimulatorMode
    public let completer: any TextCompleter
    public let topK: Int
    private let counters = Mutex(SimulatorCounters())

    public init(mode: SimulatorMode, completer: any TextCompleter, topK: Int = 5) {
        self.mode = mode
        self.completer = completer
        self.topK = topK
    }

    public var name: String { "sim(\(mode.rawValue)):\(completer.name)" }

    public var statistics: SimulatorCounters { counters.withLock { $0 } }

    public func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        let outputs = await completer.completions(for: requests.map { SimulatorPrompt.render($0, mode: mode) })
        let results = outputs.map { output -> SearchResult in
            switch output {
            case .failure(let failure): return .failed(failure.description)
            case .success(let text):
                let documents = SimulatorPrompt.postprocess(text, topK: topK).trimmingPythonWhitespace()
                return documents.isEmpty ? .failed("the simulator returned no text") : SearchResult(text: documents)
            }
        }
        counters.withLock { counters in
            counters.calls += requests.count
            counters.failures += results.filter(\.failed).count
            counters.noisy += requests.filter { $0.kind == .noisy }.count
        }
        return results
    }
}
