import Agent
import Foundation
import Generation
import Models
import RL
import Search
import Support
import Tokenizers
import Training

/// One interaction with the real engine, the material of simulation tuning
/// (the paper's first step): a query, the question and gold answers it
/// served, and the engine's top documents as result snippets; then (second
/// step) whether they are useful, and who judged.
public struct EnginePair: Codable, Equatable, Sendable {
    public var question: String
    public var answers: [String]
    public var query: String
    /// `question` (the question itself was the query) or `policy` (a query a
    /// policy wrote in a rollout against the real engine).
    public var source: String
    /// Each document as the policy reads it: `(Title: …) snippet`.
    public var documents: [String]
    public var label: DocumentKind?
    /// `rule` or `llm:<server>`.
    public var judge: String?

    public init(question: String, answers: [String], query: String, source: String, documents: [String]) {
        self.question = question
        self.answers = answers
        self.query = query
        self.source = source
        self.documents = documents
    }

    /// The documents as the engine's answer reads: `Doc 1: …` one per line.
    public var text: String { SearchResult.documents(documents).text }
}

public enum SimulatorTuning {
    /// The result snippet of a passage for a query: the `words`-word window
    /// with the most query words in it (the earliest on a tie), as a search
    /// engine's result page shows a passage. With `answer`, the window opens
    /// a few words before an occurrence of the answer (the query's words
    /// choose among occurrences): a useful document that names its answer
    /// early is the pattern a small simulator learns to copy (docs/real.md).
    public static func snippet(_ text: String, query: String, words: Int, answer: String? = nil) -> String {
        let tokens = text.split(whereSeparator: \.isWhitespace)
        guard tokens.count > words else { return tokens.joined(separator: " ") }
        let analyzer = BM25Analyzer()
        let wanted = Set(analyzer.terms(query))
        let answerTerms = Set(answer.map(analyzer.terms) ?? [])
        let termsOfTokens = tokens.map { analyzer.terms(String($0)) }
        let holdsAnswer = termsOfTokens.map { $0.contains(where: answerTerms.contains) }
        var hitsBefore = [0]
        for (terms, isAnswer) in zip(termsOfTokens, holdsAnswer) {
            hitsBefore.append(hitsBefore.last! + (isAnswer ? words : 0) + (terms.contains(where: wanted.contains) ? 1 : 0))
        }
        let lastStart = tokens.count - words
        let answerStarts = holdsAnswer.indices.filter { holdsAnswer[$0] && ($0 == 0 || !holdsAnswer[$0 - 1]) }
        let starts = answerStarts.isEmpty ? Array(0...lastStart) : answerStarts.map { min(max($0 - words / 6, 0), lastStart) }
        let start = starts.max { hitsBefore[$0 + words] - hitsBefore[$0] < hitsBefore[$1 + words] - hitsBefore[$1] }!
        let window = tokens[start..<start + words].joined(separator: " ")
        return (start > 0 ? "… " : "") + window + (start + words < tokens.count ? " …" : "")
    }

    /// Step 1, *collect*: the real engine's top `topK` passages, as
    /// `snippetWords`-word snippets, for each question asked as its own
    /// query, then for each policy-written query. With `answerGuided`, each
    /// question is asked a second time with its first gold answer appended
    /// (source `answer_guided`): real passages that a better engine would have
    /// returned for the question, each snippet shown around the answer. The
    /// pair's query stays the question, as the policy would type it. About
    /// one question in ten can be answered from the corpus by the question
    /// alone, too few useful pairs to teach a simulator to put the answer
    /// into useful documents (docs/real.md). With `skipAnswerArticles`, an
    /// answer-guided search passes over passages whose title holds a gold
    /// answer (the answer's own article, which the appended answer ranks
    /// first): a simulator taught on them names a document after the answer,
    /// which BM25's results for a question almost never do.
    public static func collect(
        questions: [QuestionSplits.Question], policyQueries: [(question: QuestionSplits.Question, query: String)] = [],
        answerGuided: Bool = false, skipAnswerArticles: Bool = false, index: BM25Index, topK: Int, snippetWords: Int
    ) -> [EnginePair] {
        var asked = questions.map { ($0, $0.question, "question", nil as String?) }
        asked += policyQueries.map { ($0.question, $0.query, "policy", nil) }
        if answerGuided { asked += questions.map { ($0, $0.question, "answer_guided", $0.answer.first) } }
        // Room for the skipped articles: a question's answers name a few at most.
        let searched = skipAnswerArticles ? topK + 5 : topK
        let hits = index.search(asked.map { [$0.1, $0.3].compactMap { $0 }.joined(separator: " ") }, topK: searched)
        return zip(asked, hits).map { ask, hits in
            let passages = hits.map { index.passage($0.document) }
            let shown =
                skipAnswerArticles && ask.2 == "answer_guided"
                ? passages.filter { !containsAnswer($0.title, gold: ask.0.answer) } : passages
            let documents = shown.prefix(topK).map { passage in
                "(Title: \(passage.title)) " + snippet(passage.text, query: ask.1, words: snippetWords, answer: ask.3)
            }
            return EnginePair(question: ask.0.question, answers: ask.0.answer, query: ask.1, source: ask.2, documents: documents)
        }
    }

