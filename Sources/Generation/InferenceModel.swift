import Engine
import Models

/// A decoder prepared for fast inference: projections that read the same
/// input are fused (q, k, v into one matrix; gate and up into another) and
/// every weight is pre-packed into the GEMM's panel layout once, so decoding
/// streams each weight exactly once per step and prefill runs at GEMM speed.
/// Weights a quantised file stored in blocks `QuantizedMatrix` reads are
/// also kept as codes, which decoding streams instead: a fifth of the bytes.
///
/// `forward` takes any mix of sequences and new-token chunks: a prompt's
/// prefill, one token per sequence in a batched decode step, or a search
/// result appended to an agent's conversation are all the same call.
public final class InferenceModel: @unchecked Sendable {
    struct Layer {
        let attentionNorm: Tensor
        let qkv: Projection
        let qkvBias: Tensor?
        let output: Projection
        let mlpNorm: Tensor
        let gateUp: Projection
        let down: Projection
    }

    public let config: DecoderConfig
    let embedding: Tensor
    let layers: [Layer]
    let finalNorm: Tensor
    let head: Projection
    let rotary: RotaryTable

    /// Copies (and packs) the decoder's weights, so training the decoder
    /// afterwards never leaves this model half old, half new. Enabled LoRA
    /// adapters are applied beside their frozen base weights, not merged
    /// into them: the base keeps the file's codes, which decoding streams at
    /// a fifth of f32's bytes, and its packing. With `previous` (packed from
    /// the same decoder earlier) and a frozen base (LoRA), every base weight
    /// is shared, not copied: an RL step only copies the adapters (the 113 MB
    /// embedding and head of SmolLM2 and every projection would otherwise be
    /// packed again).
    public init(_ decoder: Decoder, reusingFrozenFrom previous: InferenceModel? = nil) throws {
        config = decoder.config
        let reusable = previous.flatMap { previous in
            previous.config == decoder.config && decoder.parameters.allSatisfy { !$0.requiresGrad } ? previous : nil
        }
        func projection(_ parts: [Variable], reusing old: Projection?) throws -> Projection {
            let adapters =
                decoder.adaptersEnabled
                ? try LowRankAdapters(parts.map { decoder.adapters[$0.name] }, outputs: parts.map { $0.shape[0] }) : nil
            if let old { return old.with(adapters) }
            return try Projection(
                parts.map(\.value), blocks: parts.map { decoder.quantizedWeights[$0.name] }, adapters: adapters)
        }
        embedding = reusable?.embedding ?? decoder.embedding.value.copy()
        layers = try decoder.layers.enumerated().map { index, layer in
            let old = reusable?.layers[index]
            let biases = [layer.bq, layer.bk, layer.bv].compactMap { $0?.value }
            return Layer(
                attentionNorm: old?.attentionNorm ?? layer.attentionNorm.value.copy(),
                qkv: try projection([layer.wq, layer.wk, layer.wv], reusing: old?.qkv),
                qkvBias: try old.map(\.qkvBias) ?? (biases.isEmpty ? nil : concatenatingRows(biases)),
                output: try projection([layer.wo], reusing: old?.output),
                mlpNorm: old?.mlpNorm ?? layer.mlpNorm.value.copy(),
                gateUp: try projection([layer.wGate, layer.wUp], reusing: old?.gateUp),
                down: try projection([layer.wDown], reusing: old?.down))
        }
        finalNorm = reusable?.finalNorm ?? decoder.finalNorm.value.copy()
        head = try projection([decoder.outputWeight], reusing: reusable?.head)
        rotary = decoder.rotary
    }

    /// Whether this model holds `other`'s embedding itself, not a copy (what
    /// `reusingFrozenFrom` shares).
    public func sharesFrozenWeights(with other: InferenceModel) -> Bool { embedding.pointer == other.embedding.pointer }

    public var vocabularySize: Int { config.vocabSize }

    /// How many weight matrices (of `layers · 4 + 1`) decode from the file's blocks.
    public var quantizedMatrixCount: Int {
        layers.reduce(head.quantized == nil ? 0 : 1) { count, layer in
            count + [layer.qkv, layer.output, layer.gateUp, layer.down].filter { $0.quantized != nil }.count
        }
    }

