import Agent
import Demo
import Foundation
import Generation
import Models
import RealRun
import Search
import Support
import Testing
import Training

@Suite struct RealDataTests {
    static let questions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/nq_open_dev.jsonl")

    func scratchFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("realdata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The package's `title → {title, extract, …}` object becomes corpus
    /// lines in file order; an article without text is left out.
    @Test func summariesBecomeCorpusLines() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let summaries = folder.appendingPathComponent("summaries.json")
        try Data(
            """
            {"Moon": {"title": "Moon", "extract": "The Moon is Earth's only natural satellite.", "topic": "Space"},
             "Empty": {"title": "Empty", "extract": "  "},
             "Paris": {"title": "Paris", "extract": "Paris is the capital of France.\\n"}}
            """.utf8
        ).write(to: summaries)
        let corpus = folder.appendingPathComponent("wiki.jsonl")
        #expect(try WikiCorpus.convert(summaries: summaries, to: corpus) == 2)
        var passages: [Passage] = []
        try JSONLCorpus.forEachPassage(in: corpus) { passage, _ in passages.append(passage) }
        #expect(
            passages == [
                Passage(id: "0", title: "Moon", text: "The Moon is Earth's only natural satellite."),
                Passage(id: "1", title: "Paris", text: "Paris is the capital of France."),
            ])

        try Data("{\"Moon\": {\"extract\": \"x\"},\n \"Bad\": [}".utf8).write(to: summaries)
        #expect { try WikiCorpus.convert(summaries: summaries, to: corpus) } throws: { error in
            "\(error)".contains("summaries.json") && "\(error)".contains("line 2")
        }
    }

    /// Lines 3000–3609 go to the test split and nowhere else; a question is
    /// answerable exactly when a top-k passage holds a gold answer.
    @Test func splitsKeepTheReservedLinesApart() throws {
        var builder = BM25Builder()
        // NQ-open dev's first question asks when anyone was last on the moon
        // ("14 December 1972 UTC" / "December 1972"); its second, who wrote
        // "He Ain't Heavy, He's My Brother".
        builder.add(Passage(id: "0", title: "Apollo 17", text: "The last crewed Moon landing was in December 1972."))
        builder.add(Passage(id: "1", title: "Hollies", text: "He Ain't Heavy, He's My Brother is a ballad by the Hollies."))
        let index = try builder.build()
        let splits = try QuestionSplits(questions: Self.questions, index: index, topK: 1)
        #expect(splits.train.map(\.line) == Array(0..<2500))
        #expect(splits.development.map(\.line) == Array(2500..<3000))
        #expect(splits.test.map(\.line) == Array(3000..<3610))
        #expect(splits.train[0].answerable && splits.train[0].answerRank == 1)
        #expect(!splits.train[1].answerable && splits.train[1].answerRank == nil, "the passage names the song, not its writers")

        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try splits.write(to: folder, topK: 1)
        let test = try String(contentsOf: folder.appendingPathComponent("test.jsonl"), encoding: .utf8)
        #expect(test.split(separator: "\n").count == 610)
        let train = try String(contentsOf: folder.appendingPathComponent("train.jsonl"), encoding: .utf8)
        let reservedQuestion = try #require(JSONValue.parse(String(test.split(separator: "\n")[0]))["question"]?.string)
        #expect(!train.contains(reservedQuestion))
        let answerable = try JSONLines.read(QuestionSplits.Question.self, from: folder.appendingPathComponent("train-answerable.jsonl"))
        #expect(answerable == splits.train.filter(\.answerable) && answerable.first?.line == 0)
    }

    @Test func aShortQuestionFileIsRefused() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("q.jsonl")
        try Data("{\"question\": \"q\", \"answer\": [\"a\"]}\n".utf8).write(to: file)
        var builder = BM25Builder()
        builder.add(Passage(id: "0", title: "t", text: "a"))
        #expect(throws: InvalidInput.self) { try QuestionSplits(questions: file, index: try builder.build(), topK: 1) }
        try Data("{\"question\": \"q\"}\n".utf8).write(to: file)
        #expect { try QuestionSplits(questions: file, index: try builder.build(), topK: 1) } throws: { "\($0)".contains("q.jsonl:1") }
    }
}

