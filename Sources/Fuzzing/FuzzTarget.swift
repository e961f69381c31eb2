import Datasets
import Demo
import Engine
import Foundation
import Models
import Search
import Support
import Tokenizers
import Training

/// A parser of untrusted bytes, the real files its mutations start from, and
/// what it does with a file it accepts (decode every tensor, encode text,
/// read every row, search), so that an accepted file is used, not only opened.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case gguf, safetensors, config, tokenizer, parquet, jsonl, csv, yaml, bm25, checkpoint

    /// Whether the textual mutations apply.
    var isText: Bool { ![.gguf, .safetensors, .parquet, .bm25].contains(self) }

    /// The file name a case is written under (parsers pick formats by extension).
    var fileName: String {
        switch self {
        case .gguf: "case.gguf"
        case .safetensors: "case.safetensors"
        case .config: "config.json"
        case .tokenizer: "tokenizer.json"
        case .parquet: "case.parquet"
        case .jsonl: "case.jsonl"
        case .csv: "case.csv"
        case .yaml: "case.yaml"
        case .bm25: "case.bm25"
        case .checkpoint: "trainer_state.json"
        }
    }

    /// The unmutated files: the repository's committed fixtures (under
    /// `fixtures`, the `Tests` folder), the quick demo's shipped tokenizer,
    /// and files made here.
    func seeds(fixtures: URL, scratch: URL) throws -> [[UInt8]] {
        func fixture(_ path: String) throws -> [UInt8] {
            let url = fixtures.appendingPathComponent(path)
            do { return Array(try Data(contentsOf: url)) } catch {
                throw InvalidInput(place: url.path, problem: "fuzz seed missing (run from the repository root or pass --fixtures)")
            }
        }
        switch self {
        case .gguf:
            return try ["ModelsTests/Fixtures/tiny-llama.gguf", "ModelsTests/Fixtures/quant_types.gguf"].map(fixture)
        case .safetensors:
            return try ["ModelsTests/Fixtures/tiny-llama/model.safetensors", "ModelsTests/Fixtures/quant_types_expected.safetensors"]
                .map(fixture)
        case .config:
            return try ["ModelsTests/Fixtures/tiny-llama/config.json", "ModelsTests/Fixtures/tiny-qwen2/config.json"].map(fixture)
        case .tokenizer:
            // Pretty-printed, so that line mutations change one entry at a time.
            let tokenizer = Demo.quickBase(seed: 1)!.appendingPathComponent("tokenizer.json")
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: tokenizer))
            return [Array(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]))]
        case .parquet:
            return try [
                "DatasetsTests/Fixtures/scalar_types.parquet", "DatasetsTests/Fixtures/dict_snappy_v2.parquet",
                "DatasetsTests/Fixtures/other_nesting.parquet", "DatasetsTests/Fixtures/plain_gzip_v2.parquet",
            ].map(fixture)
        case .jsonl:
            return [Array(Self.questionsJSONL.utf8)]
        case .csv:
            return [Array("question,answer\n\"who wrote \"\"hamlet\"\"\",[\"Shakespeare\"]\nhow tall,\"[\"\"8,849 m\"\"]\"\n".utf8)]
        case .yaml:
            var config = TrainConfig()
            config.policy.lora = LoRAConfig(rank: 8, alpha: 16, targets: LoRAConfig.projections, layers: 2)
            return [Array(try config.yaml().utf8), Array("actor:\n  lr: 1.0e-6\nrollout:\n  group_size: 4\n".utf8)]
        case .bm25:
            var builder = BM25Builder()
            for (index, text) in ["the moon landing of 1969", "apollo 17 was the last", "hamlet is a play by shakespeare"].enumerated() {
                builder.add(Passage(id: "\(index)", title: "t\(index)", text: text))
            }
            let url = scratch.appendingPathComponent("seed.bm25")
            try builder.build().write(to: url)
            return [Array(try Data(contentsOf: url))]
        case .checkpoint:
            return [
                Array(
                    #"{"step": 3, "order": [2, 0, 1], "cursor": 1, "epoch": 1, "dataRNG": {"state": [1, 2, 3, 4]}, "noiseRNG": {"state": [5, 6, 7, 8]}}"#
                        .utf8)
            ]
        }
    }

    static let questionsJSONL = """
        {"question": "who wrote hamlet", "answer": ["Shakespeare", "William Shakespeare"]}
        {"question": "when was the last moon landing", "answer": ["1972"], "data_source": "nq"}
        {"question": "how tall is everest", "answer": ["8,849 m"], "id": 7}

        """

    /// Parses `url` and uses what it read; throws for a file it refuses.
    func exercise(_ url: URL) throws {
        switch self {
        case .gguf:
            let file = try GGUFFile(contentsOf: url)
            for info in file.tensorInfos { _ = try file.tensor(info.name) }
            if let config = try? DecoderConfig(gguf: file) { _ = try config.rotaryTable() }
            if let tokenizer = try? BPETokenizer(ggufMetadata: file.metadata) { Self.roundTrip(tokenizer) }
            _ = try Models.Decoder(gguf: file)
        case .safetensors:
            for tensor in try TensorArchive(contentsOf: url).tensors.values { _ = tensor.scalars.reduce(0, +) }
        case .config:
            _ = try DecoderConfig(huggingFaceConfig: Data(contentsOf: url), source: url.path).rotaryTable()
        case .tokenizer:
            Self.roundTrip(try BPETokenizer(tokenizerJSON: url))
        case .parquet, .jsonl, .csv:
            var rows = try DatasetFile(contentsOf: url).makeRowIterator()
            while let row = try rows.next() { _ = row.fields.count }
            try forEachQARow(in: url, mapping: QAMapping(defaultDataSource: "fuzz"), skipInvalid: true) { _ in true }
        case .yaml:
            _ = try TrainConfig.load(contentsOf: url)
        case .bm25:
            let index = try BM25Index(contentsOf: url)
            for hit in index.search("the last moon landing apollo", topK: 3) { _ = index.passage(hit.document) }
        case .checkpoint:
            let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: url))
            try RLTrainer.checkConsistent(state, rows: 3, totalSteps: 10, place: url.path)
        }
    }

    static func roundTrip(_ tokenizer: BPETokenizer) {
        let ids = tokenizer.encode("Who wrote Hamlet? <answer> Shakespeare </answer> ünïcödé 🙂", addSpecialTokens: true)
        _ = tokenizer.decode(ids, skipSpecialTokens: false)
    }
}