    /// An empty cache for one sequence of up to `capacity` tokens (it grows if needed).
    public func makeCache(capacity: Int = 256) -> KVCache {
        KVCache(layers: config.layers, heads: config.kvHeads, headDim: config.headDim, capacity: capacity)
    }

    /// Appends each chunk's tokens to its sequence's cache and returns the
    /// next-token logits after each chunk's last token, `[chunks, vocab]`.
    /// A cache may appear at most once per call.
    public func forward(_ chunks: [(cache: KVCache, tokens: [Int32])]) throws -> Tensor {
        let op = "InferenceModel.forward"
        let d = config.hiddenSize
        let headDim = config.headDim
        let heads = config.heads
        let kvHeads = config.kvHeads
        let kvWidth = kvHeads * headDim
        let qkvWidth = d + 2 * kvWidth
        let ffn = config.intermediateSize
        var starts: [Int] = []
        var positions: [Int32] = []
        var tokens: [Int32] = []
        for (index, chunk) in chunks.enumerated() {
            try require(!chunk.tokens.isEmpty, op, "chunk \(index) has no tokens")
            try require(
                chunk.cache.layers == config.layers && chunk.cache.heads == kvHeads && chunk.cache.headDim == headDim, op,
                "chunk \(index)'s cache was made for another model")
            try require(
                chunk.cache.count + chunk.tokens.count <= config.maxPositions, op,
                "sequence \(index) would reach \(chunk.cache.count + chunk.tokens.count) tokens, past the model's \(config.maxPositions) positions"
            )
            if let bad = chunk.tokens.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
                throw TensorError.invalidArgument(op: op, detail: "token id \(bad) outside the vocabulary 0..<\(config.vocabSize)")
            }
            try require(!chunks[..<index].contains { $0.cache === chunk.cache }, op, "a cache appears twice in one call")
            starts.append(tokens.count)
            positions += (0..<chunk.tokens.count).map { Int32(chunk.cache.count + $0) }
            tokens += chunk.tokens
            chunk.cache.reserve(chunk.tokens.count)
        }
        let m = tokens.count
        let x = Tensor(uninitialized: [m, d])
        for (row, token) in tokens.enumerated() {
            (x.pointer + row * d).update(from: embedding.pointer + Int(token) * d, count: d)
        }
        let normed = Tensor(uninitialized: [m, d])
        let qkv = Tensor(uninitialized: [m, qkvWidth])
        let attended = Tensor(uninitialized: [m, d])
        let gateUp = Tensor(uninitialized: [m, 2 * ffn])
        let activated = Tensor(uninitialized: [m, ffn])

        for (index, layer) in layers.enumerated() {
            rmsNormRows(x.pointer, weight: layer.attentionNorm.pointer, into: normed.pointer, rows: m, width: d, eps: config.rmsNormEps)
            layer.qkv.multiply(m: m, a: normed.pointer, lda: d, c: qkv.pointer, ldc: qkvWidth)
            if let bias = layer.qkvBias { addRowVector(qkv.pointer, rows: m, cols: qkvWidth, bias.pointer) }
            // q heads then k heads lie side by side at the start of each row.
            applyRotary(qkv.pointer, rowStride: qkvWidth, heads: heads + kvHeads, positions: positions, table: rotary)
            for (chunk, start) in zip(chunks, starts) {
                for t in 0..<chunk.tokens.count {
                    let row = qkv.pointer + (start + t) * qkvWidth
                    chunk.cache.store(layer: index, position: chunk.cache.count + t, key: row + d, value: row + d + kvWidth)
                }
            }
            cachedAttention(chunks: chunks, starts: starts, layer: index, qkv: qkv, into: attended)
            layer.output.multiply(m: m, a: attended.pointer, lda: d, beta: 1, c: x.pointer, ldc: d)

            rmsNormRows(x.pointer, weight: layer.mlpNorm.pointer, into: normed.pointer, rows: m, width: d, eps: config.rmsNormEps)
            layer.gateUp.multiply(m: m, a: normed.pointer, lda: d, c: gateUp.pointer, ldc: 2 * ffn)
            siluGate(gateUp.pointer, into: activated.pointer, rows: m, width: ffn)
            layer.down.multiply(m: m, a: activated.pointer, lda: ffn, beta: 1, c: x.pointer, ldc: d)
        }
        for chunk in chunks { chunk.cache.commit(chunk.tokens.count) }

