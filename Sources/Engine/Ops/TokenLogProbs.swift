import Foundation

/// The language-model head fused with log-softmax: for each position, the
/// log-probability of a given token and the entropy of the distribution,
/// without ever holding the full `[N, vocab]` logits.
///
/// `logits = hidden · Wᵀ / temperature` is computed in blocks of up to 1024
/// positions × 4096 vocabulary entries (16 MB). Each vocabulary chunk updates
/// a running max `m`, `s = Σ e^{z−m}` and `u = Σ e^{z−m}·z` per position (the
/// online log-sum-exp), so `log Z = m + log s`, `log p(y) = z_y − log Z` and
/// `H = log Z − u/s`. Backward recomputes each chunk's logits and applies
/// `dz = g_lp·(1[y] − p) − g_H·p·(z − E[z])`, then `d hidden += dz·W/τ` and
/// `dW += dzᵀ·hidden/τ`. This is what RL needs for the policy, the old policy
/// and the reference model over thousands of tokens with a 49k–152k vocabulary.
public struct TokenLogProbs {
    public let logProbs: Variable  // [N]
    public let entropy: Variable  // [N]
}

extension Tape {
    public func tokenLogProbs(hidden: Variable, weight: Variable, targets: [Int32], temperature: Float = 1) throws -> TokenLogProbs {
        let op = "tokenLogProbs"
        try check(
            hidden.value.rank == 2 && weight.value.rank == 2 && hidden.shape[1] == weight.shape[1], op,
            "hidden \(describe(hidden.shape)) and weight \(describe(weight.shape)) must be [N, d] and [vocab, d]")
        let n = hidden.shape[0]
        let dim = hidden.shape[1]
        let vocab = weight.shape[0]
        try check(targets.count == n, op, "\(targets.count) targets for \(n) positions")
        try require(temperature > 0, op, "temperature must be positive, got \(temperature)")
        if let bad = targets.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw TensorError.invalidArgument(op: op, detail: "target id \(bad) outside vocabulary of \(vocab)")
        }
        let head = LMHeadChunks(n: n, dim: dim, vocab: vocab, inverseTemperature: 1 / temperature)
        let logProbs = Tensor(zeros: [n])
        let entropy = Tensor(zeros: [n])
        let logZ = Tensor(zeros: [n])
        let meanLogit = Tensor(zeros: [n])
        head.forward(
            hidden: hidden.value, weight: weight.value, targets: targets,
            logProbs: logProbs, entropy: entropy, logZ: logZ, meanLogit: meanLogit)

        // One computation, two outputs: the entropy's entry (unwound first)
        // parks its gradient; the log-prob's entry runs the shared backward.
        let parked = GradientSlot()
        let lp = output(logProbs, inputs: [hidden, weight]) { gLogProbs in
            head.backward(
                hidden: hidden, weight: weight, targets: targets, logZ: logZ, meanLogit: meanLogit,
                gLogProbs: gLogProbs, gEntropy: parked.value)
        }
        let h = output(entropy, inputs: [hidden, weight]) { gEntropy in
            parked.value = gEntropy
            if lp.grad == nil { lp.accumulate(Tensor(zeros: [n])) }
        }
        return TokenLogProbs(logProbs: lp, entropy: h)
    }

    /// Mean next-token cross-entropy through the fused head.
    public func crossEntropy(hidden: Variable, weight: Variable, targets: [Int32]) throws -> Variable {
        let result = try tokenLogProbs(hidden: hidden, weight: weight, targets: targets)
        return try scale(sum(result.logProbs), -1 / Float(max(targets.count, 1)))
    }

    /// Mean cross-entropy from explicit logits `[N, vocab]`.
    public func crossEntropy(logits: Variable, targets: [Int32]) throws -> Variable {
        let picked = try gatherLastAxis(logSoftmax(logits), indices: targets)
        return try scale(sum(picked), -1 / Float(max(targets.count, 1)))
    }
}

final class GradientSlot { var value: Tensor? }

struct LMHeadChunks {
    let n, dim, vocab: Int
    let inverseTemperature: Float
    let rowBlock = 1024
    let vocabChunk = 4096

