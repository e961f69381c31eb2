import Agent
import Engine
import Generation
import Search
import Testing
import Tokenizers

@Suite struct RolloutTests {
    let tokenizer: BPETokenizer
    init() throws { tokenizer = try TestData.qwen() }

    func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecialTokens: false) }

    func run(
        _ replies: [[String]], rows: [RolloutRow]? = nil, noise: Double = 0, config: RolloutConfig = RolloutConfig(),
        engine: ScriptedEngine = ScriptedEngine()
    ) async throws -> (trajectories: [Trajectory], policy: ScriptedPolicy) {
        let policy = ScriptedPolicy(tokenizer: tokenizer, replies: replies)
        let rows = rows ?? replies.indices.map { RolloutRow(question: "question \($0)", goldAnswers: ["gold \($0)", "alias \($0)"]) }
        var rng = RandomGenerator(seed: 7)
        let trajectories = try await rollout(rows, policy: policy, engine: engine, noiseProbability: noise, rng: &rng, config: config)
        return (trajectories, policy)
    }

    @Test func tokensMasksAndLogProbsOfASearchThenAnswer() async throws {
        let first = "<think>I need the capital.</think>\n<search> capital of France </search>"
        let second = "<think>Found it.</think>\n<answer> Paris </answer>"
        let (trajectories, policy) = try await run([[first, second]])
        let trajectory = trajectories[0]
        let prompt = policy.promptTokens(PolicyPrompt().render(question: "question 0"))
        let observation = encode("\n\n<information>Doc 1: about capital of France\nDoc 2: more on capital of France</information>\n\n")
        let expected = prompt + encode(first) + observation + encode(second)
        #expect(trajectory.tokens == expected)
        #expect(trajectory.promptLength == prompt.count)
        let firstCount = encode(first).count
        let secondCount = encode(second).count
        #expect(
            trajectory.lossMask == [UInt8](repeating: 0, count: prompt.count) + [UInt8](repeating: 1, count: firstCount)
                + [UInt8](repeating: 0, count: observation.count) + [UInt8](repeating: 1, count: secondCount))
        #expect(
            trajectory.turns == [Int32](repeating: -1, count: prompt.count) + [Int32](repeating: 0, count: firstCount + observation.count)
                + [Int32](repeating: 1, count: secondCount))
        let generatedLogProbs =
            (0..<firstCount).map { ScriptedPolicy.logProb(row: 0, position: $0) }
            + (0..<secondCount).map { ScriptedPolicy.logProb(row: 0, position: $0) }
        #expect(zip(trajectory.logProbs, trajectory.lossMask).filter { $0.1 == 1 }.map(\.0) == generatedLogProbs)
        #expect(zip(trajectory.logProbs, trajectory.lossMask).filter { $0.1 == 0 }.allSatisfy { $0.0 == 0 })
        #expect(trajectory.answer == "Paris")
        #expect(trajectory.end == .answered)
        #expect(trajectory.searches.map(\.query) == ["capital of France"])
        // The second generation continued from exactly the stored tokens.
        #expect(policy.seen.last == prompt + encode(first) + observation)
    }

    /// Only some rows search in a turn: every request must carry its own row's
    /// question and all its gold answers (the published code misaligned them).
    @Test func searchRequestsStayAlignedWithTheirRows() async throws {
        let engine = ScriptedEngine()
        let replies = [
            ["<answer>a</answer>"],
            ["<search>q1</search>", "<answer>b</answer>"],
            ["<think>hm</think>", "<search>q2</search>", "<answer>c</answer>"],
            ["<search>q3</search>", "<search>q3 again</search>", "<answer>d</answer>"],
        ]
        var config = RolloutConfig()
        config.maxTurns = 3
        let (trajectories, _) = try await run(replies, config: config, engine: engine)
        let batches = engine.batches.withLock { $0 }
        #expect(batches.map { $0.map(\.query) } == [["q1", "q3"], ["q2", "q3 again"]])
        for batch in batches {
            for request in batch {
                let row = Int(request.query.dropFirst().prefix(1))!
                #expect(request.question == "question \(row)")
                #expect(request.goldAnswers == ["gold \(row)", "alias \(row)"])
            }
        }
        #expect(trajectories.map(\.answer) == ["a", "b", "c", "d"])
        #expect(trajectories.map(\.searches.count) == [0, 1, 1, 2])
        #expect(trajectories[2].generations.count == 3)
        // Row 2's first turn had no action: it read the invalid-action text.
        #expect(
            trajectories[2].tokens.count == trajectories[2].promptLength + encode("<think>hm</think>").count
                + encode(invalidActionText).count + encode("<search>q2</search>").count
                + encode("\n\n<information>Doc 1: about q2\nDoc 2: more on q2</information>\n\n").count + encode("<answer>c</answer>").count
        )
    }

    @Test func turnLimitAllowsOneFinalGenerationWithoutSearching() async throws {
        let engine = ScriptedEngine()
        var config = RolloutConfig()
        config.maxTurns = 1
        let (trajectories, _) = try await run([["<search>one</search>", "<search>two</search>", "never"]], config: config, engine: engine)
        let trajectory = trajectories[0]
        #expect(trajectory.generations == ["<search>one</search>", "<search>two</search>"])
        #expect(trajectory.searches.map(\.query) == ["one"])
        #expect(trajectory.end == .turnLimit)
        #expect(trajectory.answer == nil)
        #expect(engine.batches.withLock { $0.count } == 1)
        // The final generation's tokens are the last ones: no observation after them.
        #expect(trajectory.lossMask.last == 1)
    }

    /// Ending the reply without an action is an invalid action, as in the
    /// published loop: the policy reads the invalid-action text and goes on.
    @Test func endOfSequenceWithoutActionIsInvalid() async throws {
        let (trajectories, _) = try await run([["I am not sure.<EOS>", "<answer>maybe</answer>"]])
        let trajectory = trajectories[0]
        #expect(trajectory.end == .answered)
        #expect(trajectory.generations.count == 2)
        let firstTurn = encode("I am not sure.") + [tokenizer.eosTokenID!]
        #expect(
            Array(trajectory.tokens[trajectory.promptLength...]) == firstTurn + encode(invalidActionText) + encode("<answer>maybe</answer>")
        )
    }

    @Test func budgetsCutTurnsObservationsAndContext() async throws {
        var config = RolloutConfig()
        config.maxTurnTokens = 12
        config.maxObservationTokens = 20
        let longQuery = Array(repeating: "word", count: 40).joined(separator: " ")
        let (trajectories, _) = try await run(
            [["<search>\(longQuery)</search>", "<answer>z</answer>"], ["<search>x</search>", "<answer>y</answer>"]],
            config: config)
        // Row 0's reply was cut at 12 tokens, so it has no action: invalid-action observation.
        let row0 = trajectories[0]
        #expect(row0.lossMask.filter { $0 == 1 }.count >= 12)
        #expect(Array(row0.tokens[row0.promptLength..<row0.promptLength + 12]) == Array(encode("<search>\(longQuery)</search>").prefix(12)))
        // Row 1's observation is cut to 20 tokens and still closes its tag.
        let row1 = trajectories[1]
        let observation = zip(row1.tokens, zip(row1.lossMask, row1.turns)).filter { $0.1.0 == 0 && $0.1.1 == 0 }.map(\.0)
        #expect(observation.count == 20)
        #expect(Array(observation.suffix(encode("</information>\n\n").count)) == encode("</information>\n\n"))
        #expect(row1.answer == "y")

        config.maxContextTokens = trajectories[1].promptLength + encode("<search>x</search>").count + 5
        let (cut, _) = try await run([["<search>x</search>", "<answer>y</answer>"]], config: config)
        #expect(cut[0].end == .contextFull)
        #expect(cut[0].tokens.count == config.maxContextTokens)
    }

    @Test func noiseIsDrawnPerCallAndRecorded() async throws {
        let replies = (0..<40).map { _ in ["<search>q</search>", "<answer>a</answer>"] }
        let (allNoisy, _) = try await run(replies, noise: 1)
        #expect(allNoisy.allSatisfy { $0.searches.map(\.kind) == [.noisy] })
        let (noneNoisy, _) = try await run(replies, noise: 0)
        #expect(noneNoisy.allSatisfy { $0.searches.map(\.kind) == [.useful] })
        let (half, _) = try await run(replies, noise: 0.5)
        let noisy = half.filter { $0.searches[0].kind == .noisy }.count
        #expect(noisy > 8 && noisy < 32)
        let (again, _) = try await run(replies, noise: 0.5)
        #expect(again.map(\.searches) == half.map(\.searches), "the same seed draws the same calls")
    }

    /// Rows that search, answer, fail, repeat invalid turns and run out of
    /// budget at different steps: on its own loop each trajectory has the
    /// same tokens, log-probs, masks and searches as when turns are
    /// synchronised, with the engine answering after random delays (every
    /// call useful, then every call noisy: the two schedules draw kinds in
    /// different orders); and a row's search leaves as soon as its generation
    /// stops, alone (never in the synchronous turn's batch of all searching rows).
    @Test func asynchronousRolloutMatchesTurnByTurnPerTrajectory() async throws {
        let words = { (n: Int) in Array(repeating: "word", count: n).joined(separator: " ") }
        let replies = (0..<12).map { row -> [String] in
            switch row % 6 {
            case 0: ["<search>q\(row)</search>", "<answer>a\(row)</answer>"]
            case 1: ["<think>\(words(row * 3))</think><search>q\(row)</search>", "<search>again \(row)</search>", "<answer>b</answer>"]
            case 2: ["<answer>right away</answer>"]
            case 3: ["hmm<EOS>", "<search>fail \(row)</search>", "<answer>c</answer>"]
            case 4: row == 4 ? Array(repeating: words(60), count: 4) : (1...4).map { "<search>s\($0)</search>" }
            default: ["\(words(row))", "\(words(2))", "<search>late \(row)</search>", "<answer>e</answer>"]
            }
        }
        var config = RolloutConfig()
        config.maxTurns = 3
        config.maxTurnTokens = 40
        config.maxContextTokens = 360
        for noise in [0.0, 1.0] {
            var turnConfig = config
            turnConfig.asynchronous = false
            var loopConfig = config
            loopConfig.asynchronous = true
            let (together, turnPolicy) = try await run(
                replies, noise: noise, config: turnConfig, engine: ScriptedEngine(maxDelayMilliseconds: 20))
            let (alone, loopPolicy) = try await run(
                replies, noise: noise, config: loopConfig, engine: ScriptedEngine(maxDelayMilliseconds: 20))
            #expect(alone == together)
            #expect(Set(together.map(\.end)) == [.answered, .contextFull, .turnLimit])
            #expect(Set(together.flatMap { $0.searches.map(\.kind) }) == [noise == 0 ? .useful : .noisy])
            // Streams: the turn with the row's place among that turn's rows, or with the row itself.
            for (key, stream) in loopPolicy.streams { #expect(stream == UInt64(key[1]) &* 0x1_0000_0001 &+ UInt64(key[0])) }
            for row in replies.indices { #expect(turnPolicy.streams[[row, 0]] == UInt64(row)) }
        }
        let turnEngine = ScriptedEngine(maxDelayMilliseconds: 20)
        _ = try await run(replies, config: config, engine: turnEngine)
        config.asynchronous = true
        let loopEngine = ScriptedEngine(maxDelayMilliseconds: 20)
        _ = try await run(replies, config: config, engine: loopEngine)
        let turnBatches = turnEngine.batches.withLock { $0.map { $0.map(\.query) } }
        let loopBatches = loopEngine.batches.withLock { $0.map { $0.map(\.query) } }
        #expect(turnBatches.first == ["q0", "q1", "q6", "q7", "s1"], "a turn's searches leave together, in row order")
        // Row 10's one-token search stops first and leaves at once, alone.
        #expect(loopBatches.first == ["s1"], "\(loopBatches)")
        #expect(loopBatches.count > turnBatches.count && loopBatches.allSatisfy { $0.count <= 2 }, "\(loopBatches)")
    }

    @Test func failedSearchesReadThePublishedTextAndAreRecorded() async throws {
        let (trajectories, _) = try await run([["<search>fail me</search>", "<answer>no</answer>"]])
        #expect(trajectories[0].searches.map(\.failed) == [true])
        #expect(
            tokenizer.decode(trajectories[0].tokens, skipSpecialTokens: false)
                .contains("<information>No information available</information>"))
    }

    @Test func evaluationHidesTheGoldAnswers() async throws {
        let engine = ScriptedEngine()
        var config = RolloutConfig()
        config.revealGoldAnswers = false
        _ = try await run([["<search>q</search>", "<answer>a</answer>"]], config: config, engine: engine)
        let request = try #require(engine.batches.withLock { $0.first?.first })
        #expect(request.question.isEmpty && request.goldAnswers.isEmpty)
    }
}

@Suite struct ActionTests {
    @Test func firstCompleteElementWins() {
        #expect(parseAction("<think>x</think><search> a b </search><answer>c</answer>") == .search("a b"))
        #expect(parseAction("<answer>c</answer><search>a</search>") == .answer("c"))
        #expect(parseAction("<search>open <answer>inner</answer>") == .answer("inner"))
        #expect(parseAction("<search>multi\nline</search>") == .search("multi\nline"))
        #expect(parseAction("<search></search>") == .search(""))
        #expect(parseAction("no tags <search>unclosed") == .invalid)
        #expect(parseAction("</search><search") == .invalid)
    }

    @Test func promptFollowsThePublishedForm() {
        let prompt = PolicyPrompt().render(question: "  who wrote hamlet ")
        #expect(prompt.hasPrefix("Answer the given question. You must conduct reasoning inside <think> and </think> first"))
        #expect(prompt.hasSuffix("For example, <answer> Beijing </answer>. Question: who wrote hamlet?\n"))
        #expect(PolicyPrompt().render(question: "Why?").hasSuffix("Question: Why?\n"))
    }
}
