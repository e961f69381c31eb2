import Foundation

/// Per-token values of a batch of responses, one array per sequence; a mask
/// of the same shape holds 1 for policy tokens and 0 for observation tokens.
public typealias TokenMatrix = [[Double]]

/// How advantages are computed from rewards (and values, for GAE). Each case
/// is one of the published estimators; `rl-formulas.md` gives them as veRL,
/// OpenRLHF and TRL write them.
public enum AdvantageEstimator: String, Sendable, Codable, CaseIterable {
    /// ZeroSearch's: the raw reward on every policy token, no baseline.
    case reinforce
    /// Group-normalised reward (GRPO).
    case grpo
    /// Group mean subtracted, no std division (Dr. GRPO).
    case drGRPO = "dr_grpo"
    /// Leave-one-out baseline.
    case rloo
    /// Discounted token rewards (KL inside), whitened over the batch.
    case reinforcePlusPlus = "reinforce_pp"
    /// Group mean subtracted, then whitened over the batch.
    case reinforcePlusPlusBaseline = "reinforce_pp_baseline"
    /// Generalised advantage estimation with a critic.
    case gae
}

/// The group-statistics conventions on which frameworks disagree.
public struct GroupNormalization: Sendable, Equatable, Codable {
    /// Added to the std before dividing (veRL and ZeroSearch 1e-6, TRL 1e-4, OpenRLHF 1e-9).
    public var epsilon: Double = 1e-6
    /// N−1 (torch's default, veRL, TRL) or N (ART).
    public var unbiasedStd: Bool = true
    /// What a group of one response gets.
    public var singleton: SingletonRule = .keepReward

    public init(epsilon: Double = 1e-6, unbiasedStd: Bool = true, singleton: SingletonRule = .keepReward) {
        self.epsilon = epsilon
        self.unbiasedStd = unbiasedStd
        self.singleton = singleton
    }
}

/// A lone response has no group to compare with.
public enum SingletonRule: String, Sendable, Codable, CaseIterable {
    /// veRL: mean 0 and std 1, so the advantage is the reward itself.
    case keepReward = "keep_reward"
    /// Centred on itself (TRL's arithmetic): no learning signal.
    case zero
}

/// Broadcasts one value per sequence over its policy tokens.
public func broadcast(_ values: [Double], over masks: TokenMatrix) -> TokenMatrix {
    zip(values, masks).map { value, mask in mask.map { $0 * value } }
}

/// REINFORCE as ZeroSearch runs it: `A = R` on every policy token.
public func reinforceAdvantages(scores: [Double], masks: TokenMatrix) -> TokenMatrix {
    broadcast(scores, over: masks)
}

/// GRPO: `(R − mean_g)/(std_g + ε)` within each group (`groups[i]` is
/// sequence i's group key); `normalizeByStd: false` is Dr. GRPO. A group of
/// one follows `normalization.singleton`.
public func grpoAdvantages(
    scores: [Double], groups: [Int], normalizeByStd: Bool = true,
    normalization: GroupNormalization = GroupNormalization()
) -> [Double] {
    let members = Dictionary(grouping: scores.indices, by: { groups[$0] })
    var advantages = scores
    for indices in members.values {
        let values = indices.map { scores[$0] }
        if values.count == 1, normalization.singleton == .zero {
            advantages[indices[0]] = 0
            continue
        }
        let (mean, std) = values.count == 1 ? (0.0, 1.0) : meanAndStd(values, unbiased: normalization.unbiasedStd)
        for i in indices {
            advantages[i] = normalizeByStd ? (scores[i] - mean) / (std + normalization.epsilon) : scores[i] - mean
        }
    }
    return advantages
}

/// RLOO: each reward minus the mean of the rest of its group,
/// `n/(n−1)·(R − mean_g)`; a group of one follows `singleton`.
public func rlooAdvantages(scores: [Double], groups: [Int], singleton: SingletonRule = .keepReward) -> [Double] {
    let members = Dictionary(grouping: scores.indices, by: { groups[$0] })
    var advantages = scores
    for indices in members.values {
        guard indices.count > 1 else {
            if singleton == .zero { advantages[indices[0]] = 0 }
            continue
        }
        let n = Double(indices.count)
        let mean = indices.map { scores[$0] }.reduce(0, +) / n
        for i in indices { advantages[i] = n / (n - 1) * (scores[i] - mean) }
    }
    return advantages
}

/// What a discounted return does at an observation token (mask 0) inside a
/// response.
public enum MaskedReturn: String, Sendable, Codable, CaseIterable {
    /// Passes through unchanged, so a later turn's reward reaches the turns
    /// before the observation (as GAE skips observation tokens).
    case passThrough = "pass_through"
    /// veRL's REINFORCE++: the running return is reset to 0, which is right
    /// for trailing padding but cuts every turn before an observation off
    /// from the outcome reward.
    case reset
}

