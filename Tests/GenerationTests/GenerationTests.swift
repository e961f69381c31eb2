import Engine
import Foundation
import Generation
import Models
import Testing

/// The KV-cache inference path against the tape forward pass (which
/// ModelsTests checks against transformers), and the generation loop.
@Suite struct GenerationTests {
    static let config = DecoderConfig(
        vocabSize: 40, hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, kvHeads: 2,
        ropeTheta: 10000, rmsNormEps: 1e-5, maxPositions: 256, tieEmbeddings: false, attentionBias: true)
    nonisolated(unsafe) static let decoder = try! Decoder(config: config, seed: 11, std: 0.3)
    static let model = try! InferenceModel(decoder)

    /// Logits for every position of one sequence from the tape forward pass.
    static func referenceLogits(_ tokens: [Int32]) throws -> Tensor {
        let tape = Tape.inference
        let hidden = try decoder.hiddenStates(tokens: tokens, batch: 1, tape: tape)
        return try tape.linear(hidden, decoder.outputWeight).value
    }

    static func expectClose(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int, _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var gap: Float = 0
        for i in 0..<n { gap = max(gap, abs(a[i] - b[i])) }
        #expect(gap < 1e-4, "\(label): max |Δ| \(gap)", sourceLocation: sourceLocation)
    }

    /// Prefill in uneven pieces, then one token at a time, with two other
    /// sequences in the same calls: every step's logits equal the full
    /// forward pass's at that position.
    @Test func cachedStepsMatchTheFullForwardPass() throws {
        let tokens: [Int32] = [3, 17, 22, 5, 39, 0, 12, 8, 8, 31, 2, 19, 7]
        let full = try Self.referenceLogits(tokens)
        let others = [Self.model.makeCache(), Self.model.makeCache(capacity: 1)]
        let cache = Self.model.makeCache(capacity: 2)
        var position = 0
        for piece in [5, 1, 3, 1, 1, 1, 1] {
            let chunk = Array(tokens[position..<position + piece])
            let logits = try Self.model.forward([(others[0], [1, 2]), (cache, chunk), (others[1], [4])])
            position += piece
            Self.expectClose(
                logits.pointer + Self.config.vocabSize, full.pointer + (position - 1) * Self.config.vocabSize,
                Self.config.vocabSize, "after \(position) tokens")
        }
        #expect(cache.count == tokens.count)
    }

    /// A long prompt after a short past spans several of attention's 64-row
    /// query blocks; every block sees exactly its causal keys.
    @Test func longPrefillAfterAPastMatchesTheFullForwardPass() throws {
        var rng = RandomGenerator(seed: 4)
        let tokens = (0..<200).map { _ in Int32(rng.next() % UInt64(Self.config.vocabSize)) }
        let full = try Self.referenceLogits(tokens)
        let cache = Self.model.makeCache()
        let v = Self.config.vocabSize
        _ = try Self.model.forward([(cache, Array(tokens[..<30]))])
        let logits = try Self.model.forward([(cache, Array(tokens[30..<170]))])
        Self.expectClose(logits.pointer, full.pointer + 169 * v, v, "after 170 tokens")
        let last = try Self.model.forward([(cache, Array(tokens[170...]))])
        Self.expectClose(last.pointer, full.pointer + 199 * v, v, "after 200 tokens")
    }

    @Test func greedyDecodingFollowsTheArgmaxOfTheFullForwardPass() throws {
        let prompt: [Int32] = [5, 9, 2]
        let sequence = TokenSequence(tokens: prompt, model: Self.model)
        let out = try generate(
            [GenerationRequest(sequence: sequence)], model: Self.model,
            parameters: GenerationParameters(maxNewTokens: 10, sampling: .greedy))[0]
        #expect(out.tokens.count == 10 && out.finishReason == .length)
        let logits = try Self.referenceLogits(prompt + out.tokens)
        let v = Self.config.vocabSize
        for (i, token) in out.tokens.enumerated() {
            let row = logits.pointer + (prompt.count - 1 + i) * v
            let best = (0..<v).max { row[$0] < row[$1] }!
            #expect(Int(token) == best, "step \(i)")
            let logSumExp = Foundation.log((0..<v).map { Foundation.exp(Double(row[$0] - row[best])) }.reduce(0, +)) + Double(row[best])
            #expect(abs(out.logProbs[i] - Float(Double(row[best]) - logSumExp)) < 1e-4)
        }
    }

