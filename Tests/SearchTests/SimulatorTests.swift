import Search
import Synchronization
import Testing

/// A completer that answers from a function of the prompt and records prompts.
final class ScriptedCompleter: TextCompleter {
    let name = "scripted"
    let prompts = Mutex<[String]>([])
    let reply: @Sendable (String) -> Result<String, CompletionFailure>

    init(_ reply: @escaping @Sendable (String) -> Result<String, CompletionFailure>) { self.reply = reply }

    func completions(for prompts: [String]) async -> [Result<String, CompletionFailure>] {
        self.prompts.withLock { $0 += prompts }
        return prompts.map(reply)
    }
}

@Suite struct SimulatorTests {
    let request = SearchRequest(
        query: "bridge opening", question: "When did the bridge open?",
        goldAnswers: ["1931", "October 25, 1931"], kind: .useful)

    @Test func sftPromptIsThePublishedTemplateWithEveryGoldAnswer() {
        #expect(
            SimulatorPrompt.render(request, mode: .sft) == """
                You are the Google search engine.
                Given a query, you need to generate five useful documents for the query.

                The user is trying to answer the question: "When did the bridge open?" whose answer is 1931 or October 25, 1931.
                Each document should contain about 30 words, and these documents should contain useful information.

                Query: bridge opening
                Useful Output:

                """)
        var noisy = request
        noisy.kind = .noisy
        let text = SimulatorPrompt.render(noisy, mode: .sft)
        #expect(
            text.contains("generate five noisy documents") && text.contains("should contain noisy information.")
                && text.hasSuffix("Query: bridge opening\nNoisy Output:\n"))
    }

    @Test func promptModeShowsTheDemoAndOnlyTheUsefulVariantSeesTheAnswer() {
        let useful = SimulatorPrompt.render(request, mode: .prompt)
        #expect(useful.hasPrefix("You are the Google search engine.\nGiven a query, you need to imitate the style"))
        #expect(
            useful.contains("Query: George Washington Bridge opening year\nUseful Output:\nDoc 1: The George Washington Bridge, an iconic"))
        #expect(
            useful.contains(
                "whose answer is 1931 or October 25, 1931.\nYou should generate documents that can help the user find the answer.\n"))
        #expect(useful.hasSuffix("not output any other texts.\n\nQuery: bridge opening\nUseful Output:\n"))
        var noisyRequest = request
        noisyRequest.kind = .noisy
        let noisy = SimulatorPrompt.render(noisyRequest, mode: .prompt)
        #expect(noisy.hasPrefix("You are the Google search engine. \nGiven a query"))
        #expect(noisy.contains("five related but noisy documents") && !noisy.contains("1931 or") && !noisy.contains("When did"))
        #expect(noisy.hasSuffix("Query: bridge opening\nNoisy Output:\n"))
    }

    @Test func withoutGoldAnswersNothingIsRevealed() {
        let evaluation = SearchRequest(query: "bridge opening")
        for mode in SimulatorMode.allCases {
            #expect(!SimulatorPrompt.render(evaluation, mode: mode).contains("The user is trying"))
        }
        let questionOnly = SearchRequest(query: "q", question: "Who?", goldAnswers: [])
        #expect(SimulatorPrompt.render(questionOnly, mode: .sft).contains("the question: \"Who?\".\nEach document"))
    }

    @Test func postprocessingCollapsesBlankLinesAndCutsAfterTopK() {
        let raw = "Doc 1: a\n\nDoc 2: b\n\n\nDoc 3: c\nDoc 4: d"
        // Values from the published Python expression.
        #expect(SimulatorPrompt.postprocess(raw, topK: 2) == "Doc 1: a\nDoc 2: b\n\n")
        #expect(SimulatorPrompt.postprocess(raw, topK: 5) == "Doc 1: a\nDoc 2: b\n\nDoc 3: c\nDoc 4: d")
    }

    @Test func failuresBecomeThePublishedTextAndAreCounted() async {
        let completer = ScriptedCompleter { prompt in
            if prompt.contains("Query: down") { return .failure(CompletionFailure("HTTP 500 after 3 attempts")) }
            if prompt.contains("Query: blank") { return .success("\n \n") }
            return .success("Doc 1: one\n\nDoc 2: two\nDoc 6: cut")
        }
        let engine = SimulatedEngine(mode: .sft, completer: completer, topK: 5)
        var noisy = request
        noisy.kind = .noisy
        let results = await engine.search([request, SearchRequest(query: "down"), SearchRequest(query: "blank"), noisy])
        #expect(results[0] == SearchResult(text: "Doc 1: one\nDoc 2: two"))
        #expect(results[1] == .failed("HTTP 500 after 3 attempts"))
        #expect(results[1].text == "No information available")
        #expect(results[2].failed)
        #expect(engine.statistics == SimulatorCounters(calls: 4, failures: 2, noisy: 1))
        #expect(completer.prompts.withLock { $0.count } == 4)
    }
}

