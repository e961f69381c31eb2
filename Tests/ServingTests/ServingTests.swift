import Demo
import Foundation
import Generation
import Logging
import Search
import Serving
import Support
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The scheduler alone: continuous batching, refusals, cancellation.
@Suite struct BatchSchedulerTests {
    static let tinyModel = Demo.quickBase(seed: 1)!

    static func served(_ limits: BatchScheduler.Limits = .init()) throws -> ServedModel {
        try ServedModel(LoadedModel(tinyModel), name: "tiny", limits: limits)
    }

    static func greedy(_ tokens: Int, stop: [String] = []) -> GenerationSettings {
        var settings = GenerationSettings(maxTokens: tokens, sampling: SamplingParameters(temperature: 0), stop: stop)
        settings.seed = 1
        return settings
    }

    /// A request that arrives while another decodes joins the running batch
    /// and finishes first; what each writes does not depend on its company.
    /// (Step counts, not clocks: the tests share the CPU with other suites.)
    @Test func newcomersJoinTheRunningBatch() async throws {
        let served = try Self.served()
        let scheduler = served.scheduler
        let prompt = served.model.tokenizer.encode("The river", addSpecialTokens: true)
        let short = served.model.tokenizer.encode("Question: who", addSpecialTokens: true)
        let aloneLong = try await scheduler.submit(prompt: prompt, settings: Self.greedy(400)).collect()
        let aloneShort = try await scheduler.submit(prompt: short, settings: Self.greedy(8)).collect()
        try #require(aloneLong.completionTokens > 100, "the long request outlasts the short one: \(aloneLong.completionTokens)")

        let long = try scheduler.submit(prompt: prompt, settings: Self.greedy(400))
        let decodingFrom = scheduler.load.steps + 3
        // Blocking on purpose: the newcomer is sent from this thread the moment the long request has decoded a few tokens.
        while scheduler.load.steps < decodingFrom { usleep(50) }
        let newcomer = try scheduler.submit(prompt: short, settings: Self.greedy(8))
        async let longOutput = long.collect()
        let together = await newcomer.collect()
        let longTogether = await longOutput
        #expect(together.text == aloneShort.text && together.reason == aloneShort.reason)
        #expect(longTogether.text == aloneLong.text && longTogether.reason == aloneLong.reason)
        #expect(together.finish.admittedStep > longTogether.finish.admittedStep, "the newcomer arrived while the long one ran")
        #expect(together.finish.finishedStep < longTogether.finish.finishedStep, "and left before it")
        #expect(
            together.finish.finishedStep - together.finish.admittedStep <= 9,
            "one prefill step and 8 decode steps, not a wait for the batch to drain: \(together.finish)")
    }

    /// Past the batch and the waiting line a request is refused at once; a
    /// cancelled request leaves the batch and frees its slot.
    @Test func aFullQueueRefusesAndCancellingFreesTheSlot() async throws {
        let served = try Self.served(.init(maxBatch: 1, maxWaiting: 1))
        let prompt = served.model.tokenizer.encode("The river", addSpecialTokens: true)
        // One slot and one place in line: whether or not the first has been
        // admitted yet, the third request finds no room.
        let running = try served.scheduler.submit(prompt: prompt, settings: Self.greedy(1000))
        let waiting = try served.scheduler.submit(prompt: prompt, settings: Self.greedy(1000))
        #expect(throws: SchedulerRefusal.queueFull) { try served.scheduler.submit(prompt: prompt, settings: Self.greedy(4)) }
        waiting.cancel()
        running.cancel()
        let cancelled = await running.collect()
        #expect(cancelled.reason == "cancelled" && cancelled.completionTokens < 1000)
        #expect(await waiting.collect().reason == "cancelled")
        let after = try await served.scheduler.submit(prompt: prompt, settings: Self.greedy(4)).collect()
        #expect(after.reason == "length" && after.completionTokens == 4)
        #expect(served.scheduler.load.running == 0 && served.scheduler.load.waiting == 0)
    }

    /// A stop string ends the output before it, and no piece of it is sent.
    @Test func aStopStringIsNeverSent() async throws {
        let served = try Self.served()
        let prompt = served.model.tokenizer.encode("The river", addSpecialTokens: true)
        let free = try await served.scheduler.submit(prompt: prompt, settings: Self.greedy(60)).collect()
        let words = free.text.split(separator: " ")
        try #require(words.count > 4)
        let stop = " " + words[3]
        let stopped = try await served.scheduler.submit(prompt: prompt, settings: Self.greedy(60, stop: [stop])).collect()
        #expect(stopped.reason == "stop")
        #expect(free.text.hasPrefix(stopped.text) && !stopped.text.contains(stop))
        #expect(free.text.dropFirst(stopped.text.count).hasPrefix(stop))
    }
}

