import Engine
import Foundation
import Models
import Support
import Testing

/// GGUF files whose numbers are each well formed but impossible (issue 18's
/// findings), built byte by byte: each is refused, naming the field, before
/// anything is allocated or read through a wrapped offset.
@Suite struct GGUFLimitsTests {
    /// A GGUF v3 file: metadata as (key, value), tensors as (name, ggml
    /// dimensions, ggml type, data offset), then `dataBytes` zero bytes.
    static func gguf(
        _ metadata: [(String, GGUFValue)], tensors: [(String, [UInt64], UInt32, UInt64)], dataBytes: Int = 64
    ) -> Data {
        var bytes = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func append(_ text: String) {
            append(UInt64(text.utf8.count))
            bytes.append(contentsOf: Array(text.utf8))
        }
        append(UInt32(0x4655_4747))
        append(UInt32(3))
        append(UInt64(tensors.count))
        append(UInt64(metadata.count))
        for (key, value) in metadata {
            append(key)
            switch value {
            case .uint(let v):
                append(UInt32(10))
                append(v)
            case .int(let v):
                append(UInt32(11))
                append(v)
            case .float(let v):
                append(UInt32(12))
                append(v.bitPattern)
            case .bool(let v):
                append(UInt32(7))
                append(UInt8(v ? 1 : 0))
            case .string(let v):
                append(UInt32(8))
                append(v)
            case .array: Issue.record("arrays are not built here")
            }
        }
        for (name, dimensions, type, offset) in tensors {
            append(name)
            append(UInt32(dimensions.count))
            for dimension in dimensions { append(dimension) }
            append(type)
            append(offset)
        }
        while bytes.count % 32 != 0 { bytes.append(0) }
        return bytes + Data(count: dataBytes)
    }

    static let f32: UInt32 = 0

    /// A llama whose one tensor is a 4 × 4 embedding, with `edit` applied.
    static func llama(_ edit: (inout [String: GGUFValue]) -> Void = { _ in }) -> Data {
        var metadata: [String: GGUFValue] = [
            "general.architecture": .string("llama"), "llama.embedding_length": .uint(4), "llama.feed_forward_length": .uint(8),
            "llama.block_count": .uint(1), "llama.attention.head_count": .uint(2), "llama.context_length": .uint(16),
        ]
        edit(&metadata)
        return gguf(metadata.sorted { $0.key < $1.key }, tensors: [("token_embd.weight", [4, 4], f32, 0)])
    }

    func failure(_ data: Data, _ load: (URL) throws -> Void) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("limits-\(UUID()).gguf")
        try data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            try load(url)
            return "loaded"
        } catch { return "\(error)" }
    }

    @Test func tensorSizesThatWrapAroundAreRefused() throws {
        let parse = { (url: URL) in _ = try GGUFFile(contentsOf: url) }
        // 2^62 floats are 2^64 bytes: zero once wrapped, which "fits" anywhere.
        let wrapped = Self.gguf([], tensors: [("t", [1 << 62], Self.f32, 0)])
        #expect(try failure(wrapped, parse).contains("tensor t"))
        let pastTheEnd = Self.gguf([], tensors: [("t", [4], Self.f32, UInt64(Int.max - 8))])
        #expect(try failure(pastTheEnd, parse).contains("runs past the end"))
        let alignment = Self.gguf([("general.alignment", .uint(1 << 63))], tensors: [])
        #expect(try failure(alignment, parse).contains("general.alignment"))
        #expect(try failure(Self.gguf([("general.alignment", .uint(24))], tensors: []), parse).contains("power of two"))
        #expect(try failure(Self.llama(), parse) == "loaded", "the unedited file is valid")
    }

    @Test func impossibleHyperparametersAreRefusedByName() throws {
        let config = { (url: URL) in _ = try DecoderConfig(gguf: GGUFFile(contentsOf: url)) }
        #expect(try failure(Self.llama(), config) == "loaded", "the unedited file is a valid configuration")
        let cases: [(String, GGUFValue, String)] = [
            ("llama.block_count", .uint(4_294_967_295), "num_hidden_layers"),
            ("llama.block_count", .string("2"), "block_count"),
            ("llama.attention.head_count", .uint(0), "num_attention_heads"),
            ("llama.context_length", .uint(1 << 40), "max_position_embeddings"),
            ("llama.attention.layer_norm_rms_epsilon", .float(.nan), "rms_norm_eps"),
            ("llama.attention.layer_norm_rms_epsilon", .float(.infinity), "rms_norm_eps"),
            ("llama.attention.layer_norm_rms_epsilon", .float(-1), "rms_norm_eps"),
            ("llama.rope.freq_base", .float(.infinity), "rope_theta"),
            ("llama.rope.freq_base", .string("x"), "rope.freq_base"),
        ]
        for (key, value, field) in cases {
            let message = try failure(Self.llama { $0[key] = value }, config)
            #expect(message.contains(field), "\(key) = \(value): \(message)")
        }
    }
}
