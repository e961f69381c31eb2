import Engine
import Foundation
import Testing

/// Half-precision weight storage: bit patterns as PyTorch writes them, and
/// archives in every format read back.
@Suite struct DTypeTests {
    @Test func encodesWithRoundToNearestEven() throws {
        let t = try Tensor(shape: [4], values: [1, 1.0 / 3, -2.5, 65504])
        func words(_ bytes: [UInt8]) -> [UInt16] {
            stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
        }
        // torch.tensor([1, 1/3, -2.5, 65504]).to(torch.bfloat16 / torch.float16).view(torch.int16)
        #expect(words(t.encoded(as: .bf16)) == [0x3F80, 0x3EAB, 0xC020, 0x4780])
        #expect(words(t.encoded(as: .f16)) == [0x3C00, 0x3555, 0xC100, 0x7BFF])
    }

    @Test(arguments: DType.allCases)
    func archivesRoundTripInEveryFormat(dtype: DType) throws {
        let values: [Float] = [0, 1, -2.5, 0.15625, 3.75, -0.001953125]  // exact in all three formats
        var archive = TensorArchive(storage: dtype)
        archive.tensors["w"] = try Tensor(shape: [2, 3], values: values)
        archive.metadata["format"] = "test"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dtype-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try archive.write(to: url)
        let loaded = try TensorArchive(contentsOf: url)
        #expect(loaded.tensors["w"]?.shape == [2, 3])
        #expect(loaded.tensors["w"]?.scalars == values)
        #expect(loaded.metadata["format"] == "test")
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
        #expect(size < 200 + 6 * dtype.byteSize)
    }
}