        // Only the last position of each chunk predicts a token we sample.
        let lastRows = Tensor(uninitialized: [chunks.count, d])
        for (c, (chunk, start)) in zip(chunks, starts).enumerated() {
            let last = x.pointer + (start + chunk.tokens.count - 1) * d
            rmsNormRows(last, weight: finalNorm.pointer, into: lastRows.pointer + c * d, rows: 1, width: d, eps: config.rmsNormEps)
        }
        let logits = Tensor(uninitialized: [chunks.count, config.vocabSize])
        head.multiply(m: chunks.count, a: lastRows.pointer, lda: d, c: logits.pointer, ldc: config.vocabSize)
        return logits
    }

    /// Causal attention of every chunk's new queries over its cache (the past
    /// plus the chunk itself, already written), one task per (chunk, head).
    func cachedAttention(chunks: [(cache: KVCache, tokens: [Int32])], starts: [Int], layer: Int, qkv: Tensor, into out: Tensor) {
        let d = config.hiddenSize
        let headDim = config.headDim
        let heads = config.heads
        let kvWidth = config.kvHeads * headDim
        let qkvWidth = d + 2 * kvWidth
        let group = heads / config.kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        let caches = UncheckedSendable(chunks.map(\.cache))
        let lengths = chunks.map(\.tokens.count)
        // Decoding chunks (one token) take one task per KV head, so the query
        // heads that share it read each cached key and value once; prefill
        // chunks take one task per query head.
        if lengths.allSatisfy({ $0 == 1 }) {
            Parallel.forEach(chunks.count * config.kvHeads) { task in
                let c = task / config.kvHeads
                let kvHead = task % config.kvHeads
                let cache = caches.value[c]
                attendOneToken(
                    queries: qkv.pointer + starts[c] * qkvWidth + kvHead * group * headDim,
                    keys: cache.keys(layer: layer, head: kvHead), keyStride: cache.capacity,
                    values: cache.values(layer: layer) + kvHead * headDim, valueStride: kvWidth,
                    count: cache.count + 1, output: out.pointer + starts[c] * d + kvHead * group * headDim,
                    heads: group, headDim: headDim, scale: scale)
            }
            return
        }
        let tasks = chunks.count * heads
        Parallel.forEach(tasks) { task in
            let c = task / heads
            let h = task % heads
            let kvHead = h / group
            let cache = caches.value[c]
            let length = lengths[c]
            let past = cache.count
            let total = past + length
            let keys = cache.keys(layer: layer, head: kvHead)
            let values = cache.values(layer: layer) + kvHead * headDim
            let queries = qkv.pointer + starts[c] * qkvWidth + h * headDim
            let output = out.pointer + starts[c] * d + h * headDim
            if length == 1 {
                attendOneToken(
                    queries: queries, keys: keys, keyStride: cache.capacity, values: values, valueStride: kvWidth,
                    count: total, output: output, heads: 1, headDim: headDim, scale: scale)
                return
            }
            // Query blocks of 64 rows multiply only the keys the block's last row
            // can see, so causal prefill skips about half the square.
            let block = 64
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: min(block, length) * total)
            defer { scores.deallocate() }
            for i0 in stride(from: 0, to: length, by: block) {
                let rows = min(block, length - i0)
                let visibleKeys = past + i0 + rows
                sgemm(
                    transA: false, transB: false, m: rows, n: visibleKeys, k: headDim, alpha: scale,
                    a: queries + i0 * qkvWidth, lda: qkvWidth, b: keys, ldb: cache.capacity, c: scores, ldc: visibleKeys, parallel: false)
                for r in 0..<rows {
                    // Query i0 + r sits at position past + i0 + r and sees keys 0...past + i0 + r.
                    let row = scores + r * visibleKeys
                    let visible = past + i0 + r + 1
                    softmaxInPlace(row, visible)
                    (row + visible).update(repeating: 0, count: visibleKeys - visible)
                }
                sgemm(
                    transA: false, transB: false, m: rows, n: headDim, k: visibleKeys, a: scores, lda: visibleKeys,
                    b: values, ldb: kvWidth, c: output + i0 * d, ldc: d, parallel: false)
            }
        }
    }
}

