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
