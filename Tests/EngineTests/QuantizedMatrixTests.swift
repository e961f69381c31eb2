import Engine
import Testing

/// The decode kernel on file blocks against a double-precision product with
/// the same blocks dequantised by `dequantize`: the two differ only in the
/// order of the sums.
@Suite struct QuantizedMatrixTests {
    /// Random blocks: f16 scales of either sign, offsets, and every code.
    static func blocks(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) throws -> QuantizedBlocks {
        var rng = RandomGenerator(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0..<rows * columns / 32 {
            func half(_ scale: Float) -> [UInt8] {
                let bits = Float16((Float(rng.next() % 2001) / 1000 - 1) * scale).bitPattern
                return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
            }
            bytes += half(0.05)
            if type == .q4_1 { bytes += half(0.5) }
            bytes += (0..<(type == .q8_0 ? 32 : 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        return try QuantizedBlocks(type: type, rows: rows, columns: columns, bytes: bytes)
    }

    static func dequantized(_ parts: [QuantizedBlocks]) throws -> Tensor {
        let k = parts[0].columns
        let n = parts.reduce(0) { $0 + $1.rows }
        let w = Tensor(uninitialized: [n, k])
        var row = 0
        for part in parts {
            try part.bytes.withUnsafeBytes { try dequantize($0, type: part.type, count: part.rows * k, into: w.pointer + row * k) }
            row += part.rows
        }
        return w
    }

    /// Largest error over `Σ|a||w|`, the scale of a dot product's rounding.
    func worstError(m: Int, _ parts: [QuantizedBlocks], alpha: Float, beta: Float) throws -> Double {
        let w = try Self.dequantized(parts)
        let n = w.shape[0]
        let k = w.shape[1]
        let matrix = try QuantizedMatrix(rowsOf: parts)
        let a = random([m, k], seed: 5)
        let c = random([m, n], seed: 6)
        let before = c.copy()
        sgemm(m: m, alpha: alpha, a: a.pointer, lda: k, quantized: matrix, beta: beta, c: c.pointer, ldc: n)
        var worst: Double = 0
        for i in 0..<m {
            for j in 0..<n {
                var sum: Double = 0
                var magnitude: Double = 0
                for p in 0..<k {
                    let product = Double(a.pointer[i * k + p]) * Double(w.pointer[j * k + p])
                    sum += product
                    magnitude += abs(product)
                }
                let expected = Double(alpha) * sum + Double(beta) * Double(before.pointer[i * n + j])
                let scale = abs(Double(alpha)) * magnitude + abs(Double(beta) * Double(before.pointer[i * n + j]))
                worst = max(worst, abs(Double(c.pointer[i * n + j]) - expected) / max(scale, 1e-30))
            }
        }
        return worst
    }

    @Test(arguments: [GGMLType.q4_0, .q4_1, .q8_0])
    func matchesTheDequantisedProduct(type: GGMLType) throws {
        // Row counts off the 16-row group, K from one block to several, and
        // 1…10 rows of A (past eight, a second pass over the codes).
        for (n, k) in [(16, 32), (37, 96), (50, 576), (3, 1536)] {
            let parts = [try Self.blocks(type, rows: n, columns: k, seed: UInt64(n * k))]
            for m in 1...10 {
                #expect(try worstError(m: m, parts, alpha: 1, beta: 0) <= 1e-5, "\(type) \(m)×\(n)×\(k)")
            }
            #expect(try worstError(m: 2, parts, alpha: 0.5, beta: 1) <= 1e-5, "\(type) with beta")
        }
    }

    @Test func stacksPartsOfDifferentTypes() throws {
        let q40 = try Self.blocks(.q4_0, rows: 7, columns: 64, seed: 1)
        let q41 = try Self.blocks(.q4_1, rows: 20, columns: 64, seed: 2)
        let q80 = try Self.blocks(.q8_0, rows: 9, columns: 64, seed: 3)
        #expect(try QuantizedMatrix(rowsOf: [q40, q41]).codeBits == 4)
        #expect(try QuantizedMatrix(rowsOf: [q41, q80, q40]).codeBits == 8)
        #expect(try worstError(m: 1, [q40, q41], alpha: 1, beta: 0) <= 1e-5)
        #expect(try worstError(m: 3, [q41, q80, q40], alpha: 1, beta: 0) <= 1e-5)
    }

    @Test(arguments: [GGMLType.q4_0, .q4_1, .q8_0])
    func noticesChangedWeights(type: GGMLType) throws {
        let blocks = try Self.blocks(type, rows: 20, columns: 64, seed: 9)
        let w = try Self.dequantized([blocks])
        #expect(blocks.reproduces(w.pointer))
        w.pointer[19 * 64 + 63] += 1e-3
        #expect(!blocks.reproduces(w.pointer))
    }

    @Test func permutingRowsMovesWholeRows() throws {
        let blocks = try Self.blocks(.q4_0, rows: 4, columns: 64, seed: 4)
        let w = try Self.dequantized([blocks])
        let moved = try Self.dequantized([blocks.permutingRows([2, 0, 3, 1])])
        for (to, from) in [2, 0, 3, 1].enumerated() {
            #expect((0..<64).allSatisfy { moved.pointer[to * 64 + $0] == w.pointer[from * 64 + $0] })
        }
    }

    @Test func rejectsUnsupportedBlocks() throws {
        let q6 = try QuantizedBlocks(type: .q6_K, rows: 1, columns: 256, bytes: [UInt8](repeating: 0, count: 210))
        #expect(throws: TensorError.self) { try QuantizedMatrix(rowsOf: [q6]) }
        #expect(throws: TensorError.self) { try QuantizedBlocks(type: .q4_0, rows: 1, columns: 32, bytes: [0]) }
    }
}
