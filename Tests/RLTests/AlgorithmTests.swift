import Foundation
import RL
import Testing

/// Expected values are the published formulas evaluated in float64 torch
/// (scripts/fixtures/make_rl_golden.py); gradients are torch autograd's.
@Suite struct AlgorithmTests {
    nonisolated(unsafe) static let golden: [String: Any] = {
        let url = Bundle.module.url(forResource: "rl_golden", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    func matrix(_ key: String, in object: [String: Any] = golden) -> TokenMatrix { object[key] as! [[Double]] }
    func vector(_ key: String) -> [Double] { Self.golden[key] as! [Double] }
    var masks: TokenMatrix { matrix("mask") }
    var scores: [Double] { vector("scores") }
    var groups: [Int] { Self.golden["groups"] as! [Int] }

    func expectClose(_ actual: [Double], _ expected: [Double], tolerance: Double = 1e-9, _ what: String) {
        #expect(actual.count == expected.count, "\(what): count")
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            #expect(abs(a - e) <= tolerance * max(1, abs(e)), "\(what)[\(i)]: \(a) vs \(e)")
        }
    }

    func expectClose(_ actual: TokenMatrix, _ expected: TokenMatrix, tolerance: Double = 1e-9, _ what: String) {
        #expect(actual.count == expected.count, "\(what): rows")
        for (i, (a, e)) in zip(actual, expected).enumerated() { expectClose(a, e, tolerance: tolerance, "\(what) row \(i)") }
    }

    @Test func groupEstimators() {
        expectClose(grpoAdvantages(scores: scores, groups: groups), vector("grpo"), "grpo")
        expectClose(
            grpoAdvantages(scores: scores, groups: groups, normalization: GroupNormalization(epsilon: 1e-4, unbiasedStd: false)),
            vector("grpo_trl_population"), "grpo, TRL eps and population std")
        expectClose(grpoAdvantages(scores: scores, groups: groups, normalizeByStd: false), vector("dr_grpo"), "dr_grpo")
        expectClose(rlooAdvantages(scores: scores, groups: groups), vector("rloo"), "rloo")
        let zeroed = grpoAdvantages(scores: scores, groups: groups, normalization: GroupNormalization(singleton: .zero))
        expectClose(zeroed, vector("grpo").enumerated().map { groups[$0.offset] == 2 ? 0 : $0.element }, "grpo, lone responses zeroed")
        #expect(reinforceAdvantages(scores: scores, masks: masks) == broadcast(scores, over: masks))
    }

    /// `AlgorithmConfig.advantages` is the one call the trainer makes: it
    /// gives each estimator's golden values, and every group estimator
    /// honours `grpo_singleton`.
    @Test func oneCallChoosesTheEstimator() throws {
        func advantages(_ estimator: AdvantageEstimator, singleton: SingletonRule = .keepReward) throws -> TokenMatrix {
            var config = AlgorithmConfig()
            config.advantage = estimator
            config.grpoSingleton = singleton
            return try config.advantages(rewards: scores, groups: groups, masks: masks, values: matrix("values")).advantages
        }
        expectClose(try advantages(.grpo), broadcast(vector("grpo"), over: masks), "grpo")
        expectClose(try advantages(.drGRPO), broadcast(vector("dr_grpo"), over: masks), "dr_grpo")
        expectClose(try advantages(.rloo), broadcast(vector("rloo"), over: masks), "rloo")
        expectClose(try advantages(.reinforcePlusPlusBaseline), matrix("reinforce_pp_baseline"), "reinforce++ baseline")
        let lone = groups.indices.filter { i in groups.filter { $0 == groups[i] }.count == 1 }
        #expect(!lone.isEmpty, "the golden batch has a group of one")
        for estimator in [AdvantageEstimator.grpo, .drGRPO, .rloo] {
            let zeroed = try advantages(estimator, singleton: .zero)
            #expect(lone.allSatisfy { zeroed[$0].allSatisfy { $0 == 0 } }, "\(estimator.rawValue): a group of one gets 0")
            let kept = try advantages(estimator)
            // grpo divides a lone reward by its std of 1 plus ε, as veRL does.
            #expect(
                lone.allSatisfy { i in zip(kept[i], masks[i]).allSatisfy { abs($0 - $1 * scores[i]) < 1e-5 } },
                "\(estimator.rawValue) keeps the reward")
        }
        var gae = AlgorithmConfig()
        gae.advantage = .gae
        #expect(throws: (any Error).self) { try gae.advantages(rewards: scores, groups: groups, masks: masks) }
    }

    @Test func tokenLevelEstimators() {
        let rewards = outcomeTokenRewards(scores: scores, masks: masks)
        expectClose(
            reinforcePlusPlusAdvantages(tokenRewards: rewards, masks: masks, masked: .reset), matrix("reinforce_pp_gamma1"),
            "reinforce++ γ=1, veRL's reset")
        expectClose(
            reinforcePlusPlusAdvantages(tokenRewards: rewards, masks: masks, gamma: 0.9), matrix("reinforce_pp_gamma09_pass_through"),
            "reinforce++ γ=0.9 through observations")
        let kl = zip(matrix("old_logp"), matrix("ref_logp")).map { zip($0, $1).map { $0 - $1 } }
        let shaped = outcomeTokenRewards(scores: scores, masks: masks, kl: kl, klCoefficient: 0.01)
        expectClose(
            reinforcePlusPlusAdvantages(tokenRewards: shaped, masks: masks, gamma: 0.9, masked: .reset),
            matrix("reinforce_pp_gamma09_kl"), "reinforce++ γ=0.9 with KL in the reward")
        expectClose(
            reinforcePlusPlusBaselineAdvantages(scores: scores, groups: groups, masks: masks),
            matrix("reinforce_pp_baseline"), "reinforce++ baseline")
        let (advantages, returns) = gaeAdvantages(tokenRewards: rewards, values: matrix("values"), masks: masks, gamma: 0.99, lambda: 0.95)
        expectClose(advantages, matrix("gae_099_095"), "gae advantages")
        expectClose(returns, matrix("gae_returns_099_095"), "gae returns")
    }

