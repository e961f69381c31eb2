import Agent
import Foundation
import Generation
import Search
import Synchronization
import Tokenizers

enum TestData {
    /// Qwen's real tokenizer, fetched by scripts/setup-test-data.sh.
    static let qwenResult = Result {
        let cache =
            ProcessInfo.processInfo.environment["ZEROSEARCH_CACHE"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/zerosearch").path
        let folder = URL(fileURLWithPath: cache).appendingPathComponent("test-data/qwen")
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw TokenizerError("test data \(folder.path) is missing: run scripts/setup-test-data.sh")
        }
        return try BPETokenizer(huggingFaceFolder: folder)
    }

    static func qwen() throws -> BPETokenizer { try qwenResult.get() }
}

/// A policy that replies from a script: `replies[row][k]` is row `row`'s k-th
/// generation. Replies are tokenized, cut to the token limit, and finish the
/// way a sampler would: at a stop string, with the end-of-sequence token when
/// the reply ends in `endOfSequence`, or else at the token limit.
final class ScriptedPolicy: RolloutPolicy {
    final class Context {
        let row: Int
        var tokens: [Int32]
        var generations = 0
        init(row: Int, tokens: [Int32]) {
            self.row = row
            self.tokens = tokens
        }
    }

    static let endOfSequence = "<EOS>"
    let tokenizer: any Tokenizer
    let replies: [[String]]
    private var nextRow = 0
    /// The context each generation call saw, per row.
    private(set) var seen: [[Int32]] = []

    init(tokenizer: any Tokenizer, replies: [[String]]) {
        self.tokenizer = tokenizer
        self.replies = replies
    }

    func promptTokens(_ instructions: String) -> [Int32] { tokenizer.encode("PROMPT " + instructions, addSpecialTokens: false) }

    func makeContext(_ prompt: [Int32]) -> Context {
        defer { nextRow += 1 }
        return Context(row: nextRow, tokens: prompt)
    }

    func append(_ tokens: [Int32], to context: Context) { context.tokens += tokens }

    /// A recognisable log-prob per generated token: −(row + 1)/10 − position/1000.
    static func logProb(row: Int, position: Int) -> Float { -Float(row + 1) / 10 - Float(position) / 1000 }

    func generate(_ contexts: [Context], maxNewTokens: [Int], stopStrings: [String], call: Int) throws -> [Completion] {
        zip(contexts, maxNewTokens).map { context, limit in
            seen.append(context.tokens)
            var reply = replies[context.row][context.generations]
            context.generations += 1
            let endsSequence = reply.hasSuffix(Self.endOfSequence)
            if endsSequence { reply.removeLast(Self.endOfSequence.count) }
            var tokens = tokenizer.encode(reply, addSpecialTokens: false)
            var finish = FinishReason.length
            if tokens.count > limit {
                tokens = Array(tokens.prefix(limit))
            } else if let stop = stopStrings.first(where: { reply.hasSuffix($0) }) {
                finish = .stopString(stop)
            } else if endsSequence {
                tokens.append(tokenizer.eosTokenID!)
                finish = .stopToken(tokenizer.eosTokenID!)
            }
            context.tokens += tokens
            let logProbs = tokens.indices.map { Self.logProb(row: context.row, position: $0) }
            return Completion(tokens: tokens, logProbs: logProbs, finishReason: finish)
        }
    }
}

/// An engine that answers `Doc 1: about <query>` (or fails for queries
/// starting with "fail") and records every batch it was sent.
final class ScriptedEngine: SearchEngine {
    let batches = Mutex<[[SearchRequest]]>([])
    let name = "scripted"

    func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        batches.withLock { $0.append(requests) }
        return requests.map { request in
            request.query.hasPrefix("fail")
                ? .failed("scripted failure")
                : .documents(["about \(request.query)", "more on \(request.query)"])
        }
    }
}
