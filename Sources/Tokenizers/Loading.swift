import Engine
import Foundation

extension BPETokenizer {
    /// The tokenizer of a GGUF file, a `tokenizer.json` (its
    /// `tokenizer_config.json` beside it is not read), or a Hugging Face folder.
    public init(contentsOf url: URL) throws {
        switch url.pathExtension {
        case "gguf": try self.init(ggufMetadata: GGUFFile(contentsOf: url).metadata)
        case "json": try self.init(tokenizerJSON: url)
        default: try self.init(huggingFaceFolder: url)
        }
    }
}
