import Engine
import Foundation
import Testing

/// Bad shapes and arguments are reported by name, before any kernel runs.
@Suite struct ErrorTests {
    func message(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "no error"
        } catch { return "\(error)" }
    }

    @Test func shapeMismatchesNameTheOpAndShapes() {
        let t = Tape()
        let x = Variable(Tensor(zeros: [4, 8]))
        let w = Variable(Tensor(zeros: [16, 7]))
        #expect(
            message { try t.linear(x, w) }
                == "linear: shape mismatch: input [4, 8] does not match weight [16, 7] (expected [..., in] and [out, in])")
        #expect(message { try t.add(x, Variable(Tensor(zeros: [8, 4]))) }.hasPrefix("add: shape mismatch: operands [4, 8] and [8, 4]"))
        #expect(message { try x.value.reshaped([3, -1]) }.hasPrefix("reshape: shape mismatch"))
        let q = Variable(Tensor(zeros: [1, 2, 3, 4]))
        let kv = Variable(Tensor(zeros: [1, 2, 2, 4]))
        #expect(message { try t.attention(q: q, k: kv, v: kv) }.contains("3 query heads are not a multiple of 2 KV heads"))
        #expect(
            message { try t.rmsNorm(x, weight: Variable(Tensor(zeros: [7])), eps: 1e-5) }.hasPrefix("rmsNorm: shape mismatch: weight [7]"))
    }

    @Test func invalidArgumentsAreCaught() throws {
        let t = Tape()
        #expect(
            message { try t.embedding(Variable(Tensor(zeros: [5, 2])), ids: [1, 5]) }
                == "embedding: invalid argument: token id 5 outside vocabulary of 5")
        let h = Variable(Tensor(zeros: [2, 4]))
        let w = Variable(Tensor(zeros: [10, 4]))
        #expect(message { try t.tokenLogProbs(hidden: h, weight: w, targets: [1, -1]) }.contains("target id -1"))
        #expect(
            message { try t.tokenLogProbs(hidden: h, weight: w, targets: [1, 2], temperature: 0) }.contains("temperature must be positive"))
        #expect(message { try RotaryTable(headDim: 7, maxPosition: 4, theta: 1e4) }.contains("head dimension must be even"))
        #expect(message { try t.backward(h) }.hasPrefix("backward: shape mismatch: loss must be a scalar"))
    }

    @Test func corruptArchivesFailCleanly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("archives-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var archive = TensorArchive()
        archive.tensors["w"] = random([3, 5], seed: 1)
        let good = folder.appendingPathComponent("good.safetensors")
        try archive.write(to: good)
        let bytes = try Data(contentsOf: good)
        #expect(try TensorArchive(contentsOf: good).tensors["w"]?.scalars == archive.tensors["w"]?.scalars)

        var hugeHeader = bytes
        hugeHeader.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        let corruptions: [(String, Data)] = [
            ("empty", Data()), ("truncated-length", bytes.prefix(5)), ("truncated-data", bytes.prefix(bytes.count - 4)),
            ("huge-header", hugeHeader), ("garbage-json", Data([16, 0, 0, 0, 0, 0, 0, 0]) + Data("{not json at all".utf8)),
        ]
        for (name, data) in corruptions {
            let url = folder.appendingPathComponent("\(name).safetensors")
            try data.write(to: url)
            #expect(throws: (any Error).self, "\(name)") { try TensorArchive(contentsOf: url) }
        }
    }
}
