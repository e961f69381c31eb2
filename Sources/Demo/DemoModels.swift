import Agent
import Engine
import Foundation
import Generation
import Models
import Search
import Support
import Tokenizers
import Training
import World

/// The demo's built pieces: a tokenizer fitted to the world's text, a base
/// pretrained on another world's pages, and from it a simulator fine-tuned to
/// play the search engine and a policy warm-started on the tag format. Each
/// model is a Hugging Face folder in the cache (with the tokenizer's files),
/// so `zerosearch generate`, `ask` and `train` can load them too.
public struct DemoModels: Sendable {
    public let simulator: LoadedModel
    public let policy: LoadedModel
    public let build: DemoBuildReport

    public static let tags = [
        "<search>", "</search>", "<answer>", "</answer>", "<information>", "</information>",
        "<think>", "</think>",
    ]
    public static let endOfText = "<|endoftext|>"

    /// The cached models for these settings and seed, each built first if
    /// absent. Each model has its own cache key (what it is built from), so
    /// changing the policy's recipe keeps the simulator.
    /// The base reads `realEngine`'s results in its pretraining pages (on
    /// parallel worlds, with as many passages per search) and is checked on it.
    public static func loadOrBuild(
        world: World, realEngine: BM25Engine, settings: DemoModelSettings, seed: UInt64, cache: URL,
        observer: StageObserver
    ) throws -> DemoModels {
        let given = try settings.base.isEmpty ? nil : GivenBase(settings.base)
        let tokenizer: BPETokenizer
        let tokenizerFiles: [String: Data]
        let tokenizerSeconds: Double
        if let given {
            (tokenizer, tokenizerFiles, tokenizerSeconds) = (given.model.tokenizer, try given.model.tokenizerFiles(), 0)
            observer.note("tokenizer: the base's, \(tokenizer.vocabularySize) tokens")
        } else {
            let started = DispatchTime.now().uptimeNanoseconds
            let trained = try fitTokenizer(world, vocabularySize: settings.vocabularySize)
            (tokenizer, tokenizerFiles) = (trained.tokenizer, try trained.huggingFaceFiles())
            tokenizerSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            observer.note(
                "tokenizer: \(tokenizer.vocabularySize) tokens fitted to the world's text in \(String(format: "%.1f", tokenizerSeconds)) s")
        }
        let config =
            given?.model.decoder.config
            ?? DecoderConfig(
                vocabSize: tokenizer.vocabularySize, hiddenSize: settings.hiddenSize,
                intermediateSize: settings.intermediateSize, layers: settings.layers, heads: settings.heads,
                kvHeads: settings.kvHeads, ropeTheta: settings.ropeTheta, maxPositions: settings.maxPositions)

        /// Loads the model cached under `key`, or trains one from `start`
        /// (fresh weights when nil) on `examples` and caches it. Only a model
        /// that generates here (the simulator) is packed for inference: the
        /// others are starting points, and the demo scores each trained
        /// policy from its own weights.
        func model(
            _ role: String, key: some Encodable, from start: LoadedModel?, seed offset: UInt64, sft: SupervisedConfig,
            generates: Bool = false, examples: () throws -> [SupervisedExample],
            check: (Decoder) throws -> Double? = { _ in nil }
        ) throws -> (LoadedModel, BuiltModel) {
            let folder = cache.appendingPathComponent("\(role)-seed\(seed)-\(SHA256.key(key))")
            let recordURL = folder.appendingPathComponent(recordFile)
            if let data = try? Data(contentsOf: recordURL), let record = try? JSONDecoder().decode(BuiltModel.self, from: data),
                let loaded = try? LoadedModel(folder, prepareInference: generates)
            {
                observer.note("\(role): reusing \(folder.path)")
                return (loaded, record)
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let decoder =
                try start.map { try Decoder(config: config, weights: $0.decoder.namedWeights()) }
                ?? Decoder(config: config, seed: seed &+ offset)
            var sft = sft
            sft.seed = seed &+ offset &+ 1
            let losses = try fineTune(decoder, try examples(), sft, stage: role, observer: observer, check: check)
            try decoder.saveHuggingFace(to: folder, eosTokenID: tokenizer.eosTokenID, extraFiles: tokenizerFiles)
            let tail = losses.suffix(max(1, losses.count / 10))
            let finalLoss = tail.reduce(0, +) / Double(tail.count)
            let record = BuiltModel(
                seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
                finalLoss: finalLoss, readingAccuracy: try check(decoder))
            observer.note(
                String(format: "%@: built in %.0f s, final loss %.3f", role, record.seconds, finalLoss)
                    + (record.readingAccuracy.map { String(format: ", reads held-out documents at p = %.2f", $0) } ?? ""))
            try writeAtomically(try prettyJSON(record), to: recordURL)
            return (try LoadedModel(folder, prepareInference: generates), record)
        }

        let probe = ReadingProbe(world: world, engine: realEngine, questions: world.test.prefix(64), tokenizer: tokenizer)
        let baseKey: BaseSource
        let base: LoadedModel
        let baseRecord: BuiltModel
        if let given {
            baseKey = .given(GivenKey(givenBase: given.digest, entities: settings.entities))
            base = given.model
            baseRecord = BuiltModel(
                seconds: given.record?.seconds ?? 0, finalLoss: given.record?.finalLoss,
                readingAccuracy: try probe.accuracy(base.decoder))
            observer.note(
                String(
                    format: "base: %@, reads this world's documents at p = %.2f", settings.base,
                    baseRecord.readingAccuracy ?? 0))
        } else {
            let shape = Shape(entities: settings.entities, vocabularySize: settings.vocabularySize, config: config)
            let key = BaseKey(
                shape: shape, pages: settings.pretrainPages, parallelWorlds: settings.parallelWorlds,
                bm25TopK: realEngine.topK, sft: settings.pretrain)
            baseKey = .pretrained(key)
            (base, baseRecord) = try model(
                "base", key: key, from: nil, seed: 1, sft: settings.pretrain,
                examples: {
                    let pages = try PretrainingPages(
                        parallelTo: world, count: settings.parallelWorlds, topK: realEngine.topK,
                        tokenizer: tokenizer)
                    var rng = RandomGenerator(seed: seed &+ 2)
                    return (0..<settings.pretrainPages).map { _ in pages.page(rng: &rng) }
                }, check: probe.accuracy)
        }
        let (simulator, simulatorRecord) = try model(
            "simulator",
            key: SimulatorKey(
                base: baseKey, examples: settings.simulatorExamples,
                passageCopies: settings.simulatorPassageCopies,
                sft: settings.simulator),
            from: base, seed: 11, sft: settings.simulator, generates: true
        ) {
            let passages =
                settings.simulatorPassageCopies == 0
                ? []
                : world.passages.map { PretrainingPages.page($0.rendered, tokenizer: tokenizer) }
            return world.simulatorExamples(count: settings.simulatorExamples, seed: seed &+ 12).map { example in
                SupervisedExample(
                    prompt: tokenizer.encode(example.prompt, addSpecialTokens: false),
                    completion: tokenizer.encode(example.documents + endOfText, addSpecialTokens: false))
            } + Array(repeating: passages, count: settings.simulatorPassageCopies).joined()
        }
        let policyKey = PolicyKey(
            base: baseKey, examples: settings.policyExamples, sft: settings.policy,
            searchRate: settings.searchRate, usefulRate: settings.usefulRate)
        let (policy, policyRecord) = try model("policy", key: policyKey, from: base, seed: 21, sft: settings.policy) {
            var demonstrations = Demonstrations(
                world: world, tokenizer: tokenizer, searchRate: settings.searchRate,
                usefulRate: settings.usefulRate)
            var rng = RandomGenerator(seed: seed &+ 22)
            return (0..<settings.policyExamples).map { _ in demonstrations.example(rng: &rng) }
        }
        return DemoModels(
            simulator: simulator, policy: policy,
            build: DemoBuildReport(
                tokenizerSeconds: tokenizerSeconds, base: baseRecord, simulator: simulatorRecord,
                policy: policyRecord))
    }

    /// Beside each built model: how long it took and what it reached (`BuiltModel`).
    static let recordFile = "built.json"

    /// What every model's cache key shares.
    struct Shape: Encodable {
        /// Bumped whenever what a model is trained on changes (the tokenizer
        /// included: it is fitted again on every run, not part of the key).
        var version = 2
        var entities: Int
        var vocabularySize: Int
        var config: DecoderConfig
    }

    /// The base's parallel worlds draw their facts from the demo's seed plus
    /// this offset plus 1, 2, ….
    static let parallelFactSeeds: UInt64 = 0x0BA5E

    struct BaseKey: Encodable {
        var shape: Shape
        var pages: Int
        var parallelWorlds: Int
        var bm25TopK: Int
        var sft: SupervisedConfig
    }

    /// What the simulator and the policy start from. A pretrained base is
    /// keyed by its recipe (encoded as the bare recipe, so caches built
    /// before a base could be given keep their keys); a given one by its
    /// files and the world it is fine-tuned on.
    enum BaseSource: Encodable {
        case pretrained(BaseKey)
        case given(GivenKey)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .pretrained(let key): try key.encode(to: encoder)
            case .given(let key): try key.encode(to: encoder)
            }
        }
    }

    struct GivenKey: Encodable {
        var givenBase: String
        var entities: Int
    }

    /// A base named by `models.base`: its model, the SHA-256 of its files,
    /// and its build record when it was built by the demo.
    struct GivenBase {
        let model: LoadedModel
        let digest: String
        let record: BuiltModel?

        init(_ path: String) throws {
            let location = URL(fileURLWithPath: path)
            do {
                model = try LoadedModel(location, prepareInference: false)
                digest = try DemoModels.filesDigest(location)
            } catch {
                throw InvalidInput(place: "models.base", problem: "cannot load \(path): \(error)")
            }
            record = (try? Data(contentsOf: location.appendingPathComponent(DemoModels.recordFile)))
                .flatMap { try? JSONDecoder().decode(BuiltModel.self, from: $0) }
        }
    }

    struct SimulatorKey: Encodable {
        var base: BaseSource
        var examples: Int
        var passageCopies: Int
        var sft: SupervisedConfig
    }

    struct PolicyKey: Encodable {
        /// Bumped whenever the demonstrations change.
        var demonstrations = 3
        var base: BaseSource
        var examples: Int
        var sft: SupervisedConfig
        var searchRate: Double
        var usefulRate: Double
    }

    /// The SHA-256 of a model's files: a `.gguf`, or a folder's files (names
    /// and contents, in name order; not subfolders, nor the demo's build
    /// record, whose timing differs between two builds of the same weights).
    static func filesDigest(_ location: URL) throws -> String {
        var digest = SHA256()
        let files =
            location.pathExtension == "gguf"
            ? [location]
            : try FileManager.default.contentsOfDirectory(atPath: location.path).sorted().map { location.appendingPathComponent($0) }
        for file in files
        where file.lastPathComponent != recordFile
            && (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
        {
            Data(file.lastPathComponent.utf8).withUnsafeBytes { digest.update($0) }
            try digest.update(contentsOf: file)
        }
        return digest.hexDigest()
    }

    /// A byte-level BPE fitted to everything the models will read: passages,
    /// questions, and the fixed prompts of the policy and the simulator.
    static func fitTokenizer(_ world: World, vocabularySize: Int) throws -> TrainedTokenizer {
        var texts = world.passages.map { $0.title + "\n" + $0.text } + (world.train + world.test).map(\.question)
        let prompts =
            [PolicyPrompt.searchR1, PolicyPrompt.direct, PolicyPrompt.retrievalAugmented, invalidActionText]
            + world.simulatorExamples(count: 8, seed: 0).map(\.prompt)
        // The fixed prompts are read at every call: their words earn whole tokens.
        for _ in 0..<50 { texts += prompts }
        return try BPETrainer(
            vocabularySize: vocabularySize, specialTokens: [endOfText], addedTokens: tags,
            eosToken: endOfText
        ).train(texts)
    }

    /// Fine-tunes with a progress bar; `check`, when it measures something,
    /// is shown every 250 steps, so a long build shows its progress in skill,
    /// not only in loss.
    static func fineTune(
        _ model: Decoder, _ examples: [SupervisedExample], _ config: SupervisedConfig, stage: String,
        observer: StageObserver, check: (Decoder) throws -> Double?
    ) throws -> [Double] {
        observer.begin(stage, total: config.steps)
        defer { observer.end() }
        var checked = ""
        let losses = try supervisedFineTune(model, on: examples, config: config) { step, loss in
            if (step + 1) % 250 == 0, step + 1 < config.steps {
                checked = try check(model).map { String(format: ", reads at p = %.2f", $0) } ?? ""
            }
            observer.progress(step + 1, detail: String(format: "loss %.3f", loss) + checked)
        }
        return losses
    }
}

/// What building the models took and reached (a reused model reports its first build).
public struct DemoBuildReport: Codable, Equatable, Sendable {
    public var tokenizerSeconds: Double
    public var base: BuiltModel
    public var simulator: BuiltModel
    public var policy: BuiltModel
}

public struct BuiltModel: Codable, Equatable, Sendable {
    public var seconds: Double
    /// Mean training loss over the last tenth of the steps (unknown for a
    /// given base built elsewhere).
    public var finalLoss: Double?
    /// The base's mean probability of an answer's first token after reading
    /// documents, on questions it never saw.
    public var readingAccuracy: Double?
}
