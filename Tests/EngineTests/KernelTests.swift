import Engine
import Foundation
import Synchronization
import Testing

/// GEMM against a double-precision triple loop over the shapes that hit
/// every path: edge tiles, several K blocks, both transposes, beta, the
/// skinny path, pre-packed weights and the two-core split.
@Suite struct GEMMTests {
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (3, 70, 37), (13, 33, 5), (12, 32, 256), (25, 40, 600), (130, 97, 300), (8, 200, 64),
    ]

    func reference(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: Tensor, _ b: Tensor,
        alpha: Float, beta: Float, c: Tensor
    ) -> [Float] {
        (0..<m * n).map { index in
            let i = index / n
            let j = index % n
            var s: Double = 0
            for p in 0..<k {
                let x = transA ? a.pointer[p * m + i] : a.pointer[i * k + p]
                let y = transB ? b.pointer[j * k + p] : b.pointer[p * n + j]
                s += Double(x) * Double(y)
            }
            return Float(Double(alpha) * s + Double(beta) * Double(c.pointer[index]))
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func allTransposesAndEdges(transA: Bool, transB: Bool) throws {
        for (index, (m, n, k)) in Self.shapes.enumerated() {
            let a = random(transA ? [k, m] : [m, k], seed: UInt64(index))
            let b = random(transB ? [n, k] : [k, n], seed: UInt64(100 + index))
            for beta: Float in [0, 0.5] {
                let c = random([m, n], seed: 7)
                let expected = reference(transA, transB, m, n, k, a, b, alpha: 1.5, beta: beta, c: c)
                sgemm(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1.5, a: a.pointer, lda: transA ? m : k,
                    b: b.pointer, ldb: transB ? k : n, beta: beta, c: c.pointer, ldc: n)
                expectClose(c, try Tensor(shape: [m, n], values: expected), tolerance: 1e-4)
            }
        }
    }

    @Test func prePackedWeightsGiveTheSameProduct() throws {
        for (m, n, k) in [(1, 70, 37), (4, 33, 300), (30, 100, 600), (200, 64, 64)] {
            let a = random([m, k], seed: 1)
            let w = random([n, k], seed: 2)
            let c = Tensor(zeros: [m, n])
            sgemm(m: m, a: a.pointer, lda: k, packed: try PackedMatrix(w), c: c.pointer, ldc: n)
            let expected = reference(false, true, m, n, k, a, w, alpha: 1, beta: 0, c: Tensor(zeros: [m, n]))
            expectClose(c, try Tensor(shape: [m, n], values: expected), tolerance: 1e-4)
        }
    }
}

@Suite struct VectorMathTests {
    @Test func expIsAccurateAcrossTheRange() {
        var worst: Float = 0
        for i in 0..<4000 {
            let x = -87 + Float(i) * 0.0437  // up to 87.8, below float overflow
            let v = VectorMath.exp(Vec16(repeating: x))[0]
            worst = max(worst, abs(v - Foundation_exp(x)) / Foundation_exp(x))
        }
        #expect(worst < 3e-7)
        #expect(VectorMath.exp(Vec16(repeating: -.infinity))[0] == 0)
        #expect(VectorMath.exp(Vec16(repeating: -100))[0] == 0)
    }
}

private func Foundation_exp(_ x: Float) -> Float { Float(Foundation.exp(Double(x))) }

@Suite struct RandomGeneratorTests {
    @Test func matchesTheReferenceXoshiroStream() {
        let g = Golden("rng")
        var rng = RandomGenerator(seed: UInt64(g.number("seed")))
        let expected = (g.entries["next"] as! [String]).map { UInt64($0)! }
        #expect((0..<expected.count).map { _ in rng.next() } == expected)
    }

    @Test func sameSeedSameStreamAndStateRoundTrips() throws {
        var a = RandomGenerator(seed: 7)
        var b = RandomGenerator(seed: 7)
        var c = RandomGenerator(seed: 8)
        #expect((0..<100).map { _ in a.normal() } == (0..<100).map { _ in b.normal() })
        #expect(a.next() != c.next())
        let saved = try JSONEncoder().encode(a)
        var restored = try JSONDecoder().decode(RandomGenerator.self, from: saved)
        #expect((0..<10).map { _ in restored.uniform() } == (0..<10).map { _ in a.uniform() })
    }

    @Test func distributionsHaveTheRightMoments() {
        var rng = RandomGenerator(seed: 3)
        let n = 200_000
        let normals = (0..<n).map { _ in Double(rng.normal()) }
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.02)
        let uniforms = (0..<n).map { _ in rng.uniform() }
        #expect(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(abs(uniforms.reduce(0, +) / Float(n) - 0.5) < 0.01)
        var counts = [0, 0, 0]
        for _ in 0..<n { counts[rng.categorical([0.2, 0, 0.8] as [Float])!] += 1 }
        #expect(counts[1] == 0 && abs(Double(counts[0]) / Double(n) - 0.2) < 0.01)
        #expect(rng.categorical([0, 0] as [Float]) == nil)
    }
}

/// The work split that kernels with per-chunk partial sums rely on.
@Suite struct ParallelTests {
    /// Odd totals are where a chunk index derived from a range's start
    /// collided (RMSNorm's weight gradient took two threads into one buffer).
    @Test(arguments: [1, 2, 5, 1025, 4097])
    func chunksHaveDistinctIndicesAndCoverTheWork(total: Int) {
        let seen = Mutex<[(chunk: Int, range: Range<Int>)]>([])
        Parallel.forChunks(total, minChunk: 1) { chunk, range in seen.withLock { $0.append((chunk, range)) } }
        let chunks = seen.withLock { $0 }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        #expect(Set(chunks.map(\.chunk)).count == chunks.count)
        #expect(chunks.allSatisfy { $0.chunk >= 0 && $0.chunk < Parallel.threadCount })
        #expect(chunks.count == min(Parallel.threadCount, total))
        #expect(chunks.flatMap { Array($0.range) } == Array(0..<total))
    }

    /// RMSNorm's weight gradient over 1,025 rows of 64 (two chunks on two
    /// cores, an odd count) against a double-precision sum, ten times: the
    /// chunks once shared a partial-sum buffer, and lost updates showed as a
    /// gradient that changed from run to run.
    @Test func rmsNormWeightGradientOverAnOddRowCount() throws {
        let (rows, width) = (1025, 64)
        let x = random([rows, width], seed: 21)
        let weight = random([width], seed: 22)
        let dy = random([rows, width], seed: 23)
        var expected = [Double](repeating: 0, count: width)
        for r in 0..<rows {
            var squares: Double = 0
            for j in 0..<width { squares += Double(x.pointer[r * width + j]) * Double(x.pointer[r * width + j]) }
            let inverse = 1 / (squares / Double(width) + 1e-5).squareRoot()
            for j in 0..<width { expected[j] += Double(dy.pointer[r * width + j]) * Double(x.pointer[r * width + j]) * inverse }
        }
        for _ in 0..<10 {
            let w = Variable(weight.copy(), requiresGrad: true)
            let tape = Tape()
            let y = try tape.rmsNorm(Variable(x), weight: w, eps: 1e-5)
            try tape.backward(tape.sum(tape.mul(y, Variable(dy))))
            let grad = try #require(w.grad)
            for j in 0..<width { #expect(abs(Double(grad.pointer[j]) - expected[j]) <= 1e-3 * max(1, abs(expected[j]))) }
        }
    }
}
