import Foundation
import Support

/// The share of search calls answered with noisy documents, rising over
/// training: `p(step) = p_s + (b^{step/total} − 1)/(b − 1) · (p_e − p_s)`.
/// With `b > 1` noise rises slowly at first and quickly at the end (b = 4
/// reaches 14% of the way at a quarter of training, 33% at half).
public struct NoiseCurriculum: Sendable, Equatable, Codable {
    public var start: Double
    public var end: Double
    public var base: Double
    public var totalSteps: Int

    public init(start: Double, end: Double, base: Double = 4, totalSteps: Int) throws {
        try requireValid(
            (0...1).contains(start) && (0...1).contains(end), "curriculum",
            "noise probabilities must lie in [0, 1], got \(start) → \(end)")
        try requireValid(base > 0 && base.isFinite, "curriculum", "the base must be positive, got \(base)")
        try requireValid(totalSteps > 0, "curriculum", "total steps must be positive, got \(totalSteps)")
        self.start = start
        self.end = end
        self.base = base
        self.totalSteps = totalSteps
    }

    /// A constant probability (evaluation, or the paper's non-curriculum ablation).
    public static func constant(_ probability: Double) throws -> NoiseCurriculum {
        try NoiseCurriculum(start: probability, end: probability, totalSteps: 1)
    }

    public func probability(step: Int) -> Double {
        guard step < totalSteps else { return end }
        let progress = Double(max(step, 0)) / Double(totalSteps)
        // b = 1 is the limit of the formula: a straight line.
        let fraction = base == 1 ? progress : (pow(base, progress) - 1) / (base - 1)
        return start + fraction * (end - start)
    }
}