@Suite struct SimulatorTuningTests {
    @Test func aSnippetIsTheWindowWithTheMostQueryWords() {
        let text = "Alpha beta gamma delta. The Moon landing of Apollo 17 was in December 1972. Epsilon zeta eta theta."
        #expect(SimulatorTuning.snippet(text, query: "last moon landing apollo", words: 6) == "… delta. The Moon landing of Apollo …")
        #expect(SimulatorTuning.snippet("short text", query: "x", words: 6) == "short text")
        #expect(SimulatorTuning.snippet(text, query: "nothing matches", words: 3) == "Alpha beta gamma …")
        #expect(
            SimulatorTuning.snippet(text, query: "alpha beta gamma", words: 4, answer: "December 1972")
                == "… December 1972. Epsilon zeta …",
            "a window holding the answer wins over one with every query word")
        #expect(
            SimulatorTuning.snippet(text, query: "apollo", words: 6, answer: "December 1972") == "… in December 1972. Epsilon zeta eta …",
            "the window opens words/6 words before the answer")
    }

    /// Answer-guided pairs keep the question as their query and show the
    /// answer; one that missed the answer is no engine's result for the
    /// question, so it never becomes a noisy example.
    @Test func answerGuidedPairsShowTheAnswerUnderTheQuestion() throws {
        var builder = BM25Builder()
        builder.add(
            Passage(id: "0", title: "Apollo 17", text: "Apollo 17 was a mission. It landed on the Moon in December 1972, the last."))
        builder.add(Passage(id: "1", title: "Moon", text: "The Moon orbits the Earth; people first walked on it in 1969."))
        let question = QuestionSplits.Question(
            line: 0, question: "when was anyone last on the moon", answer: ["December 1972"], answerable: false, answerRank: nil)
        let missed = QuestionSplits.Question(
            line: 1, question: "who first walked on the moon", answer: ["Neil Armstrong"], answerable: false, answerRank: nil)
        var pairs = SimulatorTuning.collect(
            questions: [question, missed], answerGuided: true, index: try builder.build(), topK: 1, snippetWords: 6)
        #expect(pairs.map(\.source) == ["question", "question", "answer_guided", "answer_guided"])
        #expect(pairs.allSatisfy { [question.question, missed.question].contains($0.query) })
        #expect(pairs[2].documents == ["(Title: Apollo 17) … Moon in December 1972, the last."])
        for index in pairs.indices { pairs[index].label = SimulatorTuning.ruleLabel(pairs[index]) }
        #expect(pairs.map(\.label) == [.useful, .noisy, .useful, .noisy])
        let model = try LoadedModel(ColdStartTests.tinyModel, prepareInference: false)
        let examples = SimulatorTuning.examples(pairs, model: model, ratio: 5)
        #expect(examples.count == 3, "both useful pairs and the missed question's; not the missed answer-guided one")

        var useful = EnginePair(
            question: "q", answers: ["Ada"], query: "q", source: "question", documents: ["(Title: B) Bob ran.", "(Title: A) Ada won."])
        useful.label = .useful
        var noisy = useful
        noisy.label = .noisy
        let sequence = try #require(SimulatorTuning.examples([useful, noisy], model: model, answerFirst: true).first?.sequence)
        #expect(
            model.tokenizer.decode(Array(sequence.tokens[sequence.promptLength...]), skipSpecialTokens: true).hasPrefix(
                "Doc 1: (Title: A) Ada won.\nDoc 2: (Title: B) Bob ran."),
            "answer-first: a useful target shows its answer-holding document first")
        let inOrder = try #require(SimulatorTuning.examples([useful, noisy], model: model).first?.sequence)
        #expect(
            model.tokenizer.decode(Array(inOrder.tokens[inOrder.promptLength...]), skipSpecialTokens: true).hasPrefix(
                "Doc 1: (Title: B) Bob ran.\nDoc 2: (Title: A) Ada won."),
            "by default the engine's order")
    }

    /// Skipping answer articles: an answer-guided search passes over the
    /// passage titled with the answer (which the appended answer ranks
    /// first) for the next one that holds it; searches with the question are
    /// the engine's as they are.
    @Test func answerGuidedSearchesCanSkipTheAnswersOwnArticle() throws {
        var builder = BM25Builder()
        builder.add(Passage(id: "0", title: "Neil Armstrong", text: "Neil Armstrong was the first person who walked on the Moon."))
        builder.add(Passage(id: "1", title: "Apollo 11", text: "Apollo 11 landed on the Moon in 1969 with Neil Armstrong."))
        builder.add(Passage(id: "2", title: "Moon", text: "The Moon orbits the Earth."))
        let index = try builder.build()
        let question = QuestionSplits.Question(
            line: 0, question: "who first walked on the moon", answer: ["Neil Armstrong"], answerable: false, answerRank: nil)
        func titles(skipping: Bool) -> [[String]] {
            SimulatorTuning.collect(
                questions: [question], answerGuided: true, skipAnswerArticles: skipping, index: index, topK: 1, snippetWords: 20
            ).map { $0.documents.map { String($0.prefix { $0 != ")" }) } }
        }
        let plain = titles(skipping: false)
        #expect(plain[1] == ["(Title: Neil Armstrong"], "the appended answer ranks the answer's own article first")
        let skipped = titles(skipping: true)
        #expect(skipped[1] == ["(Title: Apollo 11"])
        #expect(skipped[0] == plain[0], "a search with the question is left as the engine returns it")
    }

    /// A useful target's answer tokens carry the answer weight: every
    /// whole-word occurrence, any case, with its leading space; the tokens are
    /// the text's own.
    @Test func answerTokensWeighMore() throws {
        let model = try LoadedModel(ColdStartTests.tinyModel, prepareInference: false)
        let text = "Doc 1: (Title: Ada) ada won. Adams lost to Ada."
        let marked = SimulatorTuning.weightedTokens(text, marking: ["Ada"], weight: 8, tokenizer: model.tokenizer)
        #expect(marked.tokens == model.tokenizer.encode(text, addSpecialTokens: false))
        let heavy = zip(marked.tokens, marked.weights).filter { $0.1 == 8 }.map(\.0)
        #expect(model.tokenizer.decode(heavy, skipSpecialTokens: true) == " Ada ada Ada")
        #expect(marked.weights.allSatisfy { $0 == 1 || $0 == 8 })
        let titled = SimulatorTuning.weightedTokens(text, marking: ["Ada"], weight: 8, titleWeight: 2, tokenizer: model.tokenizer)
        #expect(titled.tokens == marked.tokens)
        #expect(
            model.tokenizer.decode(zip(titled.tokens, titled.weights).filter { $0.1 == 2 }.map(\.0), skipSpecialTokens: true) == " Ada",
            "the title's occurrence weighs the title weight")
        #expect(
            titled.weights.filter { $0 == 8 }.count == marked.weights.filter { $0 == 8 }.count - titled.weights.filter { $0 == 2 }.count)
        let plain = SimulatorTuning.weightedTokens(text, marking: [], weight: 8, tokenizer: model.tokenizer)
        #expect(plain.tokens == marked.tokens && plain.weights.allSatisfy { $0 == 1 })

        var useful = EnginePair(question: "q", answers: ["Ada"], query: "q", source: "question", documents: ["(Title: A) Ada won."])
        useful.label = .useful
        var noisy = EnginePair(question: "q", answers: ["Ada"], query: "q", source: "question", documents: ["(Title: B) Bob ran."])
        noisy.label = .noisy
        let examples = SimulatorTuning.examples([useful, noisy], model: model, answerWeight: 8)
        #expect(examples.map { $0.weights.filter { $0 == 8 }.isEmpty } == [false, true], "only useful examples weigh the answer")
        #expect(examples[0].avoided.isEmpty, "a useful example avoids nothing")
        #expect(
            examples[1].avoided
                == SimulatorTuning.answerOpenings(
                    ["Ada"], absentFrom: Array(examples[1].sequence.tokens[examples[1].sequence.promptLength...]),
                    tokenizer: model.tokenizer))
        #expect(examples[1].avoided.count == 1)
    }

    /// A noisy example avoids each answer's first token that its own text
    /// never writes: a shared " the" is not avoided, " Bob" is.
    @Test func noisyExamplesAvoidTheAnswersOpenings() throws {
        let tokenizer = try LoadedModel(ColdStartTests.tinyModel, prepareInference: false).tokenizer
        func first(_ text: String) -> Int32 { tokenizer.encode(text, addSpecialTokens: false)[0] }
        let completion = tokenizer.encode("Doc 1: the river ran.", addSpecialTokens: false)
        let openings = SimulatorTuning.answerOpenings(["the Bob", "Bob", ""], absentFrom: completion, tokenizer: tokenizer)
        #expect(openings == [first(" Bob")], "\(openings.map { tokenizer.decode([$0], skipSpecialTokens: true) })")
        #expect(SimulatorTuning.answerOpenings(["the"], absentFrom: completion, tokenizer: tokenizer).isEmpty)
    }

    @Test func theRuleJudgesByWholeWordAnswers() {
        var pair = EnginePair(
            question: "how many seasons", answers: ["one"], query: "seasons", source: "question",
            documents: ["(Title: A) someone wrote it", "(Title: B) it ran for two seasons"])
        #expect(SimulatorTuning.ruleLabel(pair) == .noisy, "'one' inside 'someone' is not the answer")
        pair.documents.append("(Title: C) It ran for one season.")
        #expect(SimulatorTuning.ruleLabel(pair) == .useful)
        #expect(pair.text.hasPrefix("Doc 1: (Title: A) someone wrote it\nDoc 2: "))
    }

    @Test func aJudgesReplyReadsAsItsFirstLabel() {
        #expect(SimulatorTuning.parseJudgement("Useful.") == .useful)
        #expect(SimulatorTuning.parseJudgement("noisy — not useful") == .noisy)
        #expect(SimulatorTuning.parseJudgement("I cannot tell") == nil)
        #expect(
            SimulatorTuning.judgePrompt(EnginePair(question: "q?", answers: ["a", "b"], query: "k", source: "question", documents: ["d"]))
                .contains("The correct answer is: a or b."))
    }

    /// The real engine, scored as a simulator would be: its documents do not
    /// change with the label asked for.
    @Test func theRealEngineScoresTheSameForBothKinds() async throws {
        var builder = BM25Builder()
        builder.add(Passage(id: "0", title: "Apollo 17", text: "The last crewed Moon landing was in December 1972."))
        builder.add(Passage(id: "1", title: "Hollies", text: "He Ain't Heavy, He's My Brother is a ballad."))
        builder.add(Passage(id: "2", title: "Mercury", text: "Mercury is the innermost planet."))
        let engine = BM25Engine(index: try builder.build(), topK: 1)
        let questions = [
            QuestionSplits.Question(line: 0, question: "last moon landing", answer: ["December 1972"], answerable: true, answerRank: 1),
            QuestionSplits.Question(
                line: 1, question: "who wrote he ain't heavy", answer: ["Bob Russell"], answerable: false, answerRank: nil),
            QuestionSplits.Question(line: 2, question: "innermost planet", answer: ["Mercury"], answerable: true, answerRank: 1),
        ]
        let score = await SimulatorScore.measure(engine, name: "bm25", questions: questions, topK: 1)
        #expect(score.usefulContainsAnswer == 2.0 / 3 && score.noisyContainsAnswer == 2.0 / 3 && score.wellFormed == 1)
        #expect(score.usefulFirstTitleHoldsAnswer == 1.0 / 3, "only Mercury's first document is named after its answer")
    }
}

