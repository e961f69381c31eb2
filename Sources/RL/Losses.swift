import Foundation

/// Schulman's estimators of KL(π‖π_ref) from one sample, `Δ = logπ − logπ_ref`.
public enum KLEstimator: String, Sendable, Codable, CaseIterable {
    /// `Δ`.
    case k1
    /// `|Δ|`.
    case abs
    /// `Δ²/2`.
    case k2
    /// `exp(−Δ) + Δ − 1` (veRL's `low_var_kl`), with `−Δ` clamped to ±20 and
    /// the result to ±10.
    case k3

    /// The estimate and its derivative with respect to `logπ`.
    public func value(logProb: Double, referenceLogProb: Double) -> (value: Double, gradient: Double) {
        let delta = logProb - referenceLogProb
        switch self {
        case .k1: return (delta, 1)
        case .abs: return (Swift.abs(delta), delta > 0 ? 1 : (delta < 0 ? -1 : 0))
        case .k2: return (0.5 * delta * delta, delta)
        case .k3:
            let clampedLog = min(max(-delta, -20), 20)
            let ratio = exp(clampedLog)
            let value = ratio - clampedLog - 1
            guard value <= 10, value >= -10, -delta == clampedLog else { return (min(max(value, -10), 10), 0) }
            return (value, 1 - ratio)
        }
    }
}

/// How per-token losses become one number (veRL's `agg_loss`). Each mode is a
/// weight per token, so a loss is `Σ w·L` and its gradient `w·∂L`.
public enum LossAggregation: String, Sendable, Codable, CaseIterable {
    /// Mean over every policy token of the mini-batch.
    case tokenMean = "token-mean"
    /// Per-sequence token sum, averaged over sequences.
    case seqMeanTokenSum = "seq-mean-token-sum"
    /// Per-sequence token mean, averaged over sequences (the GRPO paper's).
    case seqMeanTokenMean = "seq-mean-token-mean"
    /// Token sum divided by a constant (Dr. GRPO: no length bias).
    case seqMeanTokenSumNorm = "seq-mean-token-sum-norm"

    /// The weight of each token. `tokenCount` and `sequenceCount` are the
    /// mini-batch's totals, so micro-batches that each use them add up to the
    /// mini-batch's loss; `normalizer` is the constant of
    /// `seq-mean-token-sum-norm` (veRL: the padded response length).
    public func weights(
        masks: TokenMatrix, tokenCount: Double? = nil, sequenceCount: Double? = nil,
        normalizer: Double? = nil
    ) -> TokenMatrix {
        let tokens = tokenCount ?? masks.reduce(0) { $0 + $1.reduce(0, +) }
        let sequences = sequenceCount ?? Double(masks.filter { $0.contains { $0 != 0 } }.count)
        switch self {
        case .tokenMean:
            return masks.map { $0.map { tokens > 0 ? $0 / tokens : 0 } }
        case .seqMeanTokenSum:
            return masks.map { $0.map { sequences > 0 ? $0 / sequences : 0 } }
        case .seqMeanTokenMean:
            return masks.map { mask in
                let length = mask.reduce(0, +)
                return mask.map { sequences > 0 ? $0 / (length + 1e-8) / sequences : 0 }
            }
        case .seqMeanTokenSumNorm:
            let constant = normalizer ?? Double(masks.map(\.count).max() ?? 1)
            return masks.map { $0.map { $0 / constant } }
        }
    }
}

/// The PPO clip settings: separate lower and upper clip (clip-higher) and
/// the dual-clip bound `c` for negative advantages.
public struct PolicyClip: Sendable, Equatable, Codable {
    public var low: Double = 0.2
    public var high: Double = 0.2
    /// Must exceed 1; nil turns dual-clip off.
    public var dualClip: Double? = 3

    public init(low: Double = 0.2, high: Double = 0.2, dualClip: Double? = 3) {
        self.low = low
        self.high = high
        self.dualClip = dualClip
    }
}

/// A loss over the batch, its gradient with respect to each token's
/// log-probability (or value), and diagnostics.
public struct TokenLoss: Sendable, Equatable {
    public var loss: Double
    public var gradient: TokenMatrix
    public var metrics: [String: Double]
}