    /// Rows of different lengths batched together produce exactly what each
    /// produces alone (greedy and seeded sampling), and rows stop on their own.
    @Test func batchedRowsEqualSeparateRuns() throws {
        let prompts: [[Int32]] = [[1, 2, 3, 4, 5, 6, 7], [9], [30, 31, 32]]
        for sampling in [SamplingParameters.greedy, SamplingParameters(temperature: 0.8, topK: 12, topP: 0.9)] {
            let parameters = GenerationParameters(maxNewTokens: 6, sampling: sampling, seed: 42)
            let limits = [6, 2, 4]
            let batched = try generate(
                zip(prompts, limits).map { GenerationRequest(sequence: TokenSequence(tokens: $0, model: Self.model), maxNewTokens: $1) },
                model: Self.model, parameters: parameters)
            for (i, prompt) in prompts.enumerated() {
                var alone = parameters
                alone.seed = parameters.seed + UInt64(i)
                let single = try generate(
                    [GenerationRequest(sequence: TokenSequence(tokens: prompt, model: Self.model), maxNewTokens: limits[i])],
                    model: Self.model, parameters: alone)[0]
                #expect(batched[i].tokens == single.tokens, "row \(i) \(sampling)")
                #expect(batched[i].tokens.count == limits[i])
                for (a, b) in zip(batched[i].logProbs, single.logProbs) { #expect(abs(a - b) < 1e-5) }
            }
        }
    }

    /// A sequence that joins a decoding batch while others are mid-way
    /// (with a long prompt, read over several passes under a small prefill
    /// budget) writes what it writes alone, and so do the others; each step
    /// returns the generations that ended in it.
    @Test func joiningMidBatchChangesNothing() throws {
        let parameters = GenerationParameters(sampling: SamplingParameters(temperature: 0.9), prefillChunk: 5)
        func alone(_ prompt: [Int32], limit: Int, seed: UInt64) throws -> Completion {
            let batch = try DecodingBatch<Int>(model: Self.model, parameters: parameters)
            try batch.add(TokenSequence(tokens: prompt, model: Self.model), id: 0, maxNewTokens: limit, seed: seed)
            return try #require(try batch.finishAll()[0])
        }
        let prompts: [[Int32]] = [[3, 4, 5], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], [7]]
        let limits = [9, 5, 3]
        let batch = try DecodingBatch<Int>(model: Self.model, parameters: parameters)
        var finished: [Int: Completion] = [:]
        var endedAt: [Int: Int] = [:]
        for step in 0..<40 where !(step > 0 && batch.isEmpty) {
            // The second arrives at step 2, the third at step 4.
            for (i, arrival) in [0, 2, 4].enumerated() where arrival == step {
                try batch.add(TokenSequence(tokens: prompts[i], model: Self.model), id: i, maxNewTokens: limits[i], seed: 100 + UInt64(i))
            }
            for (id, completion) in try batch.step() {
                finished[id] = completion
                endedAt[id] = step
            }
        }
        for i in prompts.indices {
            let reference = try alone(prompts[i], limit: limits[i], seed: 100 + UInt64(i))
            #expect(finished[i]?.tokens == reference.tokens, "row \(i)")
            for (a, b) in zip(finished[i]?.logProbs ?? [], reference.logProbs) { #expect(abs(a - b) < 1e-5) }
        }
        // Row 1's 12 prompt tokens take three passes of at most 5, then 5 tokens.
        #expect(endedAt[1] == 2 + 2 + 4)
    }

    /// Copies of one prompt (a GRPO group) are read once, and each still
    /// writes what it writes alone with its own seed; a different prompt
    /// beside them is read as usual.
    @Test func identicalPromptsAreReadOnce() throws {
        let parameters = GenerationParameters(sampling: SamplingParameters(temperature: 1))
        let prompt: [Int32] = [5, 6, 7, 8, 9, 10]
        let batch = try DecodingBatch<Int>(model: Self.model, parameters: parameters)
        for i in 0..<4 { try batch.add(TokenSequence(tokens: prompt, model: Self.model), id: i, maxNewTokens: 6, seed: 50 + UInt64(i)) }
        try batch.add(TokenSequence(tokens: [3, 4], model: Self.model), id: 4, maxNewTokens: 6, seed: 54)
        let together = try batch.finishAll()
        // One prompt of 6 and one of 2, then 5 decode steps of the 5 rows.
        #expect(batch.tokensRead == 6 + 2 + 5 * 5)
        var distinct = Set<[Int32]>()
        for i in 0..<5 {
            let alone = try DecodingBatch<Int>(model: Self.model, parameters: parameters)
            try alone.add(TokenSequence(tokens: i < 4 ? prompt : [3, 4], model: Self.model), id: 0, maxNewTokens: 6, seed: 50 + UInt64(i))
            let reference = try #require(try alone.finishAll()[0])
            #expect(together[i]?.tokens == reference.tokens, "row \(i)")
            for (a, b) in zip(together[i]?.logProbs ?? [], reference.logProbs) { #expect(abs(a - b) < 1e-5) }
            distinct.insert(reference.tokens)
        }
        #expect(distinct.count > 1, "the copies sample apart")
    }

    /// Appending text to a finished sequence and generating again continues
    /// exactly as if the whole text had been the prompt.
    @Test func continuingASequenceEqualsStartingFromItsWholeText() throws {
        let parameters = GenerationParameters(maxNewTokens: 4, sampling: .greedy)
        let sequence = TokenSequence(tokens: [7, 8, 9], model: Self.model)
        _ = try generate([GenerationRequest(sequence: sequence)], model: Self.model, parameters: parameters)
        sequence.append([20, 21])
        let continued = try generate([GenerationRequest(sequence: sequence)], model: Self.model, parameters: parameters)[0]
        let fresh = try generate(
            [GenerationRequest(sequence: TokenSequence(tokens: Array(sequence.tokens.dropLast(4)), model: Self.model))],
            model: Self.model, parameters: parameters)[0]
        #expect(continued.tokens == fresh.tokens)
    }

    @Test func stopTokensAndStopStringsEndRows() throws {
        let letters = (0..<Self.config.vocabSize).map { String(UnicodeScalar(UInt8(97 + $0 % 26))) }
        let decode: ([Int32]) -> String = { $0.map { letters[Int($0)] }.joined() }
        let greedy = GenerationParameters(maxNewTokens: 12, sampling: .greedy)
        let free = try generate(
            [GenerationRequest(sequence: TokenSequence(tokens: [3, 4], model: Self.model))],
            model: Self.model, parameters: greedy)[0]
        // Stop at the third token's id, and at the text of tokens 4–5 (a string spanning two tokens).
        var byToken = greedy
        byToken.stopTokens = [free.tokens[2]]
        let stoppedByToken = try generate(
            [GenerationRequest(sequence: TokenSequence(tokens: [3, 4], model: Self.model))],
            model: Self.model, parameters: byToken)[0]
        let firstHit = free.tokens.firstIndex(of: free.tokens[2])!
        #expect(stoppedByToken.tokens == Array(free.tokens[...firstHit]))
        #expect(stoppedByToken.finishReason == .stopToken(free.tokens[2]))

        var byString = greedy
        let stop = decode(Array(free.tokens[4...5]))
        byString.stopStrings = [stop]
        let stoppedByString = try generate(
            [GenerationRequest(sequence: TokenSequence(tokens: [3, 4], model: Self.model))],
            model: Self.model, parameters: byString, decode: decode)[0]
        #expect(decode(stoppedByString.tokens).hasSuffix(stop))
        #expect(stoppedByString.tokens.count <= 6)
        #expect(stoppedByString.finishReason == .stopString(stop))
    }

    /// Sampling draws only from the nucleus / top-k set, and in proportion.
    @Test func samplerRespectsTopKAndTopP() throws {
        let logits: [Float] = [2.0, 1.0, 0.5, 0.0, -1.0, -3.0]
        var rng = RandomGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: logits.count)
        let draws = 20000
        for _ in 0..<draws {
            let t = sampleToken(logits, count: logits.count, parameters: SamplingParameters(temperature: 1, topP: 0.8), rng: &rng)
            counts[Int(t.token)] += 1
        }
        // Probabilities: 0.574, 0.211, 0.128, 0.078, … → the 0.8 nucleus is {0, 1, 2}.
        #expect(counts[3...].allSatisfy { $0 == 0 }, "\(counts)")
        let p = logits.map { Foundation.exp(Double($0)) }
        let z = p[0] + p[1] + p[2]
        for i in 0..<3 { #expect(abs(Double(counts[i]) / Double(draws) - p[i] / z) < 0.015, "token \(i): \(counts)") }
        for _ in 0..<200 {
            let t = sampleToken(logits, count: logits.count, parameters: SamplingParameters(temperature: 2, topK: 2), rng: &rng)
            #expect(t.token < 2)
            let expected = Double(logits[Int(t.token)] / 2) - Foundation.log(logits.map { Foundation.exp(Double($0 / 2)) }.reduce(0, +))
            #expect(abs(Double(t.logProb) - expected) < 1e-5)
        }
        let full = (0..<5000).map { _ in sampleToken(logits, count: logits.count, parameters: SamplingParameters(), rng: &rng).token }
        #expect(full.contains(5))
    }

    /// With LoRA, a step's packed model reuses the last one's frozen parts
    /// and packs only the adapted projections, and computes what a fresh pack
    /// computes after the adapters moved (on or off).
    @Test func repackingReusesFrozenWeightsAndMatchesAFreshPack() throws {
        let decoder = try Decoder(config: Self.config, seed: 11, std: 0.3)
        try decoder.attachLoRA(LoRAConfig(rank: 2, alpha: 4, targets: ["q_proj", "down_proj"], layers: 1), seed: 1)
        let first = try InferenceModel(decoder)
        var rng = RandomGenerator(seed: 6)
        for parameter in decoder.adapterParameters {
            let values = rng.normalTensor(parameter.shape, std: 0.3)
            withExtendedLifetime(values) { parameter.value.pointer.update(from: values.pointer, count: values.count) }
        }
        let tokens: [Int32] = [3, 17, 22, 5, 39, 0, 12]
        func logits(_ model: InferenceModel) throws -> [Float] { try model.forward([(model.makeCache(), tokens)]).scalars }
        for enabled in [true, false, true] {
            decoder.adaptersEnabled = enabled
            let reused = try InferenceModel(decoder, reusingFrozenFrom: first)
            let fresh = try InferenceModel(decoder)
            #expect(try logits(reused) == logits(fresh), "adapters \(enabled ? "on" : "off")")
            #expect(reused.sharesFrozenWeights(with: first))
        }
        #expect(try logits(first) != logits(InferenceModel(decoder)), "the adapters moved: something had to be packed again")
        let trainable = try Decoder(config: Self.config, seed: 11, std: 0.3)
        let previous = try InferenceModel(trainable)
        #expect(!(try InferenceModel(trainable, reusingFrozenFrom: previous)).sharesFrozenWeights(with: previous), "nothing is frozen")
    }

    /// A prompt that starts like a kept one copies that prefix's rows and
    /// reads only the rest, and generates what it would have from nothing.
    @Test func aCachedPromptPrefixGivesTheSameGeneration() throws {
        let instructions = (0..<24).map { Int32(($0 * 7) % 40) }
        let prompts = [instructions + [3, 9], instructions + [5], [1, 2, 3]]
        let parameters = GenerationParameters(maxNewTokens: 8, sampling: .greedy)
        let fresh = try generate(
            prompts.map { GenerationRequest(sequence: TokenSequence(tokens: $0, model: Self.model)) }, model: Self.model,
            parameters: parameters)
        let cache = PromptCache(model: Self.model)
        let first = cache.sequence(for: prompts[0])
        #expect(first.cache.count == 0, "nothing kept yet")
        _ = try generate([GenerationRequest(sequence: first)], model: Self.model, parameters: parameters)
        cache.keep([first], promptLengths: [prompts[0].count])
        let sequences = prompts.map { cache.sequence(for: $0) }
        #expect(sequences.map(\.cache.count) == [prompts[0].count - 1, instructions.count, 0])
        let cached = try generate(sequences.map { GenerationRequest(sequence: $0) }, model: Self.model, parameters: parameters)
        #expect(cached.map(\.tokens) == fresh.map(\.tokens))
        for (a, b) in zip(cached, fresh) { #expect(zip(a.logProbs, b.logProbs).allSatisfy { abs($0 - $1) < 1e-4 }) }
    }

    @Test func badRequestsAreRejected() throws {
        let cache = Self.model.makeCache()
        #expect(throws: TensorError.self) { _ = try Self.model.forward([(cache, [40])]) }
        #expect(throws: TensorError.self) { _ = try Self.model.forward([(cache, [Int32](repeating: 1, count: 257))]) }
        #expect(throws: TensorError.self) { _ = try Self.model.forward([(cache, [1]), (cache, [2])]) }
        #expect(cache.count == 0)
        #expect(throws: TensorError.self) {
            _ = try generate(
                [GenerationRequest(sequence: TokenSequence(tokens: [1], model: Self.model))], model: Self.model,
                parameters: GenerationParameters(sampling: SamplingParameters(temperature: -1)))
        }
    }
}
