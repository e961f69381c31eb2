import Engine
import Foundation

/// How the next token is drawn from the logits.
///
/// `temperature == 0` is greedy decoding. Otherwise the logits are divided
/// by the temperature, then optionally restricted to the `topK` most likely
/// tokens and to the smallest set whose probability reaches `topP`, and a
/// token is drawn from what remains.
public struct SamplingParameters: Sendable, Equatable, Codable {
    public var temperature: Float
    /// 0 keeps every token.
    public var topK: Int
    /// 1 keeps every token.
    public var topP: Float

    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    public static let greedy = SamplingParameters(temperature: 0)

    public func validate() throws {
        try require(temperature >= 0 && temperature.isFinite, "SamplingParameters", "temperature must be ≥ 0, got \(temperature)")
        try require(topK >= 0, "SamplingParameters", "topK must be ≥ 0, got \(topK)")
        try require(topP > 0 && topP <= 1, "SamplingParameters", "topP must be in (0, 1], got \(topP)")
    }
}

/// A drawn token and its log-probability.
///
/// The log-probability is taken under the temperature-scaled distribution
/// over the whole vocabulary (the raw distribution when greedy), before any
/// top-k/top-p truncation: that is the quantity policy-gradient ratios use
/// (veRL scores old log-probs with the same temperature), and it does not
/// depend on the truncation knobs.
public struct SampledToken: Sendable, Equatable {
    public let token: Int32
    public let logProb: Float
}

/// Draws one token from `logits[0..<count]`.
public func sampleToken(
    _ logits: UnsafePointer<Float>, count: Int, parameters: SamplingParameters,
    rng: inout RandomGenerator
) -> SampledToken {
    // Greedy and temperature 1 read the logits as they are; only another
    // temperature needs a scaled copy.
    let inverseTemperature = parameters.temperature == 0 ? 1 : 1 / parameters.temperature
    let scaledCopy: UnsafeMutablePointer<Float>? = inverseTemperature == 1 ? nil : .allocate(capacity: count)
    defer { scaledCopy?.deallocate() }
    if let scaledCopy { for i in 0..<count { scaledCopy[i] = logits[i] * inverseTemperature } }
    let scaled = UnsafePointer(scaledCopy) ?? logits
    let logNormaliser = logSumExp(scaled, count)
    func drawn(_ i: Int) -> SampledToken { SampledToken(token: Int32(i), logProb: scaled[i] - logNormaliser) }
    if parameters.temperature == 0 {
        var best = 0
        for i in 1..<count where scaled[i] > scaled[best] { best = i }
        return drawn(best)
    }

    var candidates: [Int]
    if parameters.topK > 0 && parameters.topK < count {
        candidates = topIndices(scaled, count: count, k: parameters.topK)
    } else if parameters.topP < 1 {
        // A token below (1 − topP)/count can never enter the nucleus: all such
        // tokens together hold less than the 1 − topP the nucleus leaves out.
        let floor = Foundation.log((1 - parameters.topP) / Float(count)) + logNormaliser
        candidates = (0..<count).filter { scaled[$0] >= floor }
        candidates.sort { scaled[$0] > scaled[$1] || (scaled[$0] == scaled[$1] && $0 < $1) }
    } else {
        // The whole vocabulary: inverse CDF over the probabilities.
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { buffer in
            let probabilities = buffer.baseAddress!
            probabilities.update(from: scaled, count: count)
            softmaxInPlace(probabilities, count)
            var target = Float(rng.uniformDouble())
            var i = 0
            while i < count - 1 {
                target -= probabilities[i]
                if target < 0 { break }
                i += 1
            }
            return drawn(i)
        }
    }
    var weights = candidates.map { Foundation.exp(Double(scaled[$0] - logNormaliser)) }
    if parameters.topP < 1 {
        // Candidates are sorted most likely first; keep the smallest prefix reaching topP of the total mass.
        var kept = 0
        var cumulative = 0.0
        let mass = parameters.topK > 0 ? weights.reduce(0, +) : 1
        while kept < candidates.count {
            cumulative += weights[kept]
            kept += 1
            if cumulative >= Double(parameters.topP) * mass { break }
        }
        candidates.removeLast(candidates.count - kept)
        weights.removeLast(weights.count - kept)
    }
    var target = rng.uniformDouble() * weights.reduce(0, +)
    for (candidate, weight) in zip(candidates, weights) {
        target -= weight
        if target < 0 { return drawn(candidate) }
    }
    return drawn(candidates[candidates.count - 1])
}

/// The `k` largest logits' indices, most likely first (a partial selection:
/// a min-heap of size k over one pass).
func topIndices(_ logits: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
    var heap: [Int] = []  // min-heap on logit
    heap.reserveCapacity(k)
    func less(_ a: Int, _ b: Int) -> Bool { logits[a] < logits[b] || (logits[a] == logits[b] && a > b) }
    func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var smallest = i
            if l < heap.count && less(heap[l], heap[smallest]) { smallest = l }
            if r < heap.count && less(heap[r], heap[smallest]) { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
    for i in 0..<count {
        if heap.count < k {
            heap.append(i)
            var j = heap.count - 1
            while j > 0 && less(heap[j], heap[(j - 1) / 2]) {
                heap.swapAt(j, (j - 1) / 2)
                j = (j - 1) / 2
            }
        } else if less(heap[0], i) {
            heap[0] = i
            siftDown(0)
        }
    }
    return heap.sorted { less($1, $0) }
}

/// A token's log-probability under the model (temperature 1, before any
/// top-k or top-p cut, as vLLM and OpenAI report it) and its alternatives.
public struct TokenLogProb: Sendable, Equatable {
    public var token: Int32
    public var logProb: Float
    public var top: [(token: Int32, logProb: Float)]

    /// The log-softmax of `logits[0..<count]` at `token` and at its `top` likeliest tokens.
    public init(_ logits: UnsafePointer<Float>, count: Int, token: Int32, top: Int) {
        let normaliser = logSumExp(logits, count)
        self.token = token
        logProb = logits[Int(token)] - normaliser
        self.top = top > 0 ? topIndices(logits, count: count, k: top).map { (Int32($0), logits[$0] - normaliser) } : []
    }

    public static func == (a: TokenLogProb, b: TokenLogProb) -> Bool {
        a.token == b.token && a.logProb == b.logProb && a.top.elementsEqual(b.top) { $0 == $1 }
    }
}