@Suite struct SimulatorRedrawTests {
    static let five = (1...5).map { "Doc \($0): text \($0)" }.joined(separator: "\n")
    let redraws = SimulatorRedraws(limit: 2) { documents, gold in gold.contains { documents.contains($0) } }

    /// Replies to each prompt in turn from its own script (the last reply repeats).
    static func completer(_ scripts: [String: [Result<String, CompletionFailure>]]) -> ScriptedCompleter {
        let asked = Mutex<[String: Int]>([:])
        return ScriptedCompleter { prompt in
            let query = scripts.keys.first { prompt.contains("Query: \($0)\n") }!
            let turn = asked.withLock { counts in
                defer { counts[query, default: 0] += 1 }
                return counts[query, default: 0]
            }
            return scripts[query]![min(turn, scripts[query]!.count - 1)]
        }
    }

    func request(_ query: String, _ kind: DocumentKind) -> SearchRequest {
        SearchRequest(query: query, question: "Which year?", goldAnswers: ["1931"], kind: kind)
    }

    @Test func malformedRepliesAndNoisyAnswersAreAskedAgainUpToTheLimit() async {
        let leaking = Self.five.replacingOccurrences(of: "text 2", with: "opened in 1931")
        let completer = Self.completer([
            "fine": [.success(Self.five)],
            "short": [.success("Doc 1: only one"), .success(Self.five)],
            "leak": [.success(leaking)],
            // Useful documents may hold the answer: only noisy ones are redrawn for it.
            "useful": [.success(leaking)],
            "down": [.success("Doc 1: cut"), .failure(CompletionFailure("HTTP 500"))],
        ])
        let engine = SimulatedEngine(mode: .sft, completer: completer, redraws: redraws)
        let results = await engine.search([
            request("fine", .noisy), request("short", .noisy), request("leak", .noisy), request("useful", .useful),
            request("down", .useful),
        ])
        #expect(results.map(\.text) == [Self.five, Self.five, leaking, leaking, "Doc 1: cut"])
        let asked = completer.prompts.withLock { $0 }.map { prompt in
            ["fine", "short", "leak", "useful", "down"].first { prompt.contains("Query: \($0)\n") }!
        }
        #expect(asked.filter { $0 == "fine" }.count == 1 && asked.filter { $0 == "useful" }.count == 1)
        #expect(asked.filter { $0 == "short" }.count == 2)
        // The limit holds, and the last reply counts; a failed redraw keeps the reply before it.
        #expect(asked.filter { $0 == "leak" }.count == 3 && asked.filter { $0 == "down" }.count == 3)
        #expect(engine.statistics.redraws == 1 + 2 + 2 && engine.statistics.failures == 0)
    }

    @Test func withoutRedrawsEveryReplyIsKept() async {
        let completer = Self.completer(["short": [.success("Doc 1: only one"), .success(Self.five)]])
        let engine = SimulatedEngine(mode: .sft, completer: completer)
        #expect(await engine.search([request("short", .noisy)]).map(\.text) == ["Doc 1: only one"])
        #expect(completer.prompts.withLock { $0.count } == 1 && engine.statistics.redraws == 0)
    }

    @Test func wellFormedMeansExactlyTopKNumberedDocumentsWithText() {
        #expect(SimulatorPrompt.isWellFormed(Self.five, topK: 5))
        #expect(!SimulatorPrompt.isWellFormed(Self.five, topK: 4))
        #expect(!SimulatorPrompt.isWellFormed(Self.five.replacingOccurrences(of: "Doc 3: text 3", with: "Doc 3:"), topK: 5))
        #expect(!SimulatorPrompt.isWellFormed(Self.five.replacingOccurrences(of: "Doc 2", with: "Doc 7"), topK: 5))
    }
}