/// One new token's attention for `heads` consecutive query heads that share
/// a KV head: scores against `count` cached keys (stored transposed, rows
/// `keyStride` apart), softmax, and the weighted sum of value rows
/// (`valueStride` apart), written to consecutive outputs.
func attendOneToken(
    queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, keyStride: Int,
    values: UnsafePointer<Float>, valueStride: Int, count: Int,
    output: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, scale: Float
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: heads * count) { buffer in
        let scores = buffer.baseAddress!
        for j in 0..<heads {
            let query = queries + j * headDim
            let row = scores + j * count
            var t = 0
            while t + 16 <= count {
                var acc = Vec16()
                for i in 0..<headDim {
                    acc = acc.addingProduct(
                        Vec16(repeating: query[i]), UnsafeRawPointer(keys + i * keyStride + t).loadUnaligned(as: Vec16.self))
                }
                UnsafeMutableRawPointer(row + t).storeBytes(of: acc * scale, as: Vec16.self)
                t += 16
            }
            while t < count {
                var sum: Float = 0
                for i in 0..<headDim { sum += query[i] * keys[i * keyStride + t] }
                row[t] = sum * scale
                t += 1
            }
            softmaxInPlace(row, count)
        }
        output.update(repeating: 0, count: heads * headDim)
        for t in 0..<count {
            let value = values + t * valueStride
            for j in 0..<heads { VectorMath.axpy(scores[j * count + t], value, output + j * headDim, headDim) }
        }
    }
}

/// One weight matrix `[N, K]` (the parts' rows stacked), packed for the
/// GEMM and, when every part has file blocks that still reproduce it, as
/// codes for products with few rows; with the parts' LoRA adapters, if any.
struct Projection {
    let packed: PackedMatrix
    let quantized: QuantizedMatrix?
    let adapters: LowRankAdapters?

    /// Up to this many rows of activations (a decode step of up to 16
    /// sequences) the codes are faster: with few rows the product is bound by
    /// the bytes of weight it reads, and codes are a fifth of f32's. With
    /// more rows both are bound by FMAs, and the GEMM's f32 tile needs fewer
    /// per product than decoding codes does (BENCHMARKS.md has the A/B).
    static let quantizedRowLimit = 16

    init(_ parts: [Tensor], blocks: [QuantizedBlocks?], adapters: LowRankAdapters? = nil) throws {
        let weight = parts.count == 1 ? parts[0] : try concatenatingRows(parts)
        packed = try PackedMatrix(weight)
        let fileBlocks = blocks.compactMap { $0 }
        let current =
            fileBlocks.count == parts.count
            && zip(parts, fileBlocks).allSatisfy { part, blocks in
                part.shape == [blocks.rows, blocks.columns] && blocks.reproduces(part.pointer)
            }
        quantized = current ? try QuantizedMatrix(rowsOf: fileBlocks) : nil
        self.adapters = adapters
    }

    private init(packed: PackedMatrix, quantized: QuantizedMatrix?, adapters: LowRankAdapters?) {
        (self.packed, self.quantized, self.adapters) = (packed, quantized, adapters)
    }

    /// The same base weight with other adapters.
    func with(_ adapters: LowRankAdapters?) -> Projection { Projection(packed: packed, quantized: quantized, adapters: adapters) }

    func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let quantized, m <= Self.quantizedRowLimit {
            sgemm(m: m, a: a, lda: lda, quantized: quantized, beta: beta, c: c, ldc: ldc)
        } else {
            sgemm(m: m, a: a, lda: lda, packed: packed, beta: beta, c: c, ldc: ldc)
        }
        adapters?.add(m: m, a: a, lda: lda, k: packed.k, c: c, ldc: ldc)
    }
}