    func forward(
        hidden: Tensor, weight: Tensor, targets: [Int32],
        logProbs: Tensor, entropy: Tensor, logZ: Tensor, meanLogit: Tensor
    ) {
        withScratch(min(rowBlock, n) * min(vocabChunk, vocab)) { logits in
            for r0 in stride(from: 0, to: n, by: rowBlock) {
                let rows = min(rowBlock, n - r0)
                // Online log-sum-exp state per position: max m, Σe^{z−m}, Σe^{z−m}·z, target logit.
                let runMax = Tensor(repeating: -.infinity, shape: [rows])
                let runSum = Tensor(zeros: [rows])
                let runDot = Tensor(zeros: [rows])
                let targetLogit = Tensor(zeros: [rows])
                for v0 in stride(from: 0, to: vocab, by: vocabChunk) {
                    let cols = min(vocabChunk, vocab - v0)
                    chunkLogits(hidden, weight, r0, rows, v0, cols, into: logits)
                    let box = UncheckedSendable(logits)
                    Parallel.forRanges(rows, minChunk: 16) { range in
                        let mx = runMax.pointer
                        let sm = runSum.pointer
                        let dt = runDot.pointer
                        for r in range {
                            let z = box.value + r * cols
                            let newMax = max(mx[r], VectorMath.max(z, cols))
                            let rescale = mx[r] == -.infinity ? 0 : Foundation.exp(mx[r] - newMax)
                            var s = Vec16()
                            var u = Vec16()
                            var j = 0
                            let m = Vec16(repeating: newMax)
                            while j + 16 <= cols {
                                let zv = load16(z + j)
                                let e = VectorMath.exp(zv - m)
                                s += e
                                u = u.addingProduct(e, zv)
                                j += 16
                            }
                            var sTail = s.sum()
                            var uTail = u.sum()
                            while j < cols {
                                let e = Foundation.exp(z[j] - newMax)
                                sTail += e
                                uTail += e * z[j]
                                j += 1
                            }
                            sm[r] = sm[r] * rescale + sTail
                            dt[r] = dt[r] * rescale + uTail
                            mx[r] = newMax
                            let y = Int(targets[r0 + r]) - v0
                            if y >= 0 && y < cols { targetLogit.pointer[r] = z[y] }
                        }
                    }
                }
                for r in 0..<rows {
                    let lz = runMax.pointer[r] + Foundation.log(runSum.pointer[r])
                    let expected = runDot.pointer[r] / runSum.pointer[r]
                    logZ.pointer[r0 + r] = lz
                    meanLogit.pointer[r0 + r] = expected
                    logProbs.pointer[r0 + r] = targetLogit.pointer[r] - lz
                    entropy.pointer[r0 + r] = lz - expected
                }
            }
        }
    }

    func backward(
        hidden: Variable, weight: Variable, targets: [Int32], logZ: Tensor, meanLogit: Tensor,
        gLogProbs: Tensor, gEntropy: Tensor?
    ) {
        let dHidden = hidden.requiresGrad ? Tensor(zeros: hidden.shape) : nil
        let dWeight = weight.requiresGrad ? (weight.isLeaf ? weight.gradBuffer() : Tensor(zeros: weight.shape)) : nil
        withScratch(min(rowBlock, n) * min(vocabChunk, vocab)) { logits in
            for r0 in stride(from: 0, to: n, by: rowBlock) {
                let rows = min(rowBlock, n - r0)
                for v0 in stride(from: 0, to: vocab, by: vocabChunk) {
                    let cols = min(vocabChunk, vocab - v0)
                    chunkLogits(hidden.value, weight.value, r0, rows, v0, cols, into: logits)
                    let box = UncheckedSendable(logits)
                    // Turn the chunk's logits into dL/dz in place.
                    Parallel.forRanges(rows, minChunk: 16) { range in
                        for r in range {
                            let z = box.value + r * cols
                            let gl = gLogProbs.pointer[r0 + r]
                            let gh = gEntropy?.pointer[r0 + r] ?? 0
                            let lz = Vec16(repeating: logZ.pointer[r0 + r])
                            let ez = Vec16(repeating: meanLogit.pointer[r0 + r])
                            var j = 0
                            while j < cols {
                                let w = min(16, cols - j)
                                let zv = load16(z + j, width: w)
                                let p = VectorMath.exp(zv - lz)
                                store16(-(p * gl) - p * (zv - ez) * gh, z + j, width: w)
                                j += w
                            }
                            let y = Int(targets[r0 + r]) - v0
                            if y >= 0 && y < cols { z[y] += gl }
                        }
                    }
                    if let dHidden {
                        sgemm(
                            transA: false, transB: false, m: rows, n: dim, k: cols, alpha: inverseTemperature,
                            a: logits, lda: cols, b: weight.value.pointer + v0 * dim, ldb: dim,
                            beta: 1, c: dHidden.pointer + r0 * dim, ldc: dim)
                    }
                    if let dWeight {
                        sgemm(
                            transA: true, transB: false, m: cols, n: dim, k: rows, alpha: inverseTemperature,
                            a: logits, lda: cols, b: hidden.value.pointer + r0 * dim, ldb: dim,
                            beta: 1, c: dWeight.pointer + v0 * dim, ldc: dim)
                    }
                }
            }
        }
        if let dHidden { hidden.accumulate(dHidden) }
        if let dWeight, !weight.isLeaf { weight.accumulate(dWeight) }
    }

    func chunkLogits(
        _ hidden: Tensor, _ weight: Tensor, _ r0: Int, _ rows: Int, _ v0: Int, _ cols: Int,
        into logits: UnsafeMutablePointer<Float>
    ) {
        sgemm(
            transA: false, transB: true, m: rows, n: cols, k: dim, alpha: inverseTemperature,
            a: hidden.pointer + r0 * dim, lda: dim, b: weight.pointer + v0 * dim, ldb: dim, c: logits, ldc: cols)
    }
}
