import Support

/// The RL algorithm of a run: the advantage estimator with the settings it
/// reads, the reward, the policy loss and the KL terms. The YAML section
/// `algorithm:` decodes into this; the trainer makes one call for the
/// advantages and one for the actor's loss, and never looks at names.
///
/// Adding an estimator is a case of `AdvantageEstimator`, its function in
/// `Advantages.swift`, its line in `advantages(…)` and its settings in
/// `settingsRead` (all in this module); a setting that the chosen estimator
/// would ignore is refused by `validate`.
public struct AlgorithmConfig: Codable, Equatable, Sendable {
    /// reinforce (ZeroSearch's), grpo, dr_grpo, rloo, reinforce_pp, reinforce_pp_baseline or gae (PPO).
    public var advantage = AdvantageEstimator.reinforce
    /// The answer score that is the reward: f1 (ZeroSearch's), subem or em.
    public var reward = RewardKind.f1
    /// GRPO: added to the group's std before dividing.
    public var grpoEpsilon = 1e-6
    /// GRPO: the group std divides by N−1 (true) or N.
    public var grpoUnbiasedStd = true
    /// A group of one (grpo, dr_grpo, rloo, reinforce_pp_baseline): `keep_reward` (veRL) or `zero`.
    public var grpoSingleton = SingletonRule.keepReward
    /// Discount of token rewards (reinforce_pp, gae).
    public var gamma = 1.0
    /// GAE's λ.
    public var lambda = 1.0
    /// reinforce_pp at observation tokens: `pass_through` or veRL's `reset`.
    public var reinforcePPMasked = MaskedReturn.passThrough
    /// KL to the reference as a loss term (ZeroSearch: on, k3, 0.001).
    public var klLoss = true
    public var klLossCoef = 0.001
    /// k1, abs, k2 or k3.
    public var klLossType = KLEstimator.k3
    /// KL to the reference inside the token rewards (reinforce_pp and gae, which discount token rewards).
    public var klInReward = false
    public var klCoef = 0.001
    public var klPenalty = KLEstimator.k1
    /// Weight of the entropy bonus.
    public var entropyCoef = 0.001
    /// token-mean, seq-mean-token-sum, seq-mean-token-mean or seq-mean-token-sum-norm.
    public var lossAggMode = LossAggregation.tokenMean
    /// PPO clip below and above 1 (clip-higher when they differ).
    public var clipRatioLow = 0.2
    public var clipRatioHigh = 0.2
    /// Dual-clip bound; 0 turns dual-clip off.
    public var clipRatioC = 3.0
    /// How far a value may move from the rollout's before its loss stops
    /// pulling (gae's critic).
    public var valueClip = 0.5
    /// gae's critic reads the policy's own trunk (only its head trains)
    /// instead of a copy of it (veRL's default, twice the memory).
    public var criticSharesTrunk = false
    /// Always recompute the old log-probs with the training model before the
    /// update (veRL's way; also reports `rollout_log_prob_diff_*`). Off,
    /// wherever the update is exactly on-policy (one epoch, one mini-batch,
    /// no KL penalty in the reward) the old policy is the one being updated:
    /// its log-probs are the update's own, detached (TRL's way with one
    /// iteration), the same numbers the pass would give, without the pass;
    /// elsewhere they are recomputed anyway.
    public var recomputeOldLogProbs = false
    /// Leave the engine's documents out of the loss (Search-R1's
    /// `state_masking`); off, the policy is also trained to write them.
    public var stateMasking = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case advantage, reward, gamma, lambda
        case reinforcePPMasked = "reinforce_pp_masked"
        case grpoEpsilon = "grpo_epsilon", grpoUnbiasedStd = "grpo_unbiased_std", grpoSingleton = "grpo_singleton"
        case klLoss = "kl_loss"
        case klLossCoef = "kl_loss_coef", klLossType = "kl_loss_type", klInReward = "kl_in_reward", klCoef = "kl_coef"
        case klPenalty = "kl_penalty", entropyCoef = "entropy_coef", lossAggMode = "loss_agg_mode"
        case clipRatioLow = "clip_ratio_low", clipRatioHigh = "clip_ratio_high", clipRatioC = "clip_ratio_c"
        case recomputeOldLogProbs = "recompute_old_log_probs", valueClip = "value_clip"
        case criticSharesTrunk = "critic_shares_trunk", stateMasking = "state_masking"
    }

    /// Whether a reference model's log-probs are needed.
    public var usesReference: Bool { klLoss || klInReward }

    /// Whether a critic is trained (PPO).
    public var usesCritic: Bool { advantage == .gae }

    public var policyClip: PolicyClip {
        PolicyClip(low: clipRatioLow, high: clipRatioHigh, dualClip: clipRatioC > 1 ? clipRatioC : nil)
    }

    /// The estimator-specific settings each estimator reads; the rest of
    /// these must keep their defaults.
    static func settingsRead(by estimator: AdvantageEstimator) -> Set<CodingKeys> {
        switch estimator {
        case .reinforce: []
        case .grpo: [.grpoEpsilon, .grpoUnbiasedStd, .grpoSingleton]
        case .drGRPO, .rloo, .reinforcePlusPlusBaseline: [.grpoSingleton]
        case .reinforcePlusPlus: [.gamma, .reinforcePPMasked, .klInReward, .klCoef, .klPenalty]
        case .gae: [.gamma, .lambda, .klInReward, .klCoef, .klPenalty, .valueClip, .criticSharesTrunk]
        }
    }

    /// Names the first setting a run cannot use: out of range, or one the
    /// chosen estimator would silently ignore. `groupSize` is the rollout's.
    public func validate(groupSize: Int) throws {
        func field(_ ok: Bool, _ key: CodingKeys, _ problem: String) throws {
            try requireValid(ok, "algorithm.\(key.stringValue)", problem)
        }
        let defaults = AlgorithmConfig()
        let changed: [CodingKeys: Bool] = [
            .grpoEpsilon: grpoEpsilon != defaults.grpoEpsilon, .grpoUnbiasedStd: grpoUnbiasedStd != defaults.grpoUnbiasedStd,
            .grpoSingleton: grpoSingleton != defaults.grpoSingleton, .gamma: gamma != defaults.gamma,
            .lambda: lambda != defaults.lambda, .reinforcePPMasked: reinforcePPMasked != defaults.reinforcePPMasked,
            .klInReward: klInReward != defaults.klInReward, .klCoef: klCoef != defaults.klCoef,
            .klPenalty: klPenalty != defaults.klPenalty, .valueClip: valueClip != defaults.valueClip,
            .criticSharesTrunk: criticSharesTrunk != defaults.criticSharesTrunk,
        ]
        let read = Self.settingsRead(by: advantage)
        for (key, isChanged) in changed.sorted(by: { $0.key.stringValue < $1.key.stringValue }) where isChanged && !read.contains(key) {
            let users = AdvantageEstimator.allCases.filter { Self.settingsRead(by: $0).contains(key) }.map(\.rawValue)
            try field(false, key, "\(advantage.rawValue) does not use it (it applies to \(users.joined(separator: ", "))); remove it")
        }
        try requireValid(
            advantage != .grpo && advantage != .rloo || groupSize > 1, "rollout.group_size",
            "\(advantage.rawValue) compares responses within a group: use 2 or more")
        try field(grpoEpsilon > 0 && grpoEpsilon.isFinite, .grpoEpsilon, "must be positive")
        try field(clipRatioLow >= 0 && clipRatioLow < 1, .clipRatioLow, "must lie in [0, 1)")
        try field(clipRatioHigh >= 0 && clipRatioHigh.isFinite, .clipRatioHigh, "must be ≥ 0")
        try field(clipRatioC == 0 || clipRatioC > 1 && clipRatioC.isFinite, .clipRatioC, "must be 0 (off) or > 1")
        try field(gamma >= 0 && gamma <= 1, .gamma, "must lie in [0, 1]")
        try field(lambda >= 0 && lambda <= 1, .lambda, "must lie in [0, 1]")
        try field(valueClip > 0 && valueClip.isFinite, .valueClip, "must be positive")
        for (value, key) in [(klLossCoef, CodingKeys.klLossCoef), (klCoef, .klCoef), (entropyCoef, .entropyCoef)] {
            try field(value >= 0 && value.isFinite, key, "must be ≥ 0")
        }
    }

    /// The advantages of a batch (and, for gae, the critic's returns) by the
    /// chosen estimator. `groups[i]` is sequence i's prompt; `kl` is the
    /// per-token KL to the reference when `kl_in_reward` is on; `values` the
    /// critic's (gae only).
    public func advantages(
        rewards: [Double], groups: [Int], masks: TokenMatrix, kl: TokenMatrix? = nil,
        values: TokenMatrix? = nil
    ) throws -> (advantages: TokenMatrix, returns: TokenMatrix?) {
        let normalization = GroupNormalization(epsilon: grpoEpsilon, unbiasedStd: grpoUnbiasedStd, singleton: grpoSingleton)
        let tokenRewards = { outcomeTokenRewards(scores: rewards, masks: masks, kl: klInReward ? kl : nil, klCoefficient: klCoef) }
        switch advantage {
        case .reinforce: return (reinforceAdvantages(scores: rewards, masks: masks), nil)
        case .grpo:
            return (broadcast(grpoAdvantages(scores: rewards, groups: groups, normalization: normalization), over: masks), nil)
        case .drGRPO:
            let centred = grpoAdvantages(scores: rewards, groups: groups, normalizeByStd: false, normalization: normalization)
            return (broadcast(centred, over: masks), nil)
        case .rloo: return (broadcast(rlooAdvantages(scores: rewards, groups: groups, singleton: grpoSingleton), over: masks), nil)
        case .reinforcePlusPlus:
            return (reinforcePlusPlusAdvantages(tokenRewards: tokenRewards(), masks: masks, gamma: gamma, masked: reinforcePPMasked), nil)
        case .reinforcePlusPlusBaseline:
            return (reinforcePlusPlusBaselineAdvantages(scores: rewards, groups: groups, masks: masks, singleton: grpoSingleton), nil)
        case .gae:
            guard let values else { throw InvalidInput(place: "algorithm.advantage", problem: "gae needs the critic's values") }
            let result = gaeAdvantages(tokenRewards: tokenRewards(), values: values, masks: masks, gamma: gamma, lambda: lambda)
            return (result.advantages, result.returns)
        }
    }

    /// The actor's loss over a micro-batch: the clipped policy loss plus, with
    /// `kl_loss`, `kl_loss_coef` times the KL to the reference. Metrics are
    /// per-batch sums (`pg_loss`, `kl_loss`) and token means.
    public func actorLoss(
        logProbs: TokenMatrix, oldLogProbs: TokenMatrix, referenceLogProbs: TokenMatrix?,
        advantages: TokenMatrix, masks: TokenMatrix, weights: TokenMatrix
    ) -> TokenLoss {
        let policy = policyLoss(
            logProbs: logProbs, oldLogProbs: oldLogProbs, advantages: advantages, masks: masks,
            weights: weights, clip: policyClip)
        var result = TokenLoss(loss: policy.loss, gradient: policy.gradient, metrics: policy.metrics)
        result.metrics["pg_loss"] = policy.loss
        guard klLoss, let referenceLogProbs else { return result }
        let kl = RL.klLoss(
            logProbs: logProbs, referenceLogProbs: referenceLogProbs, masks: masks, weights: weights,
            estimator: klLossType)
        result.gradient = zip(result.gradient, kl.gradient).map { zip($0, $1).map { $0 + klLossCoef * $1 } }
        result.loss += klLossCoef * kl.loss
        result.metrics["kl_loss"] = kl.loss
        result.metrics.merge(kl.metrics) { $1 }
        return result
    }
}

/// Which answer score is the reward.
public enum RewardKind: String, Codable, Sendable, CaseIterable {
    case f1, subem, em

    public func reward(_ scores: AnswerScores) -> Double {
        switch self {
        case .f1: scores.f1
        case .subem: scores.subem
        case .em: scores.em
        }
    }
}