@Suite struct ColdStartTests {
    static let tinyModel = Demo.quickBase(seed: 1)!

    /// A demonstration searches with the question, reads the documents
    /// (masked, cut to the observation budget as a rollout cuts them), and
    /// answers with the gold answer they hold; one whose documents hold none,
    /// or only past the cut, is left out.
    @Test func demonstrationsAnswerFromWhatTheyRead() throws {
        let model = try LoadedModel(Self.tinyModel, prepareInference: false)
        let questions = [
            QuestionSplits.Question(line: 0, question: "who won", answer: ["Ada L", "Ada"], answerable: true, answerRank: 1),
            QuestionSplits.Question(line: 1, question: "where is it", answer: ["Rome"], answerable: false, answerRank: nil),
            QuestionSplits.Question(line: 2, question: "who lost", answer: ["Bo"], answerable: true, answerRank: 1),
            QuestionSplits.Question(line: 3, question: "who came", answer: ["Cy"], answerable: true, answerRank: 1),
        ]
        let filler = String(repeating: "Paris is a city. ", count: 60)
        let examples = ColdStart.demonstrations(
            questions,
            documents: ["Doc 1: Ada won it.", "Doc 1: Paris is a city.", "Doc 1: \(filler)Bo lost it.", "Doc 1: Cy came. \(filler)"],
            model: model,
            prompt: PolicyPrompt(template: "Q: {question}\n"), maxObservationTokens: 64, requireAnswer: true)
        #expect(examples.count == 2)
        guard examples.count == 2 else { return }
        let sequence = examples[0].sequence
        let decode = { (tokens: ArraySlice<Int32>) in model.tokenizer.decode(Array(tokens), skipSpecialTokens: false) }
        let trained = zip(sequence.tokens, sequence.lossMask).dropFirst(sequence.promptLength).filter { $0.1 == 1 }.map(\.0)
        let read = zip(sequence.tokens, sequence.lossMask).dropFirst(sequence.promptLength).filter { $0.1 == 0 }.map(\.0)
        #expect(decode(sequence.tokens.prefix(sequence.promptLength)).hasSuffix("Q: who won?\n"))
        #expect(decode(trained[...]).contains("<search> who won </search>"))
        #expect(decode(trained[...]).hasSuffix("<answer> Ada </answer>"))
        #expect(decode(read[...]) == "\n\n<information>Doc 1: Ada won it.</information>\n\n")
        let cut = examples[1].sequence
        let shown = zip(cut.tokens, cut.lossMask).dropFirst(cut.promptLength).filter { $0.1 == 0 }.map(\.0)
        #expect(shown.count == 64, "cut to the budget")
        #expect(decode(shown[...]).hasSuffix("</information>\n\n") && decode(shown[...]).contains("Cy came."))
    }

    /// The saved folder is the model that computed: LoRA adapters merged.
    @Test func aFineTunedFolderHoldsTheMergedModel() throws {
        let base = try LoadedModel(Self.tinyModel, prepareInference: false)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("finetune-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let example = SupervisedExample(prompt: [1, 2, 3], completion: [4, 5, 6])
        try fineTune(
            [example], base: base, lora: LoRAConfig(rank: 2, alpha: 4, targets: ["q_proj"]),
            config: SupervisedConfig(steps: 3, batchSize: 1, lr: 0.05), to: folder)
        let tuned = try LoadedModel(folder, prepareInference: false)
        let name = try #require(tuned.decoder.parameters.first { $0.name.contains("q_proj") }?.name)
        let before = try #require(base.decoder.parameters.first { $0.name == name }).value
        let after = try #require(tuned.decoder.parameters.first { $0.name == name }).value
        #expect(before.scalars != after.scalars, "the adapter's change is in the saved weight")
        #expect(tuned.tokenizer.encode("Ada won", addSpecialTokens: false) == base.tokenizer.encode("Ada won", addSpecialTokens: false))
    }
}