    @Test func klEstimatorsAndTheirGradients() {
        let weights = LossAggregation.tokenMean.weights(masks: masks)
        for estimator in KLEstimator.allCases {
            let expected = (Self.golden["kl"] as! [String: Any])[estimator.rawValue] as! [String: Any]
            let result = klLoss(
                logProbs: matrix("logp"), referenceLogProbs: matrix("ref_logp"), masks: masks,
                weights: weights, estimator: estimator)
            expectClose([result.loss], [expected["loss"] as! Double], "\(estimator) loss")
            expectClose(result.gradient, matrix("gradient", in: expected), "\(estimator) gradient")
        }
    }

    @Test func policyLossEveryAggregation() {
        for mode in LossAggregation.allCases {
            let expected = (Self.golden["policy"] as! [String: Any])[mode.rawValue] as! [String: Any]
            let result = policyLoss(
                logProbs: matrix("logp"), oldLogProbs: matrix("old_logp"), advantages: matrix("advantages"),
                masks: masks, weights: mode.weights(masks: masks, normalizer: 7),
                clip: PolicyClip(low: 0.2, high: 0.28, dualClip: 3))
            expectClose([result.loss], [expected["loss"] as! Double], "\(mode) loss")
            expectClose(result.gradient, matrix("gradient", in: expected), "\(mode) gradient")
            expectClose(
                [result.metrics["pg_clipfrac"]!, result.metrics["ppo_kl"]!],
                [expected["pg_clipfrac"] as! Double, expected["ppo_kl"] as! Double], "\(mode) metrics")
        }
        let expected = Self.golden["policy_no_dual_clip"] as! [String: Any]
        let plain = policyLoss(
            logProbs: matrix("logp"), oldLogProbs: matrix("old_logp"), advantages: matrix("advantages"),
            masks: masks, weights: LossAggregation.tokenMean.weights(masks: masks),
            clip: PolicyClip(low: 0.2, high: 0.2, dualClip: nil))
        expectClose([plain.loss], [expected["loss"] as! Double], "symmetric clip without dual-clip")
        expectClose(plain.gradient, matrix("gradient", in: expected), "symmetric clip gradient")
    }

    @Test func clippedValueLoss() {
        let expected = Self.golden["value"] as! [String: Any]
        let result = valueLoss(
            values: matrix("values"), oldValues: matrix("old_values"), returns: matrix("returns", in: expected),
            masks: masks, weights: LossAggregation.tokenMean.weights(masks: masks), clip: 0.5)
        expectClose([result.loss], [expected["loss"] as! Double], "value loss")
        expectClose(result.gradient, matrix("gradient", in: expected), "value gradient")
        let rewards = outcomeTokenRewards(scores: scores, masks: masks)
        expectClose(
            gaeAdvantages(tokenRewards: rewards, values: matrix("values"), masks: masks).returns,
            matrix("returns", in: expected), "returns with γ = λ = 1")
    }

    /// Micro-batches weighted with the mini-batch's token count add up to the
    /// mini-batch loss (so gradient accumulation does not depend on the split).
    @Test func microBatchWeightsAddUp() {
        let total = masks.reduce(0) { $0 + $1.reduce(0, +) }
        let whole = LossAggregation.tokenMean.weights(masks: masks)
        let parts =
            LossAggregation.tokenMean.weights(masks: Array(masks[..<2]), tokenCount: total)
            + LossAggregation.tokenMean.weights(masks: Array(masks[2...]), tokenCount: total)
        #expect(parts == whole)
    }
}

@Suite struct GAESkippingTests {
    /// Observation tokens are transparent: the returns at the policy tokens
    /// equal those of the same sequence with the observations cut out.
    @Test func observationsArePassedThroughExactly() {
        let rewards: [Double] = [0, 0, 9, 9, 0, 0, 1]
        let values: [Double] = [0.3, -0.2, 5, -7, 0.1, 0.4, 0.6]
        let mask: [Double] = [1, 1, 0, 0, 1, 1, 1]
        let policy = mask.indices.filter { mask[$0] == 1 }
        for (gamma, lambda) in [(1.0, 1.0), (0.9, 0.8), (0.5, 0.0)] {
            let full = gaeAdvantages(tokenRewards: [rewards], values: [values], masks: [mask], gamma: gamma, lambda: lambda)
            let cut = gaeAdvantages(
                tokenRewards: [policy.map { rewards[$0] }], values: [policy.map { values[$0] }],
                masks: [policy.map { _ in 1 }], gamma: gamma, lambda: lambda)
            #expect(policy.map { full.returns[0][$0] } == cut.returns[0], "γ=\(gamma) λ=\(lambda)")
        }
    }
}
