import Engine
import Foundation
import Testing

/// GGUF parsing and dequantisation against the `gguf` Python package
/// (scripts/fixtures/make_gguf_quant_golden.py), and corrupted files.
@Suite struct GGUFTests {
    @Test func everyStorageTypeDequantisesLikeTheReference() throws {
        let file = try GGUFFile(contentsOf: fixture("quant_types.gguf"))
        let expected = try TensorArchive(contentsOf: fixture("quant_types_expected.safetensors"))
        #expect(file.version == 3)
        #expect(file.metadata["zerosearch.fixture"]?.string == "every storage type")
        #expect(file.metadata["zerosearch.numbers"]?.array?.compactMap(\.int) == [1, 2, 3])
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(Set(file.tensorInfos.map(\.name)) == Set(expected.tensors.keys))
        for (name, want) in expected.tensors {
            let got = try file.tensor(name)
            #expect(got.shape == want.shape, "\(name)")
            let mismatches = (0..<want.count).filter { got.pointer[$0] != want.pointer[$0] }
            #expect(mismatches.isEmpty, "\(name): \(mismatches.count) values differ, first at \(mismatches.first ?? -1)")
        }
    }

    @Test func truncatedFilesAreRejectedWithAClearError() throws {
        let source = try fixture("quant_types.gguf")
        let size = try Data(contentsOf: source).count
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        for cut in [0, 3, 4, 7, 15, 23, 40, 100, 300, 1000, size / 2, size - 64] {
            let url = try corruptedCopy(of: source, in: folder, name: "cut\(cut).gguf") { $0.removeLast($0.count - cut) }
            #expect {
                _ = try GGUFFile(contentsOf: url)
            } throws: { error in
                let text = "\(error)"
                return text.contains("truncated") || text.contains("not a GGUF") || text.contains("cannot fit")
            }
        }
    }

    @Test func headerCorruptionsNameTheProblem() throws {
        let source = try fixture("quant_types.gguf")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("magic", { $0[0] = 0x47 ^ 0xFF }, "not a GGUF file"),
            ("version", { $0[4] = 9 }, "version 9"),
            ("tensor count", { $0[15] = 0x7F }, "cannot fit"),
        ]
        for (name, mutate, message) in cases {
            let url = try corruptedCopy(of: source, in: folder, name: "\(name).gguf", mutate)
            #expect(throws: (any Error).self, "\(name)") { _ = try GGUFFile(contentsOf: url) }
            do { _ = try GGUFFile(contentsOf: url) } catch { #expect("\(error)".contains(message), "\(name): \(error)") }
        }
        #expect(throws: (any Error).self) { _ = try GGUFFile(contentsOf: folder.appendingPathComponent("missing.gguf")) }
    }

    /// Random byte flips anywhere in the header must end in an error or a
    /// file whose every tensor still decodes: never a crash.
    @Test func randomCorruptionNeverCrashes() throws {
        let source = try fixture("quant_types.gguf")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var rng = RandomGenerator(seed: 3)
        let headerEnd = 1200
        var rejected = 0
        for trial in 0..<200 {
            let url = try corruptedCopy(of: source, in: folder, name: "flip\(trial).gguf") { bytes in
                for _ in 0..<3 { bytes[Int(rng.next() % UInt64(headerEnd))] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            guard let file = try? GGUFFile(contentsOf: url) else {
                rejected += 1
                continue
            }
            for info in file.tensorInfos { _ = try? file.tensor(info.name) }
        }
        // The flips must reach fields the parser checks, or the test exercises nothing.
        #expect(rejected > 0)
    }
}
