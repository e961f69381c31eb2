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
/// the reply ends in `endOfSequence`, or else at the token limit. A
/// generation writes one token per decoding step, so rows stop at
/// different steps, as a model's do.
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
    /// The context each generation started from, per row, in start order.
    fileprivate(set) var seen: [[Int32]] = []
    /// The sampling stream of each generation, by (row, generation).
    fileprivate(set) var streams: [[Int]: UInt64] = [:]

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

    func makeDecoding(stopStrings: [String]) -> Decoding { Decoding(policy: self, stopStrings: stopStrings) }

    final class Decoding: RolloutDecoding {
        let policy: ScriptedPolicy
        let stopStrings: [String]
        private var running: [(id: Int, context: Context, tokens: [Int32], finish: FinishReason, written: Int)] = []

        init(policy: ScriptedPolicy, stopStrings: [String]) {
            self.policy = policy
            self.stopStrings = stopStrings
        }

        func add(_ context: Context, id: Int, maxNewTokens limit: Int, stream: UInt64) {
            policy.seen.append(context.tokens)
            policy.streams[[context.row, context.generations]] = stream
            var reply = policy.replies[context.row][context.generations]
            context.generations += 1
            let endsSequence = reply.hasSuffix(ScriptedPolicy.endOfSequence)
            if endsSequence { reply.removeLast(ScriptedPolicy.endOfSequence.count) }
            let tokenizer = policy.tokenizer
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
            running.append((id, context, tokens, finish, 0))
        }

        var isEmpty: Bool { running.isEmpty }

        func step() -> [(id: Int, completion: Completion)] {
            var finished: [(id: Int, completion: Completion)] = []
            for index in running.indices {
                let item = running[index]
                if item.written < item.tokens.count {
                    item.context.tokens.append(item.tokens[item.written])
                    running[index].written += 1
                }
                if running[index].written == item.tokens.count {
                    let logProbs = item.tokens.indices.map { ScriptedPolicy.logProb(row: item.context.row, position: $0) }
                    finished.append((item.id, Completion(tokens: item.tokens, logProbs: logProbs, finishReason: item.finish)))
                }
            }
            running.removeAll { $0.written == $0.tokens.count }
            return finished
        }
    }
}

/// An engine that answers `Doc 1: about <query>` (or fails for queries
/// starting with "fail") and records every batch it was sent.
final class ScriptedEngine: SearchEngine {
    let batches = Mutex<[[SearchRequest]]>([])
    let name = "scripted"
    /// Each call answers after a random 0–`maxDelayMilliseconds` ms.
    let maxDelayMilliseconds: Int

    init(maxDelayMilliseconds: Int = 0) { self.maxDelayMilliseconds = maxDelayMilliseconds }

    func search(_ requests: [SearchRequest]) async -> [SearchResult] {
        batches.withLock { $0.append(requests) }
        if maxDelayMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(Int.random(in: 0...maxDelayMilliseconds))) }
        return requests.map { request in
            request.query.hasPrefix("fail")
                ? .failed("scripted failure")
                : .documents(["about \(request.query)", "more on \(request.query)"])
        }
    }
}