    /// Step 2 by rule: useful when the documents contain a gold answer.
    public static func ruleLabel(_ pair: EnginePair) -> DocumentKind {
        containsAnswer(pair.text, gold: pair.answers) ? .useful : .noisy
    }

    /// Step 2 by rule for every pair, recorded as the rule's judgement.
    public static func ruleLabels(_ pairs: [EnginePair]) -> [EnginePair] {
        pairs.map { pair in
            var labelled = pair
            labelled.label = ruleLabel(pair)
            labelled.judge = "rule"
            return labelled
        }
    }

    /// LoRA for a tuning (the simulator's, the cold start's): rank `rank`,
    /// α = 2·rank, on every projection of the top `layers` layers (0: every
    /// layer); rank 0 means full fine-tuning (nil).
    public static func lora(rank: Int, layers: Int = 0) -> LoRAConfig? {
        rank > 0 ? LoRAConfig(rank: rank, alpha: Double(2 * rank), targets: LoRAConfig.projections, layers: layers) : nil
    }

    /// The LLM judge's prompt: the paper asks a strong LLM whether the
    /// documents help answer the question.
    public static func judgePrompt(_ pair: EnginePair) -> String {
        """
        You are judging the results of a search engine.
        A user searched for "\(pair.query)" while trying to answer the question: "\(pair.question)"
        The correct answer is: \(pair.answers.joined(separator: " or ")).

        The search engine returned:
        \(pair.text)

        Do these documents contain information from which the correct answer can be found? \
        Reply with exactly one word: useful (they do) or noisy (they do not).
        """
    }

    /// The judge's reply read as a label: its first `useful` or `noisy`.
    public static func parseJudgement(_ reply: String) -> DocumentKind? {
        let lowered = reply.lowercased()
        let useful = lowered.range(of: "useful")?.lowerBound
        let noisy = lowered.range(of: "noisy")?.lowerBound
        switch (useful, noisy) {
        case (let u?, let n?): return u < n ? .useful : .noisy
        case (.some, nil): return .useful
        case (nil, .some): return .noisy
        case (nil, nil): return nil
        }
    }

    /// Step 2 by an LLM judge (any OpenAI-compatible server, or a model in
    /// this process): pairs whose reply names neither label keep the rule's.
    public static func llmLabels(_ pairs: [EnginePair], judge: any TextCompleter, batch: Int = 16) async -> [EnginePair] {
        var labelled = pairs
        for start in stride(from: 0, to: pairs.count, by: batch) {
            let slice = start..<min(start + batch, pairs.count)
            let replies = await judge.completions(for: pairs[slice].map(judgePrompt))
            for (offset, reply) in zip(slice, replies) {
                if case .success(let text) = reply, let label = parseJudgement(text) {
                    labelled[offset].label = label
                    labelled[offset].judge = "llm:\(judge.name)"
                } else {
                    labelled[offset].label = ruleLabel(pairs[offset])
                    labelled[offset].judge = "rule (the llm judge gave no label)"
                }
            }
        }
        return labelled
    }

