import Engine
import Foundation
import Models
import Support

/// A checkpoint is a folder: the policy's trained weights (its LoRA adapters
/// when it has them), the optimiser's moments,
/// the critic and its optimiser (PPO), the trainer's state (step, data order
/// and cursor, random generators) and the full config. It is written to a
/// staging folder and renamed into place, so a run killed while saving
/// leaves the previous checkpoint intact and never a partial one.
extension RLTrainer {
    enum CheckpointFile {
        static let policy = "policy.safetensors"
        static let optimizer = "optimizer.safetensors"
        static let critic = "critic.safetensors"
        static let criticOptimizer = "critic_optimizer.safetensors"
        static let state = "trainer_state.json"
        static let config = "config.json"
    }

    public func saveCheckpoint(to directory: URL) throws {
        let staging = try makeStagingDirectory(for: directory)
        func file(_ name: String) -> URL { staging.appendingPathComponent(name) }
        try archive(policy.trainableParameters).write(to: file(CheckpointFile.policy))
        try actorOptimizer.save(to: file(CheckpointFile.optimizer))
        if let critic, let criticOptimizer {
            try archive(critic.parameters).write(to: file(CheckpointFile.critic))
            try criticOptimizer.save(to: file(CheckpointFile.criticOptimizer))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: file(CheckpointFile.state))
        try encoder.encode(config).write(to: file(CheckpointFile.config))
        try replaceDirectory(directory, with: staging)
    }

    /// Continues from a checkpoint written by `saveCheckpoint` with the same
    /// settings: the policy, optimiser, critic and state are replaced, so the
    /// next step is the one the saved run would have taken.
    public func restore(from directory: URL) throws {
        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        let op = "checkpoint \(directory.path)"
        let saved: TrainConfig
        do {
            saved = try JSONDecoder().decode(TrainConfig.self, from: Data(contentsOf: file(CheckpointFile.config)))
        } catch {
            throw InvalidInput(place: op, problem: "cannot read \(CheckpointFile.config): \(error)")
        }
        var comparable = saved
        comparable.trainer.outputDir = config.trainer.outputDir
        comparable.trainer.saveEvery = config.trainer.saveEvery
        try require(comparable == config, op, "was written with other settings; resume with its config.json (differences change the run)")
        try load(TensorArchive(contentsOf: file(CheckpointFile.policy)), into: policy.trainableParameters, op: op)
        try actorOptimizer.load(from: file(CheckpointFile.optimizer))
        if let critic, let criticOptimizer {
            try load(TensorArchive(contentsOf: file(CheckpointFile.critic)), into: critic.parameters, op: op)
            try criticOptimizer.load(from: file(CheckpointFile.criticOptimizer))
        }
        let savedState: TrainerState
        do {
            savedState = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: file(CheckpointFile.state)))
        } catch {
            throw InvalidInput(place: op, problem: "cannot read \(CheckpointFile.state): \(error)")
        }
        try Self.checkConsistent(
            savedState, rows: rows.count, totalSteps: config.trainer.totalSteps, place: "\(op): \(CheckpointFile.state)")
        state = savedState
        let weights = policy.trainableParameters + (critic?.parameters ?? [])
        for parameter in weights where !parameter.value.scalars.allSatisfy(\.isFinite) {
            throw InvalidInput(place: op, problem: "\(parameter.name) holds NaN or infinite weights")
        }
    }

    /// A saved state this run can continue from: a step within the run (a
    /// step past its end would "finish" it silently), a data order that is a
    /// permutation of this data's rows, a cursor inside it.
    public static func checkConsistent(_ state: TrainerState, rows: Int, totalSteps: Int, place: String) throws {
        try requireValid((0...totalSteps).contains(state.step), "\(place): step", "\(state.step) is outside 0...\(totalSteps)")
        try requireValid(
            state.order.isEmpty || state.order.sorted() == Array(0..<rows), "\(place): order",
            "is not an order of this run's \(rows) training rows")
        try requireValid((0...state.order.count).contains(state.cursor), "\(place): cursor", "\(state.cursor) is outside the order")
        try requireValid(state.epoch >= 0, "\(place): epoch", "\(state.epoch) is negative")
    }

    /// The newest checkpoint folder (`step-NNNNNN`) under a run's
    /// `checkpoints/`, or the folder itself if it is a checkpoint.
    public static func latestCheckpoint(in run: URL) -> URL? {
        let fm = FileManager.default
        // A run killed while saving left a staging folder (or a moved-aside
        // checkpoint, which goes back into place) before anything resumes.
        removeStaleStaging(in: run.appendingPathComponent("checkpoints"))
        if fm.fileExists(atPath: run.appendingPathComponent(CheckpointFile.state).path) { return run }
        let folder = run.appendingPathComponent("checkpoints")
        let names = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix("step-") && !$0.contains(".") }.sorted().last.map { folder.appendingPathComponent($0) }
    }

    public func checkpointFolder(step: Int) -> URL {
        URL(fileURLWithPath: config.trainer.outputDir).appendingPathComponent("checkpoints")
            .appendingPathComponent(String(format: "step-%06d", step))
    }

    private func archive(_ parameters: [Variable]) -> TensorArchive {
        var archive = TensorArchive()
        for parameter in parameters { archive.tensors[parameter.name] = parameter.value }
        return archive
    }

    private func load(_ archive: TensorArchive, into parameters: [Variable], op: String) throws {
        for parameter in parameters {
            guard let tensor = archive.tensors[parameter.name] else {
                throw InvalidInput(place: op, problem: "no tensor \(parameter.name)")
            }
            try check(
                tensor.shape == parameter.shape, op,
                "\(parameter.name) is \(describe(tensor.shape)), the model needs \(describe(parameter.shape))")
            parameter.value.pointer.update(from: tensor.pointer, count: tensor.count)
        }
    }
}