/// The HTTP server on a free port, spoken to as its clients do.
@Suite(.serialized) struct ServerTests {
    struct Running {
        let base: URL
        let task: Task<Void, any Error>
    }

    /// Stopping a server by cancelling its task logs errors that say nothing here.
    static let quietLogger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    static func start(_ server: Server) async throws -> Running {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run(logger: Self.quietLogger) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return Running(base: URL(string: "http://127.0.0.1:\(port)")!, task: task)
    }

    static func server(engine: (any SearchEngine)? = nil, options: ServeOptions = ServeOptions()) throws -> Server {
        var options = options
        options.port = 0
        return Server(served: try BatchSchedulerTests.served(options.limits), engine: engine, options: options)
    }

    static func post(_ base: URL, _ path: String, _ body: String) async throws -> (status: Int, body: JSONValue, retryAfter: String?) {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (
            http.statusCode, (try? JSONValue.parse(data)) ?? .string(String(decoding: data, as: UTF8.self)),
            http.value(forHTTPHeaderField: "Retry-After")
        )
    }

    /// ZeroSearch's own simulator request (content parts, `model: ""`, an
    /// empty system message) and the plain form agree; `n` and `seed` work;
    /// usage counts the tokens.
    @Test func chatCompletionsAsClientsSendThem() async throws {
        let running = try await Self.start(try Self.server())
        defer { running.task.cancel() }
        let parts = """
            {"model": "", "messages": [{"role": "system", "content": ""}, {"role": "user", "content": [{"type": "text", "text": "Who wrote it?"}]}],
             "max_tokens": 24, "temperature": 0.8, "seed": 7, "n": 2}
            """
        let plain = """
            {"model": "tiny", "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Who wrote it?"}],
             "max_tokens": 24, "temperature": 0.8, "seed": 7, "n": 2}
            """
        let a = try await Self.post(running.base, "v1/chat/completions", parts)
        let b = try await Self.post(running.base, "v1/chat/completions", plain)
        #expect(a.status == 200 && b.status == 200, "\(a.body)")
        let choices = try #require(a.body["choices"]?.list)
        #expect(choices.count == 2)
        let texts = choices.compactMap { $0["message"]?["content"]?.string }
        #expect(texts.count == 2 && texts[0] != texts[1], "two choices, two seeds")
        #expect(a.body["choices"] == b.body["choices"], "content parts read as the string")
        let usage = try #require(a.body["usage"])
        #expect((usage["completion_tokens"]?.int ?? 0) > 0 && (usage["completion_tokens"]?.int ?? 99) <= 48)
        #expect(usage["total_tokens"]?.int == (usage["prompt_tokens"]?.int ?? 0) + (usage["completion_tokens"]?.int ?? 0))
    }

