import Engine
import Foundation
import Support
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

    /// Headers whose numbers are each plausible on their own (issue 18's
    /// findings): each is refused with the field it got wrong, never read
    /// through a wrapped pointer or loaded as garbage.
    @Test func safetensorsHeadersAreCheckedAsTheFormatChecksThem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("headers-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ header: String, dataBytes: Int = 24) throws -> URL {
            let json = Data(header.utf8)
            var data = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
            let url = folder.appendingPathComponent("\(UUID()).safetensors")
            try (data + json + Data(count: dataBytes)).write(to: url)
            return url
        }
        let entry = { (name: String, shape: String, offsets: String) in
            "\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
        }
        #expect(try TensorArchive(contentsOf: file("{\(entry("a", "[2]", "[0,8]")),\(entry("b", "[4]", "[8,24]"))}")).tensors.count == 2)
        let refused: [(String, String, String)] = [
            ("{\(entry("a", "[2]", "[9223372036854775800,9223372036854775807]"))}", "data_offsets", "offsets near 2^63"),
            ("{\(entry("a", "[4611686018427387904,4]", "[0,16]"))}", "shape", "a shape whose byte count wraps"),
            ("{\(entry("a", "[-2]", "[0,8]"))}", "shape", "a negative dimension"),
            ("{\(entry("a", "[true]", "[0,4]"))}", "shape", "a boolean dimension"),
            ("{\(entry("a", "[2]", "[0,8]")),\(entry("b", "[4]", "[4,20]"))}", "overlap", "overlapping tensors"),
            ("{\(entry("a", "[2]", "[0,8]")),\(entry("b", "[3]", "[12,24]"))}", "gap", "a gap"),
            ("{\(entry("a", "[2]", "[0,8]")),\(entry("b", "[3]", "[8,20]"))}", "cover", "bytes nobody owns at the end"),
            ("{\(entry("a", "[2]", "[0,8]"))," + String(repeating: "[", count: 5000), "header", "5,000 nested brackets"),
        ]
        for (header, field, what) in refused {
            let url = try file(header)
            #expect(throws: InvalidInput.self, "\(what)") { try TensorArchive(contentsOf: url) }
            do { _ = try TensorArchive(contentsOf: url) } catch {
                #expect("\(error)".contains(field), "\(what): \(error)")
            }
        }
    }
}
