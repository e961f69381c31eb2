import Agent
import Engine
import Foundation
import Models
import RL
import Testing
import Training

/// N steps straight and k steps + checkpoint + a fresh trainer resumed from
/// it + N−k steps end with the same weights, bit for bit.
@Suite struct CheckpointTests {
    func trainer(_ advantage: AdvantageEstimator, output: URL) throws -> RLTrainer {
        let task = LearningTests.task
        var config = LearningTests.config(advantage)
        config.trainer.outputDir = output.path
        config.curriculum.end = 0.5  // noise draws must resume too
        let policy = try Models.Decoder(config: TinySearchTask.config, weights: LearningTests.pretrained.mapValues { $0.copy() })
        return try RLTrainer(
            config: config, policy: policy, tokenizer: task.tokenizer, chatTemplate: ChatTemplate(format: .raw),
            stopTokens: [task.tokenizer.eosTokenID!], engine: TinySearchEngine(), rows: task.rows)
    }

    func weights(_ trainer: RLTrainer) -> [String: [Float]] {
        Dictionary(
            uniqueKeysWithValues: trainer.policy.parameters.map {
                ($0.name, Array(UnsafeBufferPointer(start: $0.value.pointer, count: $0.value.count)))
            })
    }

    @Test(arguments: [AdvantageEstimator.grpo, .gae]) func resumeIsBitExact(advantage: AdvantageEstimator) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try trainer(advantage, output: folder)
        var straightRewards: [Double] = []
        for _ in 0..<5 { straightRewards.append(try await straight.step().metrics["reward_mean"]!) }

        let first = try trainer(advantage, output: folder)
        var resumedRewards: [Double] = []
        for _ in 0..<2 { resumedRewards.append(try await first.step().metrics["reward_mean"]!) }
        try first.saveCheckpoint(to: first.checkpointFolder(step: 2))
        let second = try trainer(advantage, output: folder)
        let checkpoint = try #require(RLTrainer.latestCheckpoint(in: folder))
        try second.restore(from: checkpoint)
        #expect(second.state == first.state)
        for _ in 0..<3 { resumedRewards.append(try await second.step().metrics["reward_mean"]!) }

