import Foundation

/// Learning-rate schedules as Hugging Face `transformers` defines them, as
/// multipliers of the base rate at optimiser step `s` (0-based):
/// linear warm-up `s / warmup` for `s < warmup`, then constant, or a cosine
/// from 1 down to `minRatio` at `total`.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    case constant(warmup: Int)
    case cosine(warmup: Int, total: Int, minRatio: Float)

    public func multiplier(step: Int) -> Float {
        switch self {
        case let .constant(warmup):
            return step < warmup ? Float(step) / Float(max(1, warmup)) : 1
        case let .cosine(warmup, total, minRatio):
            if step < warmup { return Float(step) / Float(max(1, warmup)) }
            let progress = min(1, Double(step - warmup) / Double(max(1, total - warmup)))
            return minRatio + (1 - minRatio) * Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
        }
    }

    public func learningRate(base: Float, step: Int) -> Float { base * multiplier(step: step) }
}