/// The PPO clipped surrogate with dual-clip (veRL's `vanilla` policy loss):
/// per token `max(−Aρ, −A·clip(ρ, 1−ε_low, 1+ε_high))`, bounded by `−A·c` when
/// A < 0; `ρ = exp(clamp(logπ − logπ_old, ±20))`. Tokens weigh `weights`
/// (from `LossAggregation`).
public func policyLoss(
    logProbs: TokenMatrix, oldLogProbs: TokenMatrix, advantages: TokenMatrix, masks: TokenMatrix,
    weights: TokenMatrix, clip: PolicyClip = PolicyClip()
) -> TokenLoss {
    var loss = 0.0
    var clipped = 0.0
    var clippedLower = 0.0
    var approxKL = 0.0
    var tokens = 0.0
    var gradient = masks.map { [Double](repeating: 0, count: $0.count) }
    for i in masks.indices {
        for t in masks[i].indices where masks[i][t] != 0 {
            let logRatio = min(max(logProbs[i][t] - oldLogProbs[i][t], -20), 20)
            let ratio = exp(logRatio)
            let advantage = advantages[i][t]
            let unclipped = -advantage * ratio
            let clippedRatio = min(max(ratio, 1 - clip.low), 1 + clip.high)
            let clippedLoss = -advantage * clippedRatio
            // The gradient flows only through the unclipped branch, when it is the one taken.
            var value = max(unclipped, clippedLoss)
            var slope = unclipped >= clippedLoss ? -advantage * ratio : 0
            if clippedLoss > unclipped { clipped += 1 }
            if let c = clip.dualClip, advantage < 0, -advantage * c < value {
                value = -advantage * c
                slope = 0
                clippedLower += 1
            }
            loss += weights[i][t] * value
            gradient[i][t] = weights[i][t] * slope
            approxKL -= logRatio
            tokens += 1
        }
    }
    let metrics =
        tokens > 0
        ? ["pg_clipfrac": clipped / tokens, "pg_clipfrac_lower": clippedLower / tokens, "ppo_kl": approxKL / tokens]
        : [:]
    return TokenLoss(loss: loss, gradient: gradient, metrics: metrics)
}

/// The KL-to-reference loss term `Σ w·k(logπ, logπ_ref)` (GRPO-style
/// placement, veRL's `use_kl_loss`).
public func klLoss(
    logProbs: TokenMatrix, referenceLogProbs: TokenMatrix, masks: TokenMatrix, weights: TokenMatrix,
    estimator: KLEstimator = .k3
) -> TokenLoss {
    var loss = 0.0
    var total = 0.0
    var tokens = 0.0
    var gradient = masks.map { [Double](repeating: 0, count: $0.count) }
    for i in masks.indices {
        for t in masks[i].indices where masks[i][t] != 0 {
            let (value, slope) = estimator.value(logProb: logProbs[i][t], referenceLogProb: referenceLogProbs[i][t])
            loss += weights[i][t] * value
            gradient[i][t] = weights[i][t] * slope
            total += value
            tokens += 1
        }
    }
    return TokenLoss(loss: loss, gradient: gradient, metrics: tokens > 0 ? ["kl": total / tokens] : [:])
}

/// The clipped value loss `½·max((V − G)², (clip(V, V_old ± ε) − G)²)`.
public func valueLoss(
    values: TokenMatrix, oldValues: TokenMatrix, returns: TokenMatrix, masks: TokenMatrix,
    weights: TokenMatrix, clip: Double = 0.5
) -> TokenLoss {
    var loss = 0.0
    var clipped = 0.0
    var tokens = 0.0
    var gradient = masks.map { [Double](repeating: 0, count: $0.count) }
    for i in masks.indices {
        for t in masks[i].indices where masks[i][t] != 0 {
            let value = values[i][t]
            let target = returns[i][t]
            let clippedValue = min(max(value, oldValues[i][t] - clip), oldValues[i][t] + clip)
            let plain = (value - target) * (value - target)
            let bounded = (clippedValue - target) * (clippedValue - target)
            let usesClipped = bounded > plain
            // The clipped branch has no gradient once the clip is active.
            let slope = usesClipped ? (clippedValue == value ? clippedValue - target : 0) : value - target
            if usesClipped { clipped += 1 }
            loss += weights[i][t] * 0.5 * max(plain, bounded)
            gradient[i][t] = weights[i][t] * slope
            tokens += 1
        }
    }
    return TokenLoss(loss: loss, gradient: gradient, metrics: tokens > 0 ? ["vf_clipfrac": clipped / tokens] : [:])
}