        #expect(resumedRewards == straightRewards)
        #expect(weights(second) == weights(straight), "weights differ after resuming")
        #expect(weights(second) != weights(try trainer(advantage, output: folder)), "training changed nothing")
    }

    /// A REINFORCE run's checkpoint after one step, under `folder`.
    func checkpointAfterOneStep(in folder: URL) async throws -> URL {
        let original = try trainer(.reinforce, output: folder)
        _ = try await original.step()
        let checkpoint = original.checkpointFolder(step: 1)
        try original.saveCheckpoint(to: checkpoint)
        return checkpoint
    }

    @Test func refusesOtherSettingsAndDamagedFiles() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try await checkpointAfterOneStep(in: folder)
        #expect(throws: (any Error).self) { try trainer(.grpo, output: folder).restore(from: checkpoint) }

        let weightsFile = checkpoint.appendingPathComponent("policy.safetensors")
        let data = try Data(contentsOf: weightsFile)
        try data.prefix(data.count / 2).write(to: weightsFile)
        let error = #expect(throws: (any Error).self) { try trainer(.reinforce, output: folder).restore(from: checkpoint) }
        #expect("\(error!)".contains("policy.safetensors") || "\(error!)".contains("truncated") || "\(error!)".contains("safetensors"))
    }

    /// Issue 18: a state that cannot continue this run (a negative step
    /// crashed the progress bar, a step past the end "finished" it), or NaN
    /// weights, is refused with the field at fault.
    @Test func inconsistentCheckpointsAreRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try await checkpointAfterOneStep(in: folder)
        let stateFile = checkpoint.appendingPathComponent("trainer_state.json")
        let goodState = try Data(contentsOf: stateFile)
        func refusal(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var json = try JSONSerialization.jsonObject(with: goodState) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: stateFile)
            do {
                try trainer(.reinforce, output: folder).restore(from: checkpoint)
                return "restored"
            } catch { return "\(error)" }
        }
        #expect(try refusal { _ in } == "restored")
        #expect(try refusal { $0["step"] = -5 }.contains("step"))
        #expect(try refusal { $0["step"] = 1_000_000 }.contains("step"))
        #expect(try refusal { $0["cursor"] = 1_000_000 }.contains("cursor"))
        #expect(try refusal { $0["order"] = [0, 0, 0] }.contains("order"))
        try goodState.write(to: stateFile)

        let weightsFile = checkpoint.appendingPathComponent("policy.safetensors")
        let archive = try TensorArchive(contentsOf: weightsFile)
        let name = try #require(archive.tensors.keys.sorted().first)
        archive.tensors[name]!.pointer[0] = .nan
        try archive.write(to: weightsFile)
        let error = #expect(throws: (any Error).self) { try trainer(.reinforce, output: folder).restore(from: checkpoint) }
        #expect("\(error!)".contains("NaN"))
    }

    /// A writer killed mid-save leaves its staging folder; the next save or
    /// resume removes it, and puts back a checkpoint it had moved aside.
    @Test func staleStagingFoldersAreCleaned() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try trainer(.reinforce, output: folder)
        try run.saveCheckpoint(to: run.checkpointFolder(step: 0))
        let checkpoints = run.checkpointFolder(step: 0).deletingLastPathComponent()
        let fm = FileManager.default
        // PIDs past the kernel's limit (4,194,304) belong to no process.
        try fm.createDirectory(at: checkpoints.appendingPathComponent(".step-000004.partial-9999999"), withIntermediateDirectories: true)
        try fm.moveItem(at: run.checkpointFolder(step: 0), to: checkpoints.appendingPathComponent(".step-000000.old-9999998"))
        #expect(RLTrainer.latestCheckpoint(in: folder) == run.checkpointFolder(step: 0))
        #expect(try fm.contentsOfDirectory(atPath: checkpoints.path) == ["step-000000"])
        try fm.createDirectory(at: checkpoints.appendingPathComponent(".step-000008.partial-9999999"), withIntermediateDirectories: true)
        try run.saveCheckpoint(to: run.checkpointFolder(step: 12))
        #expect(try fm.contentsOfDirectory(atPath: checkpoints.path).sorted() == ["step-000000", "step-000012"])
    }

    /// On-policy (one epoch, one mini-batch, the sampler's temperature), the
    /// log-probs the sampler recorded are the ones a forward pass recomputes,
    /// (so a sampler-based shortcut would be sound; the trainer goes further
    /// and uses the update's own).
    /// Measured on every trained token of a step, with LoRA.
    @Test func samplerLogProbsAreTheRecomputedOnes() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-onpolicy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = LearningTests.config(.grpo)
        config.trainer.outputDir = folder.path
        config.algorithm.klLoss = false
        config.algorithm.recomputeOldLogProbs = true
        config.rollout.temperature = 0.7
        config.policy.lora = LoRAConfig(rank: 4, alpha: 8, targets: LoRAConfig.projections, layers: 1)
        let task = LearningTests.task
        let policy = try Models.Decoder(config: TinySearchTask.config, weights: LearningTests.pretrained.mapValues { $0.copy() })
        let trainer = try RLTrainer(
            config: config, policy: policy, tokenizer: task.tokenizer, chatTemplate: ChatTemplate(format: .raw),
            stopTokens: [task.tokenizer.eosTokenID!], engine: TinySearchEngine(), rows: task.rows)
        for _ in 0..<2 {
            let metrics = try await trainer.step().metrics
            let largest = try #require(metrics["rollout_log_prob_diff_max"])
            #expect(largest < 2e-3, "sampler vs recomputed log-prob: max difference \(largest)")
            #expect(metrics["rollout_log_prob_diff_mean"]! < 2e-4)
        }
        // By default nothing is recomputed on-policy (the update's own
        // log-probs serve), and a second epoch makes the trainer recompute.
        config.algorithm.recomputeOldLogProbs = false
        func recomputes(_ config: TrainConfig) async throws -> Bool {
            let trainer = try RLTrainer(
                config: config,
                policy: Models.Decoder(config: TinySearchTask.config, weights: LearningTests.pretrained.mapValues { $0.copy() }),
                tokenizer: task.tokenizer, chatTemplate: ChatTemplate(format: .raw), stopTokens: [task.tokenizer.eosTokenID!],
                engine: TinySearchEngine(), rows: task.rows)
            return try await trainer.step().metrics["rollout_log_prob_diff_max"] != nil
        }
        #expect(try await !recomputes(config))
        config.actor.ppoEpochs = 2
        #expect(try await recomputes(config))
    }

    /// Saving over an existing checkpoint replaces it whole.
    @Test func savingReplacesAtomically() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zerosearch-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try trainer(.reinforce, output: folder)
        let target = run.checkpointFolder(step: 0)
        try run.saveCheckpoint(to: target)
        _ = try await run.step()
        try run.saveCheckpoint(to: target)
        let names = try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path)
        #expect(names == ["step-000000"], "staging or backup folders left behind: \(names)")
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: target.appendingPathComponent("trainer_state.json")))
        #expect(state.step == 1)
    }
}