    /// Step 3's data: each labelled pair in the published `sft` format (the
    /// control word, the question and all its gold answers in the prompt,
    /// the engine's five documents out), rendered as the simulator is
    /// called: the model's chat template with an empty system message.
    /// Every pair of the rarer label is kept, and of the other label the
    /// first `ratio` times as many (labels come out unbalanced: about one
    /// training question in ten can be answered from this corpus).
    /// In a useful example, the tokens of each gold answer's occurrence weigh
    /// `answerWeight` times the rest in the loss (`titleAnswerWeight` inside a
    /// document's `(Title: …)`); a noisy example avoids its
    /// answers' openings (`answerOpenings`). With `answerFirst`, a useful
    /// target shows its answer-holding documents first; otherwise the
    /// engine's order.
    public static func examples(
        _ pairs: [EnginePair], model: LoadedModel, ratio: Double = 1, answerWeight: Float = 1, titleAnswerWeight: Float? = nil,
        answerFirst: Bool = false
    ) -> [SupervisedExample] {
        // A search that found nothing teaches no documents.
        let pairs = pairs.filter { !$0.documents.isEmpty }
        let useful = pairs.filter { $0.label == .useful }
        // An answer-guided search that missed the answer is no engine's
        // result for the question: noisy examples are what the engine
        // returned for queries as a policy writes them.
        let noisy = pairs.filter { $0.label == .noisy && $0.source != "answer_guided" }
        let (rarer, other) = useful.count <= noisy.count ? (useful, noisy) : (noisy, useful)
        let kept = rarer + other.prefix(Int((Double(rarer.count) * ratio).rounded()))
        let end = model.chatTemplate.endOfTurn ?? ""
        return kept.map { pair in
            let request = SearchRequest(query: pair.query, question: pair.question, goldAnswers: pair.answers, kind: pair.label ?? .noisy)
            let completion = weightedTokens(
                (answerFirst ? Self.answerFirst(pair) : pair).text + end, marking: pair.label == .useful ? pair.answers : [],
                weight: answerWeight, titleWeight: titleAnswerWeight, tokenizer: model.tokenizer)
            return SupervisedExample(
                prompt: LocalCompleter.promptTokens(SimulatorPrompt.render(request, mode: .sft), model: model),
                completion: completion.tokens, weights: completion.weights,
                avoiding: pair.label == .useful
                    ? [] : answerOpenings(pair.answers, absentFrom: completion.tokens, tokenizer: model.tokenizer))
        }
    }

    /// For a noisy example, the token that would start each gold answer
    /// (its first token, with the space before it, that the example's own
    /// documents never write: "the United States" is avoided by " United",
    /// not by " the"). A simulator that copies the answer its prompt shows
    /// starts with one of these.
    public static func answerOpenings(_ answers: [String], absentFrom completion: [Int32], tokenizer: BPETokenizer) -> [Int32] {
        let written = Set(completion)
        var openings: [Int32] = []
        for answer in answers where !answer.isEmpty {
            if let token = tokenizer.encode(" " + answer, addSpecialTokens: false).first(where: { !written.contains($0) }),
                !openings.contains(token)
            {
                openings.append(token)
            }
        }
        return openings
    }

    /// `text`'s tokens, with `weight` on those of every whole-word,
    /// case-insensitive occurrence of a `marking` string (`titleWeight`,
    /// default `weight`, inside a document's `(Title: …)`; 1 elsewhere). The
    /// marked stretches are encoded apart from the text around them, each
    /// with the space before it, so their tokens are the ones the text's
    /// own pre-tokenisation (which splits before spaces) makes.
    public static func weightedTokens(
        _ text: String, marking: [String], weight: Float, titleWeight: Float? = nil, tokenizer: BPETokenizer
    ) -> (tokens: [Int32], weights: [Float]) {
        let titles = text.ranges(of: /\(Title: [^)]*\)/)
        let spans = marking.filter { !$0.isEmpty }.flatMap { wholeWordRanges(of: $0, in: text) }.map { range in
            range.lowerBound > text.startIndex && text[text.index(before: range.lowerBound)] == " "
                ? text.index(before: range.lowerBound)..<range.upperBound : range
        }.sorted { $0.lowerBound < $1.lowerBound }
        var tokens: [Int32] = []
        var weights: [Float] = []
        var cursor = text.startIndex
        func append(_ piece: Substring, _ pieceWeight: Float) {
            let encoded = tokenizer.encode(String(piece), addSpecialTokens: false)
            tokens += encoded
            weights += Array(repeating: pieceWeight, count: encoded.count)
        }
        for span in spans where span.lowerBound >= cursor {
            append(text[cursor..<span.lowerBound], 1)
            let inTitle = titles.contains { $0.contains(span.upperBound) || $0.upperBound == span.upperBound }
            append(text[span], inTitle ? titleWeight ?? weight : weight)
            cursor = span.upperBound
        }
        append(text[cursor...], 1)
        return (tokens, weights)
    }

    static func wholeWordRanges(of word: String, in text: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var searchStart = text.startIndex
        while let range = text.range(of: word, options: [.caseInsensitive], range: searchStart..<text.endIndex) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            if !(before?.isLetter ?? false || before?.isNumber ?? false) && !(after?.isLetter ?? false || after?.isNumber ?? false) {
                ranges.append(range)
            }
            searchStart = range.upperBound
        }
        return ranges
    }

    /// A useful pair with its answer-holding documents first (otherwise in
    /// the engine's order). Measured (docs/real.md): taught with the answer
    /// anywhere among five documents, a 135M simulator learns to write
    /// plausible passages but not to copy the answer from its prompt; "the
    /// first document holds it" is a far simpler pattern, and where the
    /// answer sits among useful documents does not matter to the policy.
    static func answerFirst(_ pair: EnginePair) -> EnginePair {
        guard pair.label == .useful else { return pair }
        var ordered = pair
        let holds = pair.documents.map { containsAnswer($0, gold: pair.answers) }
        ordered.documents = zip(pair.documents, holds).filter(\.1).map(\.0) + zip(pair.documents, holds).filter { !$0.1 }.map(\.0)
        return ordered
    }
}