/// The LoRA adapters of a projection's parts, applied beside the base:
/// `c[:, part] += (α/r)·(a·Aᵀ)·Bᵀ`, which is `a·(W + (α/r)·B·A)ᵀ` without
/// touching `W`. Every part reads the same input, so the `A`s are stacked
/// and multiplied once.
struct LowRankAdapters {
    /// Every adapted part's `A`, stacked: `[Σ r, K]`.
    let down: Tensor
    /// Per adapted part: `Bᵀ` `[r_i, N_i]`, its rows of `down`, its columns of the output, its scale.
    let parts: [(upTransposed: Tensor, ranks: Range<Int>, outputs: Range<Int>, scale: Float)]

    /// Copies of the parts' adapters (nil: a part without one, `outputs`
    /// rows of the stacked weight), or nil if no part has one.
    init?(_ adapters: [LoRAAdapter?], outputs: [Int]) throws {
        guard adapters.contains(where: { $0 != nil }) else { return nil }
        var downs: [Tensor] = []
        var parts: [(upTransposed: Tensor, ranks: Range<Int>, outputs: Range<Int>, scale: Float)] = []
        var rank = 0
        var output = 0
        for (adapter, rows) in zip(adapters, outputs) {
            defer { output += rows }
            guard let adapter else { continue }
            let r = adapter.a.shape[0]
            let upTransposed = Tensor(uninitialized: [r, rows])
            for n in 0..<rows {
                for j in 0..<r { upTransposed.pointer[j * rows + n] = adapter.b.value.pointer[n * r + j] }
            }
            downs.append(adapter.a.value)
            parts.append((upTransposed, rank..<rank + r, output..<output + rows, adapter.scale))
            rank += r
        }
        down = try concatenatingRows(downs)
        self.parts = parts
    }

    func add(m: Int, a: UnsafePointer<Float>, lda: Int, k: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let rank = down.shape[0]
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m * rank) { projected in
            let u = projected.baseAddress!
            sgemm(transA: false, transB: true, m: m, n: rank, k: k, a: a, lda: lda, b: down.pointer, ldb: k, c: u, ldc: rank)
            for part in parts {
                let n = part.outputs.count
                let out = c + part.outputs.lowerBound
                if m <= Projection.quantizedRowLimit {
                    // A decode step: r row updates per sequence, each a
                    // vector op, instead of N dot products of length r.
                    for i in 0..<m {
                        for (j, row) in part.ranks.enumerated() {
                            VectorMath.axpy(part.scale * u[i * rank + row], part.upTransposed.pointer + j * n, out + i * ldc, n)
                        }
                    }
                } else {
                    sgemm(
                        transA: false, transB: false, m: m, n: n, k: part.ranks.count, alpha: part.scale,
                        a: u + part.ranks.lowerBound, lda: rank, b: part.upTransposed.pointer, ldb: n, beta: 1, c: out, ldc: ldc)
                }
            }
        }
    }
}

/// Stacks 2-D tensors (or 1-D biases) with the same row width.
func concatenatingRows(_ parts: [Tensor]) throws -> Tensor {
    let width = parts[0].rank == 2 ? parts[0].shape[1] : 1
    try require(parts.allSatisfy { ($0.rank == 2 ? $0.shape[1] : 1) == width }, "concatenatingRows", "row widths differ")
    let rows = parts.reduce(0) { $0 + $1.count / width }
    let result = Tensor(uninitialized: parts[0].rank == 2 ? [rows, width] : [rows])
    var offset = 0
    for part in parts {
        (result.pointer + offset).update(from: part.pointer, count: part.count)
        offset += part.count
    }
    return result
}

/// `out[r] = silu(gate[r]) ⊙ up[r]` where each input row is `[gate | up]`.
func siluGate(_ gateUp: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    let destination = UncheckedSendable(out)
    Parallel.forRanges(rows, minChunk: max(1, 16384 / max(width, 1))) { range in
        for r in range {
            let gate = gateUp + r * 2 * width
            VectorMath.siluMul(gate, gate + width, into: destination.value + r * width, count: width)
        }
    }
}
