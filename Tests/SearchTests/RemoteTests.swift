import Foundation
import Search
import TestSupport
import Testing

/// Short pauses so that every failure path runs in well under a second: each
/// test's server scripts the misbehaviour it checks. Deadlines are short only
/// where a deadline is under test; elsewhere a busy machine must not trip them.
private let quick = RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10), maxDelay: .milliseconds(40))
private let deadline = Duration.milliseconds(200)

private func client(
    _ servers: [TestHTTPServer], timeout: Duration = .seconds(5),
    retry: RetryPolicy = quick, concurrency: Int = 10
) -> JSONHTTPClient {
    JSONHTTPClient(.init(servers: servers.map(\.url), timeout: timeout, retry: retry, maxConcurrentRequests: concurrency))
}

private struct Echo: Codable, Equatable, Sendable {
    var value: Int
}

private func elapsed<T>(_ body: () async -> T) async -> (T, Duration) {
    let start = ContinuousClock.now
    let result = await body()
    return (result, .now - start)
}

@Suite(.serialized) struct HTTPClientTests {
    @Test func slowAnswersHitTheDeadline() async {
        let server = TestHTTPServer { _, _ in .json(#"{"value": 1}"#, after: .seconds(120)) }
        defer { server.stop() }
        let (result, time) = await elapsed {
            await client([server], timeout: deadline, retry: .init(maxAttempts: 2, initialDelay: .milliseconds(10))).post(
                "x", json: Echo(value: 1), as: Echo.self)
        }
        #expect(result == .failure(HTTPFailure(reason: .timeout(deadline), server: "http://127.0.0.1:\(server.port)", attempts: 2)))
        // Below the server's delay; the failure's reason already shows the
        // deadline cut the call. Generous, because tests that compute on
        // Swift's concurrency pool delay the task's resumption (36 s was seen
        // with the tiny demo test and a demo run sharing the two cores).
        #expect(time < .seconds(100))
    }

    @Test(arguments: [TestHTTPServer.Reply.silence, .partial])
    func serversThatStallMidwayHitTheDeadline(reply: TestHTTPServer.Reply) async {
        let server = TestHTTPServer { _, _ in reply }
        defer { server.stop() }
        let (result, time) = await elapsed {
            await client([server], timeout: deadline, retry: .init(maxAttempts: 1)).get("x", as: Echo.self)
        }
        #expect(result == .failure(HTTPFailure(reason: .timeout(deadline), server: "http://127.0.0.1:\(server.port)", attempts: 1)))
        // Below the server's 120 s wait for the client to hang up.
        #expect(time < .seconds(100))
    }

    /// A server that never answers costs a call its overall deadline, not
    /// the per-attempt timeout times the attempts.
    @Test func aServerThatNeverAnswersFailsWithinTheCallsDeadline() async {
        let server = TestHTTPServer { _, _ in .silence }
        defer { server.stop() }
        let callDeadline = Duration.milliseconds(600)
        let retry = RetryPolicy(maxAttempts: 10, initialDelay: .milliseconds(10), deadline: callDeadline)
        let (result, time) = await elapsed {
            await client([server], timeout: .milliseconds(250), retry: retry).get("x", as: Echo.self)
        }
        guard case .failure(let failure) = result else {
            Issue.record("a silent server answered")
            return
        }
        #expect(failure.reason == .deadline(callDeadline))
        #expect((2...4).contains(failure.attempts), "attempts of 250 ms within 600 ms: \(failure.attempts)")
        #expect(time < .seconds(100))
    }

    /// An answer over the cap is stopped there and fails the call at once.
    @Test func anAnswerOverTheCapIsRefused() async {
        let big = #"{"value": 1, "padding": ""# + String(repeating: "x", count: 300_000) + #""}"#
        let server = TestHTTPServer { _, _ in .json(big) }
        defer { server.stop() }
        let capped = JSONHTTPClient(.init(servers: [server.url], maxResponseBytes: 100_000, retry: quick))
        let result = await capped.get("x", as: Echo.self)
        #expect(result == .failure(HTTPFailure(reason: .tooLarge(100_000), server: "http://127.0.0.1:\(server.port)", attempts: 1)))
        let roomy = JSONHTTPClient(.init(servers: [server.url], maxResponseBytes: 1_000_000, retry: quick))
        #expect(await roomy.get("x", as: Echo.self) == .success(Echo(value: 1)))
    }

    @Test func serverErrorsAreRetriedThenReported() async throws {
        let server = TestHTTPServer { _, _ in .json("", status: 500) }
        defer { server.stop() }
        let http = client([server])
        let result = await http.post("x", json: Echo(value: 1), as: Echo.self)
        #expect(try #require(result.failure).description == "http://127.0.0.1:\(server.port): HTTP 500 after 3 attempts")
        #expect(server.requests.count == 3)
        let metrics = http.metrics
        #expect((metrics.calls, metrics.failures, metrics.retries) == (1, 1, 2))
        #expect(metrics.totalLatency > .zero)
    }

    @Test func malformedAnswersAreRetriedThenReported() async throws {
        let server = TestHTTPServer { _, number in .json(number == 0 ? "{not json" : #"{"valu": 1}"#) }
        defer { server.stop() }
        let result = await client([server]).post("x", json: Echo(value: 1), as: Echo.self)
        #expect(
            try #require(result.failure).description
                == "http://127.0.0.1:\(server.port): malformed answer: no value in the top level after 3 attempts")
        #expect(server.requests.count == 3)
    }

    @Test func transientFailuresRecover() async {
        let server = TestHTTPServer { _, number in
            switch number {
            case 0: .json("busy", status: 503)
            case 1: .drop
            case 2: .json("slow down", status: 429)
            default: .json(#"{"value": 7}"#)
            }
        }
        defer { server.stop() }
        // The HTTP stack itself may re-send a request whose connection was
        // dropped, which uses up one scripted answer without an attempt of ours.
        let http = client([server], retry: .init(maxAttempts: 5, initialDelay: .milliseconds(10)))
        #expect(await http.post("x", json: Echo(value: 1), as: Echo.self) == .success(Echo(value: 7)))
        #expect((http.metrics.calls, http.metrics.failures) == (1, 0))
        #expect((2...3).contains(http.metrics.retries))
    }

    @Test func clientErrorsAreNotRetried() async throws {
        let server = TestHTTPServer { _, _ in .json(#"{"error": "Invalid API key."}"#, status: 401) }
        defer { server.stop() }
        let result = await client([server]).get("x", as: Echo.self)
        #expect(
            try #require(result.failure).description
                == #"http://127.0.0.1:\#(server.port): HTTP 401 ({"error": "Invalid API key."}) after 1 attempt"#)
        #expect(server.requests.count == 1)
    }

    @Test func cancellationEndsACallAtOnce() async {
        let server = TestHTTPServer { _, _ in .silence }
        defer { server.stop() }
        let http = client([server])
        let call = Task { await http.get("x", as: Echo.self) }
        try? await Task.sleep(for: .milliseconds(100))
        let (result, time) = await elapsed {
            call.cancel()
            return await call.value
        }
        #expect(result.failure?.reason == .cancelled)
        #expect(time < .seconds(1))
    }

    @Test func refusedConnectionsFailQuickly() async throws {
        let closed = TestHTTPServer { _, _ in .drop }
        closed.stop()
        let (result, time) = await elapsed { await client([closed]).get("x", as: Echo.self) }
        #expect(try #require(result.failure).description == "http://127.0.0.1:\(closed.port): connection refused after 3 attempts")
        #expect(time < .seconds(2))
    }

    @Test func requestsCarryTheBodyHeadersAndAnEscapedQuery() async throws {
        let server = TestHTTPServer { _, _ in .json(#"{"value": 2}"#) }
        defer { server.stop() }
        let http = JSONHTTPClient(.init(servers: [server.url.appendingPathComponent("api")], headers: ["X-Key": "k"]))
        _ = await http.post("v1/echo", json: Echo(value: 5), as: Echo.self)
        _ = await http.get("search", query: [("q", "C++ & Rust = 100%?"), ("n", "3")], as: Echo.self)
        try #require(server.requests.count == 2)
        let (post, get) = (server.requests[0], server.requests[1])
        #expect(
            (post.method, post.path, post.headers["content-type"], post.headers["x-key"]) == (
                "POST", "/api/v1/echo", "application/json", "k"
            ))
        #expect(post.json?["value"] as? Int == 5)
        #expect((get.method, get.path, get.query) == ("GET", "/api/search", ["q": "C++ & Rust = 100%?", "n": "3"]))
    }

    @Test func retriesMoveToAnotherServer() async {
        let broken = TestHTTPServer { _, _ in .json("", status: 500) }
        let healthy = TestHTTPServer { _, _ in .json(#"{"value": 1}"#) }
        defer {
            broken.stop()
            healthy.stop()
        }
        let http = client([broken, healthy], retry: .init(maxAttempts: 2, initialDelay: .milliseconds(10)))
        for _ in 0..<6 { #expect(await http.get("x", as: Echo.self) == .success(Echo(value: 1))) }
        #expect(broken.requests.count == 3)
        #expect(healthy.requests.count == 6)
    }

    /// Clients made separately (separate processes, each with one search)
    /// do not all send their first call to the first server.
    @Test func separateClientsStartAtDifferentServers() async {
        let servers = (0..<2).map { _ in TestHTTPServer { _, _ in .json(#"{"value": 1}"#) } }
        defer { servers.forEach { $0.stop() } }
        for _ in 0..<20 { _ = await client(servers).get("x", as: Echo.self) }
        // All 20 on one server: a chance of 2 in 2^20.
        #expect(servers.allSatisfy { $0.requests.count > 0 }, "\(servers.map(\.requests.count))")
    }

    @Test func callsSpreadOverServers() async {
        let servers = (0..<3).map { _ in TestHTTPServer { _, _ in .json(#"{"value": 1}"#, after: .milliseconds(30)) } }
        defer { servers.forEach { $0.stop() } }
        let http = client(servers, concurrency: 6)
        for _ in 0..<6 { _ = await http.get("x", as: Echo.self) }
        #expect(servers.map(\.requests.count) == [2, 2, 2])
        _ = await concurrentMap(Array(0..<12), limit: 6) { _ in await http.get("x", as: Echo.self) }
        // Least-in-flight keeps each server at two of the six calls in flight.
        #expect(servers.allSatisfy { (4...8).contains($0.requests.count) && $0.peakConcurrency <= 2 })
        #expect(servers.map(\.requests.count).reduce(0, +) == 18)
    }

    @Test func retryPausesGrowAndStayBounded() {
        let policy = RetryPolicy(maxAttempts: 9, initialDelay: .milliseconds(100), maxDelay: .milliseconds(500))
        let pauses = (2...9).map { policy.delay(before: $0) }
        #expect(pauses[0] >= .milliseconds(50) && pauses[0] <= .milliseconds(100))
        #expect(pauses[2] >= .milliseconds(200) && pauses[2] <= .milliseconds(400))
        #expect(pauses.allSatisfy { $0 <= .milliseconds(500) })
    }
}

private let chatAnswer = #"""
    {"id": "chatcmpl-1", "object": "chat.completion", "created": 1747000000, "model": "Simulation_LLM_google_14B_V2",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Doc 1: Paris is the capital of France.\nDoc 2: …", "tool_calls": null},
                  "logprobs": null, "finish_reason": "stop", "matched_stop": 151645}],
     "usage": {"prompt_tokens": 96, "total_tokens": 130, "completion_tokens": 34}}
    """#

@Suite struct OpenAIChatClientTests {
    private func chat(_ servers: [TestHTTPServer], concurrency: Int = 10, apiKey: String? = nil) -> OpenAIChatClient {
        OpenAIChatClient(
            .init(
                servers: servers.map(\.url), apiKey: apiKey, concurrency: concurrency,
                timeout: .seconds(5), retry: quick))
    }

    @Test func sendsThePublishedRequestAndReadsTheFirstChoice() async throws {
        let server = TestHTTPServer { _, _ in .json(chatAnswer) }
        defer { server.stop() }
        let client = OpenAIChatClient(
            .init(
                servers: [server.url.appendingPathComponent("v1")], apiKey: "EMPTY",
                timeout: .seconds(5), retry: quick))
        let results = await client.complete(["Query: capital of France\nUseful Output:\n"])
        #expect(try results[0].get() == "Doc 1: Paris is the capital of France.\nDoc 2: …")
        let request = try #require(server.requests.first)
        #expect((request.method, request.path, request.headers["authorization"]) == ("POST", "/v1/chat/completions", "Bearer EMPTY"))
        let body = try #require(request.json)
        #expect(body["model"] as? String == "")
        #expect(body["max_tokens"] as? Int == 600)
        #expect(body["temperature"] as? Double == 0.8)
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(
            messages == [
                ["role": "system", "content": ""],
                ["role": "user", "content": "Query: capital of France\nUseful Output:\n"],
            ])
    }

    @Test func aMissingContentIsAFailure() async throws {
        let server = TestHTTPServer { _, number in
            .json(number == 0 ? #"{"choices": []}"# : #"{"choices": [{"message": {"role": "assistant", "content": null}}]}"#)
        }
        defer { server.stop() }
        let result = await chat([server]).complete(["q"])[0]
        #expect(
            result.failure?.description
                == "http://127.0.0.1:\(server.port): malformed answer: choices.0.message.content is null after 3 attempts")
        #expect(server.requests.first?.headers["authorization"] == nil)
    }

    @Test func theConcurrencyLimitHoldsAcrossBatches() async throws {
        let server = TestHTTPServer { _, _ in .json(chatAnswer, after: .milliseconds(60)) }
        defer { server.stop() }
        let client = chat([server], concurrency: 3)
        async let first = client.complete((0..<9).map { "a\($0)" })
        async let second = client.complete((0..<9).map { "b\($0)" })
        let results = await first + second
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(server.requests.count == 18)
        #expect(server.peakConcurrency == 3)
        #expect((client.metrics.calls, client.metrics.failures) == (18, 0))
    }

    @Test func listsServedModels() async throws {
        let server = TestHTTPServer { _, _ in
            .json(#"{"object": "list", "data": [{"id": "Qwen/Qwen2.5-3B-Instruct", "object": "model", "owned_by": "vllm"}]}"#)
        }
        defer { server.stop() }
        #expect(try await chat([server]).servedModels().get() == ["Qwen/Qwen2.5-3B-Instruct"])
        #expect(server.requests.first?.path == "/v1/models")
    }
}

/// A Search-R1 `/retrieve` answer: wiki-18 documents whose `contents` is the
/// quoted title, a newline, then the passage.
private func searchR1Answer(for request: TestHTTPServer.Request, scores: Bool = false) -> String {
    let queries = request.json?["queries"] as? [String] ?? []
    let lists = queries.map { query in
        let docs = (1...3).map { rank in
            let document = #"{"id": "\#(rank)", "contents": "\"\#(query) \#(rank)\"\npassage \#(rank) about \#(query)\nsecond line"}"#
            return scores ? #"{"document": \#(document), "score": 0.\#(9 - rank)}"# : document
        }
        return "[" + docs.joined(separator: ", ") + "]"
    }
    return #"{"result": [\#(lists.joined(separator: ", "))]}"#
}

@Suite struct RetrieverEngineTests {
    private func engine(_ server: TestHTTPServer, api: RetrieverEngine.API = .searchR1, batchSize: Int = 256) -> RetrieverEngine {
        RetrieverEngine(
            .init(
                servers: [server.url], api: api, topK: 2, batchSize: batchSize,
                timeout: .seconds(5), retry: quick))
    }

    @Test(arguments: [false, true])
    func searchR1BatchesAndRendersTitles(scores: Bool) async throws {
        let server = TestHTTPServer { request, _ in .json(searchR1Answer(for: request, scores: scores)) }
        defer { server.stop() }
        let results = await engine(server, batchSize: 2).search(["alpha", "beta", "gamma"].map { SearchRequest(query: $0) })
        #expect(
            results.map(\.text)
                == ["alpha", "beta", "gamma"].map {
                    "Doc 1(Title: \"\($0) 1\") passage 1 about \($0)\nsecond line\nDoc 2(Title: \"\($0) 2\") passage 2 about \($0)\nsecond line"
                })
        #expect(server.requests.count == 2)
        let body = try #require(server.requests.first { ($0.json?["queries"] as? [String])?.count == 2 }?.json)
        #expect(body["topk"] as? Int == 2)
        #expect(body["return_scores"] as? Bool == false)
        #expect(server.requests.allSatisfy { $0.path == "/retrieve" })
    }

    @Test func aShortAnswerFailsItsWholeBatch() async {
        let server = TestHTTPServer { _, _ in .json(#"{"result": [[]]}"#) }
        defer { server.stop() }
        let results = await engine(server).search([SearchRequest(query: "a"), SearchRequest(query: "b")])
        #expect(
            results.allSatisfy { $0.text == "No information available" && $0.failure?.contains("1 result lists for 2 queries") == true })
    }

    @Test func zeroSearchFormSendsOneQueryPerCall() async throws {
        let server = TestHTTPServer { request, _ in
            let query = request.json?["query"] as? String ?? ""
            return .json(#"[{"text": "\#(query) one"}, {"text": "\#(query) two"}, {"text": "\#(query) three"}]"#)
        }
        defer { server.stop() }
        let results = await engine(server, api: .zeroSearch).search([SearchRequest(query: "x"), SearchRequest(query: "y")])
        #expect(results.map(\.text) == ["Doc 1: x one\nDoc 2: x two", "Doc 1: y one\nDoc 2: y two"])
        #expect(Set(server.requests.compactMap { $0.json?["top_k"] as? Int }) == [2])
    }

    @Test func failedCallsReadAsNoInformationAndAreCounted() async {
        let server = TestHTTPServer { _, _ in .json("{\"detail\": \"Internal Server Error\"}", status: 500) }
        defer { server.stop() }
        let retriever = engine(server, api: .zeroSearch)
        let results = await retriever.search((0..<4).map { SearchRequest(query: "q\($0)") })
        #expect(results.allSatisfy { $0.text == "No information available" && $0.failed })
        #expect(results[0].failure == #"http://127.0.0.1:\#(server.port): HTTP 500 ({"detail": "Internal Server Error"}) after 3 attempts"#)
        #expect((retriever.metrics.calls, retriever.metrics.failures, retriever.metrics.retries) == (4, 4, 8))
        let before = retriever.metrics
        _ = await retriever.search([SearchRequest(query: "again")])
        let batch = retriever.metrics - before
        #expect((batch.calls, batch.failures, batch.retries) == (1, 1, 2))
    }
}

/// A SerpAPI `engine=google` answer in its published layout, trimmed to the
/// fields around the ones read.
private let serpAnswer = #"""
    {
      "search_metadata": {"id": "6650a1", "status": "Success", "json_endpoint": "https://serpapi.com/searches/6650a1.json",
                          "created_at": "2025-05-01 10:00:00 UTC", "total_time_taken": 1.12},
      "search_parameters": {"engine": "google", "q": "capital of france", "google_domain": "google.com", "num": "3", "device": "desktop"},
      "search_information": {"query_displayed": "capital of france", "total_results": 1250000000, "time_taken_displayed": 0.41},
      "answer_box": {"type": "organic_result", "title": "Paris", "snippet": "Paris is the capital of France."},
      "organic_results": [
        {"position": 1, "title": "Paris - Wikipedia", "link": "https://en.wikipedia.org/wiki/Paris",
         "displayed_link": "https://en.wikipedia.org › wiki › Paris", "favicon": "https://serpapi.com/f.png",
         "snippet": "Paris is the capital and largest city of France.", "snippet_highlighted_words": ["capital"], "source": "Wikipedia"},
        {"position": 2, "title": "Paris | Definition, Map, Population", "link": "https://www.britannica.com/place/Paris",
         "snippet": "Paris, city and capital of France, located along the Seine River.", "source": "Britannica"},
        {"position": 3, "title": "Paris Travel Guide", "link": "https://example.com/paris"},
        {"position": 4, "title": "Fourth", "link": "https://example.com/4", "snippet": "Not asked for."}
      ],
      "related_searches": [{"query": "capital of germany", "link": "https://www.google.com/search?q=capital+of+germany"}],
      "pagination": {"current": 1, "next": "https://www.google.com/search?q=capital+of+france&start=10"}
    }
    """#

@Suite struct GoogleEngineTests {
    private func google(_ server: TestHTTPServer, topK: Int = 3) throws -> GoogleEngine {
        try GoogleEngine(.init(apiKey: "secret-key", server: server.url, topK: topK, timeout: .seconds(5), retry: quick))
    }

    @Test func readsOrganicResultsAsPublished() async throws {
        let server = TestHTTPServer { _, _ in .json(serpAnswer) }
        defer { server.stop() }
        let results = try await google(server).search([SearchRequest(query: "capital of france?", question: "q", goldAnswers: ["Paris"])])
        #expect(
            results == [
                SearchResult(
                    text: """
                        Doc 1: Paris - WikipediaParis is the capital and largest city of France.
                        Doc 2: Paris | Definition, Map, PopulationParis, city and capital of France, located along the Seine River.
                        Doc 3: Paris Travel Guide
                        """)
            ])
        let request = try #require(server.requests.first)
        #expect((request.method, request.path) == ("GET", "/search.json"))
        #expect(request.query == ["engine": "google", "q": "capital of france?", "api_key": "secret-key", "num": "3"])
    }

    @Test func noResultsAndBadKeysAreFailuresThatNameTheReason() async throws {
        let server = TestHTTPServer { request, _ in
            request.query["q"] == "nothing"
                ? .json(#"{"search_metadata": {"status": "Success"}, "error": "Google hasn't returned any results for this query."}"#)
                : .json(#"{"error": "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}"#, status: 401)
        }
        defer { server.stop() }
        let engine = try google(server)
        let results = await engine.search([SearchRequest(query: "nothing"), SearchRequest(query: "anything")])
        #expect(results.map(\.text) == ["No information available", "No information available"])
        #expect(results[0].failure == "google:http://127.0.0.1:\(server.port): Google hasn't returned any results for this query.")
        #expect(
            results[1].failure?.hasSuffix(
                "HTTP 401 ({\"error\": \"Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key\"}) after 1 attempt"
            ) == true)
        #expect(results.allSatisfy { $0.failure?.contains("secret-key") == false })
        #expect((engine.metrics.calls, engine.metrics.failures, engine.metrics.retries) == (2, 1, 0))
    }

    @Test func aMissingKeyFailsAtOnce() {
        var configuration = GoogleEngine.Configuration()
        configuration.apiKey = nil
        #expect(throws: GoogleEngine.MissingKey.self) { try GoogleEngine(configuration) }
    }
}

extension Result {
    var failure: Failure? {
        if case let .failure(failure) = self { return failure }
        return nil
    }
}
