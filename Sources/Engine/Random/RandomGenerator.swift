import Foundation

/// A seeded, reproducible generator: xoshiro256** seeded through SplitMix64.
///
/// The same seed gives the same stream on every machine and build, and the
/// state is `Codable` so a training run can save it and resume bit-exactly.
public struct RandomGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var s = seed
        state = (0..<4).map { _ in
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A saved state: four words, not all zero (xoshiro's one fixed point).
    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let state = try container.decode([UInt64].self, forKey: .state)
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .state, in: container, debugDescription: "a generator's state is four words, not all zero")
        }
        self.state = state
    }

    private enum CodingKeys: String, CodingKey { case state }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    /// Uniform in `[0, 1)` with 24 random bits (every Float there is reachable
    /// on the 2⁻²⁴ grid).
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in `[0, 1)` with 53 random bits.
    public mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// An integer in `0..<n` from this generator's stream alone (the standard
    /// library's `random(in:)` may change its algorithm between releases).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// One of `items`, uniformly, from this generator's stream alone.
    public mutating func pick<C: RandomAccessCollection>(_ items: C) -> C.Element where C.Index == Int {
        items[items.startIndex + below(items.count)]
    }

    /// Fisher–Yates from this generator's stream alone (the standard library's
    /// `shuffle(using:)` may change its algorithm between releases, and with it
    /// every world and batch order drawn from a seed).
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, below(i + 1)) }
    }

    /// Standard normal by Box–Muller (one value per call; the pair's second
    /// value is dropped so the state stays four words).
    public mutating func normal(mean: Float = 0, std: Float = 1) -> Float {
        let u1 = 1 - uniformDouble()  // (0, 1]: log is finite
        let u2 = uniformDouble()
        return mean + std * Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// An index drawn with probability proportional to `weights` (non-negative,
    /// not necessarily normalised). Returns nil if they sum to zero.
    public mutating func categorical<C: Collection>(_ weights: C) -> Int? where C.Element == Float {
        var total: Double = 0
        for w in weights { total += Double(max(w, 0)) }
        guard total > 0 else { return nil }
        let target = uniformDouble() * total
        var cumulative: Double = 0
        var last = 0
        for (i, w) in weights.enumerated() where w > 0 {
            cumulative += Double(w)
            last = i
            if target < cumulative { return i }
        }
        return last
    }

    /// Fills a new tensor with normal draws (weight initialisation).
    public mutating func normalTensor(_ shape: [Int], std: Float = 1) -> Tensor {
        let t = Tensor(zeros: shape)
        for i in 0..<t.count { t.pointer[i] = normal(std: std) }
        return t
    }

    public mutating func uniformTensor(_ shape: [Int], in range: ClosedRange<Float> = 0...1) -> Tensor {
        let t = Tensor(zeros: shape)
        for i in 0..<t.count { t.pointer[i] = range.lowerBound + (range.upperBound - range.lowerBound) * uniform() }
        return t
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
