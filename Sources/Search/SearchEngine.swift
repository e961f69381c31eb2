/// Whether a simulated search call must return documents that help answer the
/// question or plausible ones that do not. Real engines ignore it.
public enum DocumentKind: String, Sendable, Codable, Equatable {
    case useful, noisy
}

/// One search call. Besides the query it carries the training row it came
/// from, because a simulator writes documents for that row's question and
/// gold answers (and a simulator given another row's would teach the policy
/// nonsense: the original code did this when only some rows searched).
public struct SearchRequest: Sendable, Equatable {
    public var query: String
    public var question: String
    public var goldAnswers: [String]
    public var kind: DocumentKind

    public init(query: String, question: String = "", goldAnswers: [String] = [], kind: DocumentKind = .useful) {
        self.query = query
        self.question = question
        self.goldAnswers = goldAnswers
        self.kind = kind
    }
}

/// The documents one call returned, rendered as the policy reads them
/// (`Doc 1: …` one per line), or the published failure text when the call
/// failed, with the reason kept for metrics.
public struct SearchResult: Sendable, Equatable {
    public var text: String
    public var failure: String?

    public init(text: String, failure: String? = nil) {
        self.text = text
        self.failure = failure
    }

    /// What the policy reads when a call fails (the published loop's text).
    public static let failureText = "No information available"

    public static func failed(_ reason: String) -> SearchResult {
        SearchResult(text: failureText, failure: reason)
    }

    /// Renders passages in the engines' common form: `Doc i: text`, one per line.
    public static func documents(_ passages: [String]) -> SearchResult {
        SearchResult(text: passages.enumerated().map { "Doc \($0.offset + 1): \($0.element)" }.joined(separator: "\n"))
    }

    public var failed: Bool { failure != nil }
}

/// A search engine answers a batch of calls, one result per request in the
/// same order. A call that fails yields `SearchResult.failed` rather than
/// throwing, so one bad call never loses the batch.
public protocol SearchEngine: Sendable {
    /// A short label for logs and reports (`bm25:wiki`, `sim+http://…`).
    var name: String { get }
    func search(_ requests: [SearchRequest]) async -> [SearchResult]
}

/// Runs `body` for every element with at most `limit` calls in flight and
/// returns the results in input order.
public func concurrentMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element], limit: Int, _ body: @escaping @Sendable (Element) async -> Result
) async -> [Result] {
    precondition(limit > 0, "concurrency limit must be positive")
    return await withTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: elements.count)
        var next = 0
        func launch() {
            let index = next
            let element = elements[index]
            group.addTask { (index, await body(element)) }
            next += 1
        }
        while next < min(limit, elements.count) { launch() }
        for await (index, result) in group {
            results[index] = result
            if next < elements.count { launch() }
        }
        return results.map { $0! }
    }
}