/// Step 4, *eval*: what an engine returns on held-out questions asked as
/// their own queries, once asking for useful documents and once for noisy.
public struct SimulatorScore: Codable, Equatable, Sendable {
    public var engine: String
    public var questions: Int
    /// Share of useful calls whose documents contain a gold answer.
    public var usefulContainsAnswer: Double
    /// Share of noisy calls whose documents contain a gold answer.
    public var noisyContainsAnswer: Double
    /// Share of useful calls whose first document's title holds a gold
    /// answer: a policy trained on such calls learns to answer with the first
    /// title, which the real engine's first title rarely is.
    public var usefulFirstTitleHoldsAnswer: Double?
    /// Share of outputs that are `topK` documents `Doc 1:` … `Doc k:`.
    public var wellFormed: Double
    /// Replies asked again (`SimulatorRedraws`), out of two calls per question.
    public var redraws: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case engine, questions, seconds, redraws
        case usefulContainsAnswer = "useful_contains_answer", noisyContainsAnswer = "noisy_contains_answer"
        case usefulFirstTitleHoldsAnswer = "useful_first_title_holds_answer"
        case wellFormed = "well_formed"
    }

    /// Scores `engine` on `questions` (gold answers shown to a simulator, as
    /// in training), `batch` calls at a time.
    public static func measure(
        _ engine: any SearchEngine, name: String, questions: [QuestionSplits.Question], topK: Int, batch: Int = 32,
        progress: (Int) -> Void = { _ in }
    ) async -> SimulatorScore {
        let started = DispatchTime.now().uptimeNanoseconds
        let redrawsBefore = (engine as? SimulatedEngine)?.statistics.redraws ?? 0
        var useful = 0
        var noisy = 0
        var wellFormed = 0
        var firstTitles = 0
        for start in stride(from: 0, to: questions.count, by: batch) {
            let slice = questions[start..<min(start + batch, questions.count)]
            let requests = slice.flatMap { question in
                [DocumentKind.useful, .noisy].map {
                    SearchRequest(query: question.question, question: question.question, goldAnswers: question.answer, kind: $0)
                }
            }
            let results = await engine.search(requests)
            for (request, result) in zip(requests, results) {
                let contains = !result.failed && containsAnswer(result.text, gold: request.goldAnswers)
                if contains { request.kind == .useful ? (useful += 1) : (noisy += 1) }
                if request.kind == .useful, !result.failed, let title = result.text.firstMatch(of: /\(Title: ([^)]*)\)/)?.1,
                    containsAnswer(String(title), gold: request.goldAnswers)
                {
                    firstTitles += 1
                }
                if !result.failed && SimulatorPrompt.isWellFormed(result.text, topK: topK) { wellFormed += 1 }
            }
            progress(min(start + batch, questions.count))
        }
        let count = Double(max(questions.count, 1))
        return SimulatorScore(
            engine: name, questions: questions.count, usefulContainsAnswer: Double(useful) / count,
            noisyContainsAnswer: Double(noisy) / count, usefulFirstTitleHoldsAnswer: Double(firstTitles) / count,
            wellFormed: Double(wellFormed) / (2 * count),
            redraws: ((engine as? SimulatedEngine)?.statistics.redraws ?? 0) - redrawsBefore,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }
}