    /// Streamed deltas add up to the whole answer, then `[DONE]`.
    @Test func streamingSendsTheSameText() async throws {
        let running = try await Self.start(try Self.server())
        defer { running.task.cancel() }
        let body = #"{"prompt": "The river", "max_tokens": 30, "temperature": 0, "logprobs": 2"#
        let whole = try await Self.post(running.base, "v1/completions", body + "}")
        var request = URLRequest(url: running.base.appendingPathComponent("v1/completions"))
        request.httpMethod = "POST"
        request.httpBody = Data((body + #", "stream": true, "stream_options": {"include_usage": true}}"#).utf8)
        let (events, _) = try await URLSession.shared.data(for: request)
        var pieces: [JSONValue] = []
        var done = false
        for line in String(decoding: events, as: UTF8.self).split(separator: "\n") where line.hasPrefix("data: ") {
            let payload = String(line.dropFirst(6))
            if payload == "[DONE]" { done = true } else { pieces.append(try JSONValue.parse(payload)) }
        }
        #expect(done)
        let text = pieces.compactMap { $0["choices"]?.list?.first?["text"]?.string }.joined()
        #expect(text == whole.body["choices"]?.list?.first?["text"]?.string)
        #expect(pieces.last?["usage"]?["completion_tokens"] == whole.body["usage"]?["completion_tokens"])
        let tokens = pieces.compactMap { $0["choices"]?.list?.first?["logprobs"]?["tokens"]?.list?.count }.reduce(0, +)
        #expect(.int(Int64(tokens)) == whole.body["usage"]?["completion_tokens"])
        // Offsets run on across chunks, as in the whole answer.
        let streamedOffsets = pieces.flatMap { $0["choices"]?.list?.first?["logprobs"]?["text_offset"]?.list ?? [] }
        #expect(whole.body["choices"]?.list?.first?["logprobs"]?["text_offset"] == .list(streamedOffsets))
        #expect(streamedOffsets.count == tokens && Set(streamedOffsets.compactMap(\.int)).count == tokens)
    }

    /// Bad requests answer 400 naming the field; a full server 429 with Retry-After.
    @Test func badRequestsAndAFullServerAnswerAtOnce() async throws {
        var options = ServeOptions()
        options.limits = .init(maxBatch: 1, maxWaiting: 0)
        let server = try Self.server(options: options)
        let running = try await Self.start(server)
        defer { running.task.cancel() }
        let cases: [(String, String?)] = [
            ("{bad", nil),
            (#"{"messages": []}"#, "messages"),
            (#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 5000}"#, "max_tokens"),
            (#"{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}"#, "temperature"),
            (#"{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#, "messages[0].content[0]"),
            (#"{"messages": [{"role": "robot", "content": "x"}]}"#, "messages[0].role"),
            (#"{"messages": [{"role": "user", "content": "x"}], "n": 0}"#, "n"),
            (#"{"messages": [{"role": "user", "content": "x"}], "stop": [1]}"#, "stop"),
        ]
        for (body, field) in cases {
            let answer = try await Self.post(running.base, "v1/chat/completions", body)
            #expect(answer.status == 400, "\(body)")
            #expect(answer.body["error"]?["param"] == (field.map(JSONValue.string) ?? .null), "\(body): \(answer.body)")
            #expect(answer.body["error"]?["type"] == "invalid_request_error")
        }
        // One long request fills the only slot; the next is refused at once.
        let long = Task {
            try await Self.post(running.base, "v1/completions", #"{"prompt": "The river", "max_tokens": 1000, "temperature": 1}"#)
        }
        try await waitUntil { (server.served?.scheduler.load.steps ?? 0) > 0 }
        let refused = try await Self.post(running.base, "v1/completions", #"{"prompt": "x", "max_tokens": 2}"#)
        #expect(refused.status == 429 && refused.retryAfter == "1", "\(refused)")
        _ = try await long.value
    }

    /// A client that hangs up mid-generation frees its batch slot at once.
    @Test func aClientThatHangsUpFreesItsSlot() async throws {
        var options = ServeOptions()
        options.limits = .init(maxBatch: 1, maxWaiting: 0)
        let server = try Self.server(options: options)
        let running = try await Self.start(server)
        defer { running.task.cancel() }
        let scheduler = try #require(server.served?.scheduler)
        let long = Task {
            try await Self.post(running.base, "v1/completions", #"{"prompt": "The river", "max_tokens": 1000, "temperature": 1}"#)
        }
        try await waitUntil { scheduler.load.steps > 0 }
        let stepsAtHangUp = scheduler.load.steps
        long.cancel()
        try await waitUntil { scheduler.load.running == 0 }
        #expect(scheduler.load.cancelled == 1, "the generation was cancelled, not finished")
        #expect(scheduler.load.steps - stepsAtHangUp < 900, "it stopped early, not at its 1,000-token limit")
        let next = try await Self.post(running.base, "v1/completions", #"{"prompt": "x", "max_tokens": 2}"#)
        #expect(next.status == 200, "the slot is free again")
    }

    /// A request past the deadline is cancelled and answered 504.
    @Test func theDeadlineCancels() async throws {
        var options = ServeOptions()
        options.deadline = .milliseconds(30)
        let running = try await Self.start(try Self.server(options: options))
        defer { running.task.cancel() }
        let answer = try await Self.post(
            running.base, "v1/completions", #"{"prompt": "The river", "max_tokens": 1000, "temperature": 1, "seed": 1}"#)
        #expect(answer.status == 504, "\(answer.body)")
    }

    /// `/retrieve` in Search-R1's batch form and ZeroSearch's single form over
    /// BM25; `/health`, `/v1/models` and `/metrics` answer.
    @Test func retrievalHealthModelsAndMetrics() async throws {
        var builder = BM25Builder()
        builder.add(Passage(id: "p0", title: "Hamlet", text: "Hamlet is a tragedy written by William Shakespeare."))
        builder.add(Passage(id: "p1", title: "Paris", text: "Paris is the capital of France."))
        let running = try await Self.start(try Self.server(engine: BM25Engine(index: try builder.build(), topK: 3)))
        defer { running.task.cancel() }
        let batch = try await Self.post(
            running.base, "retrieve", #"{"queries": ["who wrote hamlet", "capital of france"], "topk": 1, "return_scores": true}"#)
        #expect(batch.status == 200)
        let result = try #require(batch.body["result"]?.list)
        #expect(result.count == 2)
        #expect(result[0].list?.first?["document"]?["id"] == "p0")
        #expect(result[0].list?.first?["document"]?["contents"] == "Hamlet\nHamlet is a tragedy written by William Shakespeare.")
        #expect((result[0].list?.first?["score"]?.number ?? 0) > 0)
        #expect(result[1].list?.first?["document"]?["id"] == "p1")
        let single = try await Self.post(running.base, "retrieve", #"{"query": "capital of france", "top_k": 1}"#)
        #expect(single.body == .list([.object([.init("text", "Paris is the capital of France.")])]))
        #expect(try await Self.post(running.base, "retrieve", #"{"queries": "x"}"#).status == 400)

        let (health, _) = try await URLSession.shared.data(from: running.base.appendingPathComponent("health"))
        #expect(try JSONValue.parse(health)["status"] == "ok")
        let (models, _) = try await URLSession.shared.data(from: running.base.appendingPathComponent("v1/models"))
        #expect(try JSONValue.parse(models)["data"]?.list?.first?["id"] == "tiny")
        let (metrics, _) = try await URLSession.shared.data(from: running.base.appendingPathComponent("metrics"))
        let text = String(decoding: metrics, as: UTF8.self)
        for name in [
            "zerosearch_requests_total{endpoint=\"retrieve\",status=\"200\"} 2", "zerosearch_queue_length", "zerosearch_batch_size",
            "zerosearch_tokens_per_second", "zerosearch_request_duration_seconds_bucket",
        ] {
            #expect(text.contains(name), "\(name) in \(text)")
        }
    }
}

/// Polls `condition` every millisecond; fails the test after `limit`.
func waitUntil(
    _ limit: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool
) async throws {
    let start = ContinuousClock.now
    while !condition() {
        guard ContinuousClock.now - start < limit else {
            Issue.record("condition not met within \(limit)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// Incremental detokenisation: the text grows by whole characters and ends
/// as the whole output decoded at once.
@Suite struct IncrementalTextTests {
    @Test func piecesAddUpToTheWholeDecode() throws {
        let model = try LoadedModel(BatchSchedulerTests.tinyModel)
        let text = "The river Été flows past 日本 and 😀 twice: 😀, then ends."
        let tokens = model.tokenizer.encode(text, addSpecialTokens: false)
        let whole = Array(model.tokenizer.decode(tokens).unicodeScalars)
        var output = IncrementalText()
        for count in 1...tokens.count {
            output.update(Array(tokens[..<count]), decode: { model.tokenizer.decode($0) })
            #expect(whole.starts(with: output.scalars), "after \(count) tokens")
            #expect(!output.scalars.contains("\u{FFFD}"), "never half a character")
        }
        #expect(output.final(tokens, decode: { model.tokenizer.decode($0) }) == whole)
        #expect(output.scalars == whole)
    }

    @Test func stopsAreFoundWhereTheyCouldEndInTheNewText() {
        let text = Array("abc stop def stop".unicodeScalars)
        let stops = [Array("stop".unicodeScalars), Array("zz".unicodeScalars)]
        #expect(firstStop(stops, in: text, endingFrom: 0) == 4)
        #expect(firstStop(stops, in: text, endingFrom: 7) == 4, "a match ending in the new text counts")
        #expect(firstStop(stops, in: text, endingFrom: 8) == 13, "one ending before it was found earlier")
        #expect(firstStop([Array("def".unicodeScalars), Array("c s".unicodeScalars)], in: text, endingFrom: 0) == 2, "the earliest")
        #expect(firstStop(stops, in: Array("st".unicodeScalars), endingFrom: 0) == nil)
    }
}
