import Engine
import Testing

/// Every differentiable op's tape gradient against finite differences.
@Suite struct GradientCheckTests {
    @Test func linearWithBias() throws {
        try checkGradients([random([5, 7], seed: 1), random([6, 7], seed: 2), random([6], seed: 3)]) { t, v in
            try t.linear(v[0], v[1], bias: v[2])
        }
    }

    @Test func linearLargeEnoughForThePackedPathAndBothCores() throws {
        try checkGradients([random([40, 300], seed: 4, std: 0.3), random([70, 300], seed: 5, std: 0.3)], probes: 12) { t, v in
            try t.linear(v[0], v[1])
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func batchedMatmul(transposeA: Bool, transposeB: Bool) throws {
        let a = random(transposeA ? [2, 4, 3] : [2, 3, 4], seed: 6)
        let b = random(transposeB ? [2, 5, 4] : [2, 4, 5], seed: 7)
        try checkGradients([a, b]) { t, v in try t.matmul(v[0], v[1], transposeA: transposeA, transposeB: transposeB) }
    }

    @Test func embeddingWithRepeatedIds() throws {
        try checkGradients([random([6, 4], seed: 8)]) { t, v in try t.embedding(v[0], ids: [1, 5, 1, 0]) }
    }

    @Test func rmsNorm() throws {
        try checkGradients([random([3, 4, 16], seed: 9), random([16], seed: 10)]) { t, v in
            try t.rmsNorm(v[0], weight: v[1], eps: 1e-5)
        }
    }

    @Test func rotaryEmbedding() throws {
        let table = try RotaryTable(headDim: 8, maxPosition: 16, theta: 10000)
        try checkGradients([random([2, 3, 2, 8], seed: 11)]) { t, v in
            try t.rope(v[0], positions: [0, 1, 2, 5, 6, 7], table: table)
        }
    }

    @Test func causalGroupedQueryAttentionWithPadding() throws {
        let q = random([2, 5, 4, 8], seed: 12)
        let k = random([2, 5, 2, 8], seed: 13)
        let v = random([2, 5, 2, 8], seed: 14)
        let valid = [true, true, true, true, true, false, false, true, true, true]
        try checkGradients([q, k, v], probes: 40) { t, x in try t.attention(q: x[0], k: x[1], v: x[2], keyValid: valid) }
    }

    /// A row packed as a prefix and two branches (then padding), beside an
    /// ordinary row: each branch reads the prefix and itself only.
    @Test func attentionWithASharedPrefix() throws {
        let q = random([2, 9, 4, 8], seed: 21)
        let k = random([2, 9, 2, 8], seed: 22)
        let v = random([2, 9, 2, 8], seed: 23)
        let valid = (0..<18).map { $0 != 8 }
        let layouts = [SharedPrefix(length: 3, branches: [3..<6, 6..<8]), SharedPrefix(length: 9)]
        try checkGradients([q, k, v], probes: 40) { t, x in
            try t.attention(q: x[0], k: x[1], v: x[2], keyValid: valid, sharedPrefixes: layouts)
        }
    }

    /// The packed row's branches give what the prefix and each branch give
    /// as rows of their own.
    @Test func sharedPrefixAttentionIsSeparateRows() throws {
        let (heads, kvHeads, dim) = (4, 2, 8)
        let packed = (
            q: random([1, 8, heads, dim], seed: 24), k: random([1, 8, kvHeads, dim], seed: 25), v: random([1, 8, kvHeads, dim], seed: 26)
        )
        let branches = [3..<6, 6..<8]
        let out = try Tape.inference.attention(
            q: Variable(packed.q), k: Variable(packed.k), v: Variable(packed.v),
            sharedPrefixes: [SharedPrefix(length: 3, branches: branches)]
        ).value.scalars
        for branch in branches {
            let tokens = Array(0..<3) + Array(branch)
            func rows(_ tensor: Tensor, _ width: Int) throws -> Variable {
                Variable(
                    try Tensor(
                        shape: [1, tokens.count, tensor.shape[2], dim],
                        values: tokens.flatMap { tensor.scalars[$0 * width..<($0 + 1) * width] }))
            }
            let alone = try Tape.inference.attention(
                q: rows(packed.q, heads * dim), k: rows(packed.k, kvHeads * dim), v: rows(packed.v, kvHeads * dim)
            ).value.scalars
            let width = heads * dim
            for (i, token) in tokens.enumerated() {
                let got = out[token * width..<(token + 1) * width]
                let want = alone[i * width..<(i + 1) * width]
                #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-5 }, "token \(token)")
            }
        }
    }

    /// The merged LoRA product, every input trained (the base weight and bias too).
    @Test func loraLinear() throws {
        try checkGradients(
            [
                random([5, 6], seed: 27), random([4, 6], seed: 28), random([2, 6], seed: 29), random([4, 2], seed: 30),
                random([4], seed: 31),
            ]
        ) { t, v in
            try t.loraLinear(v[0], v[1], a: v[2], b: v[3], scale: 1.5, bias: v[4])
        }
    }

    @Test func siluMul() throws {
        try checkGradients([random([3, 20], seed: 15), random([3, 20], seed: 16)]) { t, v in try t.siluMul(v[0], v[1]) }
    }

    @Test func softmaxAndLogSoftmax() throws {
        try checkGradients([random([4, 10], seed: 17, std: 2)]) { t, v in try t.softmax(v[0]) }
        try checkGradients([random([4, 10], seed: 18, std: 2)]) { t, v in try t.logSoftmax(v[0]) }
    }

    @Test func gatherAndCrossEntropyFromLogits() throws {
        try checkGradients([random([4, 6], seed: 19)]) { t, v in try t.gatherLastAxis(v[0], indices: [0, 5, 2, 2]) }
        try checkGradients([random([4, 6], seed: 20)]) { t, v in try t.crossEntropy(logits: v[0], targets: [0, 5, 2, 2]) }
    }

    /// A vocabulary of 4100 spans two 4096-wide chunks of the fused head.
    @Test(arguments: [Float(1), Float(0.7)])
    func tokenLogProbsAndEntropyAcrossVocabularyChunks(temperature: Float) throws {
        let hidden = random([3, 8], seed: 21)
        let weight = random([4100, 8], seed: 22, std: 0.5)
        let targets: [Int32] = [4099, 7, 4096]
        try checkGradients([hidden, weight], probes: 16) { t, v in
            try t.tokenLogProbs(hidden: v[0], weight: v[1], targets: targets, temperature: temperature).logProbs
        }
        try checkGradients([hidden, weight], probes: 16) { t, v in
            try t.tokenLogProbs(hidden: v[0], weight: v[1], targets: targets, temperature: temperature).entropy
        }
        // Both outputs in one loss share one backward pass.
        try checkGradients([hidden, weight], probes: 16) { t, v in
            let r = try t.tokenLogProbs(hidden: v[0], weight: v[1], targets: targets, temperature: temperature)
            return try t.add(r.logProbs, t.scale(r.entropy, 0.3))
        }
    }

    @Test func elementwiseLossMaths() throws {
        let a = random([3, 5], seed: 23)
        let b = random([3, 5], seed: 24)
        try checkGradients([a, b]) { t, v in try t.add(v[0], v[1]) }
        try checkGradients([a, b]) { t, v in try t.sub(v[0], v[1]) }
        try checkGradients([a, b]) { t, v in try t.mul(v[0], v[1]) }
        try checkGradients([a]) { t, v in try t.mul(v[0], v[0]) }
        try checkGradients([a]) { t, v in try t.exp(v[0]) }
        try checkGradients([a]) { t, v in try t.scale(t.addScalar(v[0], 2), -3) }
        let positive = try Tensor(shape: a.shape, values: a.scalars.map { abs($0) + 0.5 })
        try checkGradients([positive]) { t, v in try t.log(v[0]) }
    }

    /// Kinks are kept further than the probe step from every input.
    @Test func minimumMaximumAndClamp() throws {
        let a = try Tensor(shape: [6], values: [-2, -0.5, 0.3, 1.2, 2.5, -1.4])
        let b = try Tensor(shape: [6], values: [-1, 0.4, -0.6, 1.5, 2.0, -1.2])
        try checkGradients([a, b]) { t, v in try t.minimum(v[0], v[1]) }
        try checkGradients([a, b]) { t, v in try t.maximum(v[0], v[1]) }
        try checkGradients([a]) { t, v in try t.clamp(v[0], min: -1, max: 1) }
    }

    @Test func reductionsAndMasks() throws {
        let a = random([3, 4], seed: 25)
        let mask = try Tensor(shape: [3, 4], values: [1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1])
        try checkGradients([a]) { t, v in try t.sum(v[0]) }
        try checkGradients([a]) { t, v in try t.mean(v[0]) }
        try checkGradients([a]) { t, v in try t.sumLastAxis(v[0]) }
        try checkGradients([a]) { t, v in try t.maskedSum(v[0], mask: mask) }
        try checkGradients([a]) { t, v in try t.maskedMean(v[0], mask: mask) }
    }

    @Test func reshapeAndSelectRows() throws {
        try checkGradients([random([2, 6], seed: 26)]) { t, v in try t.reshape(v[0], [3, 4]) }
        try checkGradients([random([4, 3], seed: 27)]) { t, v in try t.selectRows(v[0], [3, 0, 3]) }
    }
}