/// REINFORCE++: discounted returns of the token rewards, then whitened over
/// every policy token of the batch. Observation tokens follow `masked`.
public func reinforcePlusPlusAdvantages(
    tokenRewards: TokenMatrix, masks: TokenMatrix, gamma: Double = 1,
    masked: MaskedReturn = .passThrough
) -> TokenMatrix {
    let returns = zip(tokenRewards, masks).map { rewards, mask in
        var running = 0.0
        var result = [Double](repeating: 0, count: rewards.count)
        for t in rewards.indices.reversed() {
            switch masked {
            case .reset:
                running = rewards[t] + gamma * running
                result[t] = running
                running *= mask[t]
            case .passThrough:
                if mask[t] != 0 { running = rewards[t] + gamma * running }
                result[t] = running
            }
        }
        return result
    }
    return zip(maskedWhiten(returns, masks: masks), masks).map { zip($0, $1).map(*) }
}

/// REINFORCE++ with a baseline: the group mean subtracted from each reward
/// (a group of one follows `singleton`), broadcast over the tokens, whitened
/// over the batch.
public func reinforcePlusPlusBaselineAdvantages(
    scores: [Double], groups: [Int], masks: TokenMatrix,
    singleton: SingletonRule = .keepReward
) -> TokenMatrix {
    let centred = grpoAdvantages(
        scores: scores, groups: groups, normalizeByStd: false,
        normalization: GroupNormalization(singleton: singleton))
    return zip(maskedWhiten(broadcast(centred, over: masks), masks: masks), masks).map { zip($0, $1).map(*) }
}

/// GAE over a response, skipping observation tokens: at a masked token the
/// bootstrap value and the running advantage pass through unchanged, so
/// observations do not break the chain between the policy's turns (veRL).
/// Returns the whitened advantages and the returns (`A + V`, before whitening).
public func gaeAdvantages(
    tokenRewards: TokenMatrix, values: TokenMatrix, masks: TokenMatrix,
    gamma: Double = 1, lambda: Double = 1
) -> (advantages: TokenMatrix, returns: TokenMatrix) {
    var advantages: TokenMatrix = []
    var returns: TokenMatrix = []
    for ((rewards, value), mask) in zip(zip(tokenRewards, values), masks) {
        var nextValue = 0.0
        var running = 0.0
        var sequence = [Double](repeating: 0, count: rewards.count)
        for t in rewards.indices.reversed() {
            let delta = rewards[t] + gamma * nextValue - value[t]
            let candidate = delta + gamma * lambda * running
            if mask[t] != 0 {
                nextValue = value[t]
                running = candidate
            }
            sequence[t] = running
        }
        advantages.append(sequence)
        returns.append(zip(sequence, value).map(+))
    }
    return (maskedWhiten(advantages, masks: masks), returns)
}

/// `(x − mean)/sqrt(var + 1e-8)` with mean and Bessel-corrected variance over
/// the masked entries of the whole batch (veRL's `masked_whiten`).
public func maskedWhiten(_ values: TokenMatrix, masks: TokenMatrix) -> TokenMatrix {
    var count = 0.0
    var sum = 0.0
    for (row, mask) in zip(values, masks) {
        for (v, m) in zip(row, mask) {
            sum += v * m
            count += m
        }
    }
    guard count > 0 else { return values }
    let mean = sum / count
    var squares = 0.0
    for (row, mask) in zip(values, masks) { for (v, m) in zip(row, mask) { squares += (v - mean) * (v - mean) * m } }
    var variance = squares / count
    if count > 1 { variance *= count / (count - 1) }
    let scale = 1 / (variance + 1e-8).squareRoot()
    return values.map { $0.map { ($0 - mean) * scale } }
}

/// The token rewards of outcome-rewarded responses: the score on the last
/// policy token, minus `β·KL` on every policy token when the KL goes into the
/// reward.
public func outcomeTokenRewards(scores: [Double], masks: TokenMatrix, kl: TokenMatrix? = nil, klCoefficient: Double = 0) -> TokenMatrix {
    scores.indices.map { i in
        var rewards = [Double](repeating: 0, count: masks[i].count)
        if let kl { for t in rewards.indices { rewards[t] = -klCoefficient * kl[i][t] * masks[i][t] } }
        if let last = masks[i].lastIndex(where: { $0 != 0 }) { rewards[last] += scores[i] }
        return rewards
    }
}

func meanAndStd(_ values: [Double], unbiased: Bool) -> (mean: Double, std: Double) {
    let n = Double(values.count)
    let mean = values.reduce(0, +) / n
    let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    return (mean, (squares / (unbiased ? n - 1 : n)).squareRoot())
}
