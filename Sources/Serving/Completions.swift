import Foundation
import Generation
import Hummingbird
import Support

extension Server {
    /// One choice being generated: which prompt, which of its `n`, and the handle.
    struct Choice {
        let index: Int
        let prompt: [Int32]
        let generation: Generation
    }

    /// Chat or text completions: every prompt × `n` choices submitted to the
    /// scheduler at once (all or none: a refusal cancels those already in),
    /// then streamed as server-sent events or answered as one JSON object.
    /// The connection is watched while the answer is made, so a client that
    /// hangs up cancels its generations; watching it consumes the connection,
    /// which is then closed (`Connection: close` tells the client).
    func complete(_ parse: @autoclosure () throws(APIError) -> CompletionRequest, chat: Bool, request: Request) async throws -> Response {
        guard let served else { throw APIError(status: 404, "this server has no model (it serves /retrieve only)") }
        let completion = try parse()
        let prompts: [[Int32]]
        switch completion.input {
        case .chat(let messages): prompts = [served.tokens(chat: messages)]
        case .prompts(let inputs): prompts = try inputs.map { input throws(APIError) in try served.tokens(prompt: input) }
        }
        let context = served.contextLength
        for prompt in prompts where prompt.isEmpty || prompt.count >= context {
            throw APIError(
                "the prompt is \(prompt.count) tokens; the model's context is \(context)", param: chat ? "messages" : "prompt")
        }
        if let maxTokens = completion.maxTokens, let longest = prompts.map(\.count).max(), longest + maxTokens > context {
            throw APIError(
                "max_tokens \(maxTokens) + \(longest) prompt tokens exceed the model's context of \(context)",
                param: "max_tokens")
        }
        let seed = completion.seed ?? UInt64.random(in: 0...UInt64.max)
        var choices: [Choice] = []
        do {
            for (p, prompt) in prompts.enumerated() {
                for i in 0..<completion.n {
                    let settings = GenerationSettings(
                        maxTokens: completion.maxTokens ?? context - prompt.count,
                        sampling: SamplingParameters(temperature: completion.temperature, topK: completion.topK, topP: completion.topP),
                        seed: seed &+ UInt64(p * completion.n + i), stop: completion.stop, topLogProbs: completion.topLogProbs)
                    choices.append(
                        Choice(
                            index: p * completion.n + i, prompt: prompt,
                            generation: try served.scheduler.submit(prompt: prompt, settings: settings)))
                }
            }
        } catch {
            for choice in choices { choice.generation.cancel() }
            throw error
        }
        let promptTokens = prompts.reduce(0) { $0 + $1.count }
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let reply = Reply(id: id, chat: chat, model: served, request: completion)
        if completion.stream {
            return stream(choices, reply: reply, promptTokens: promptTokens, request: request)
        }
        let started = ContinuousClock.now
        let timer = deadlineTimer(choices)
        defer { timer.cancel() }
        let outputs = try await request.body.consumeWithCancellationOnInboundClose { _ in
            await withTaskGroup(of: (Int, Generation.Output).self) { group in
                for (position, choice) in choices.enumerated() {
                    group.addTask { (position, await choice.generation.collect()) }
                }
                var outputs = [Generation.Output](repeating: Generation.Output(), count: choices.count)
                for await (position, output) in group { outputs[position] = output }
                return outputs
            }
        }
        if let failed = outputs.first(where: { !["stop", "length"].contains($0.reason) }) {
            throw ended(failed.reason, since: started)
        }
        var response = Self.json(
            reply.whole(zip(choices, outputs).map { ($0.index, $0.prompt, $1) }, promptTokens: promptTokens))
        response.headers[.connection] = "close"
        return response
    }

    /// Server-sent events, one `data:` line per piece of text, then
    /// `data: [DONE]`. A client that goes away cancels its choices.
    func stream(_ choices: [Choice], reply: Reply, promptTokens: Int, request: Request) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
            body: .init { writer in
                let started = ContinuousClock.now
                let timer = deadlineTimer(choices)
                // Whatever ends the stream (a client gone, a failed write) ends its generations.
                defer {
                    timer.cancel()
                    for choice in choices { choice.generation.cancel() }
                }
                do {
                    try await request.body.consumeWithCancellationOnInboundClose { _ in
                        var completionTokens = 0
                        for choice in choices {
                            if reply.chat { try await writer.write(sse(reply.chunk(choice.index, role: true))) }
                            // `text_offset` counts from the choice's first token, across chunks.
                            var offset = 0
                            for await event in choice.generation.events {
                                switch event {
                                case .text(let text, let logProbs):
                                    try await writer.write(
                                        sse(reply.chunk(choice.index, text: text, logProbs: logProbs, textOffset: offset)))
                                    offset += reply.textLength(logProbs)
                                case .finished(let finish) where ["stop", "length"].contains(finish.reason):
                                    completionTokens += finish.completionTokens
                                    try await writer.write(sse(reply.chunk(choice.index, finish: finish.reason)))
                                case .finished(let finish):
                                    throw ended(finish.reason, since: started)
                                }
                            }
                        }
                        if reply.request.includeUsageInStream {
                            try await writer.write(sse(reply.usageChunk(prompt: promptTokens, completion: completionTokens)))
                        }
                    }
                } catch let error as APIError {
                    try await writer.write(sse(error.body))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            })
    }

    /// Cancels the choices' generations once the request has run for `options.deadline`.
    func deadlineTimer(_ choices: [Choice]) -> Task<Void, Never> {
        let deadline = options.deadline
        return Task {
            guard (try? await Task.sleep(for: deadline)) != nil else { return }
            for choice in choices { choice.generation.cancel() }
        }
    }

    /// The error for a generation that ended otherwise than by stopping or its limit.
    func ended(_ reason: String, since started: ContinuousClock.Instant) -> APIError {
        guard reason == "cancelled" else { return APIError(status: 500, "generation failed: \(reason)") }
        return ContinuousClock.now - started >= options.deadline
            ? APIError(status: 504, "the request ran past the server's deadline of \(options.deadline)")
            : APIError(status: 503, "the generation was cancelled: the server is shutting down")
    }

    func sse(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: "data: \(value.jsonText)\n\n") }
}

/// The OpenAI response shapes of one request: whole, as stream chunks, with
/// log-probabilities in the chat or the text-completion layout.
struct Reply: Sendable {
    let id: String
    let chat: Bool
    let model: ServedModel
    let request: CompletionRequest
    let created = Int64(Date().timeIntervalSince1970)

    private func envelope(_ object: String, choices: [JSONValue]) -> [JSONValue.Member] {
        [
            .init("id", .string(id)), .init("object", .string(object)), .init("created", .int(created)),
            .init("model", .string(model.name)), .init("choices", .list(choices)),
        ]
    }

    private static func usage(prompt: Int, completion: Int) -> JSONValue {
        .object([
            .init("prompt_tokens", .int(Int64(prompt))), .init("completion_tokens", .int(Int64(completion))),
            .init("total_tokens", .int(Int64(prompt + completion))),
        ])
    }

    /// `promptTokens`: every prompt's tokens once, however many choices it has.
    func whole(_ outputs: [(index: Int, prompt: [Int32], output: Generation.Output)], promptTokens: Int) -> JSONValue {
        let choices: [JSONValue] = outputs.map { index, prompt, output in
            var members: [JSONValue.Member] = [.init("index", .int(Int64(index)))]
            if chat {
                members.append(.init("message", .object([.init("role", "assistant"), .init("content", .string(output.text))])))
            } else {
                members.append(.init("text", .string((request.echo ? model.text(prompt) : "") + output.text)))
            }
            members.append(.init("logprobs", logProbs(output.logProbs)))
            members.append(.init("finish_reason", .string(output.reason)))
            return .object(members)
        }
        return .object(
            envelope(chat ? "chat.completion" : "text_completion", choices: choices)
                + [.init("usage", Self.usage(prompt: promptTokens, completion: outputs.reduce(0) { $0 + $1.output.completionTokens }))])
    }

    func chunk(
        _ index: Int, role: Bool = false, text: String = "", logProbs: [TokenLogProb] = [], textOffset: Int = 0, finish: String? = nil
    ) -> JSONValue {
        var choice: [JSONValue.Member] = [.init("index", .int(Int64(index)))]
        if chat {
            var delta: [JSONValue.Member] = role ? [.init("role", "assistant"), .init("content", "")] : []
            if !text.isEmpty { delta.append(.init("content", .string(text))) }
            choice.append(.init("delta", .object(delta)))
        } else {
            choice.append(.init("text", .string(text)))
        }
        choice.append(.init("logprobs", logProbs.isEmpty ? .null : self.logProbs(logProbs, textOffset: textOffset)))
        choice.append(.init("finish_reason", finish.map(JSONValue.string) ?? .null))
        return .object(envelope(chat ? "chat.completion.chunk" : "text_completion", choices: [.object(choice)]))
    }

    func usageChunk(prompt: Int, completion: Int) -> JSONValue {
        .object(
            envelope(chat ? "chat.completion.chunk" : "text_completion", choices: [])
                + [.init("usage", Self.usage(prompt: prompt, completion: completion))])
    }

    /// The characters of these tokens' pieces, as `text_offset` counts them.
    func textLength(_ entries: [TokenLogProb]) -> Int { entries.reduce(0) { $0 + model.piece($1.token).count } }

    /// Chat: `{"content": [{token, logprob, bytes, top_logprobs}]}`;
    /// completions: `{tokens, token_logprobs, top_logprobs, text_offset}`,
    /// the offsets counted from `textOffset` (where a streamed chunk begins).
    func logProbs(_ entries: [TokenLogProb], textOffset: Int = 0) -> JSONValue {
        guard request.topLogProbs != nil else { return .null }
        func bytes(_ text: String) -> JSONValue { .list(text.utf8.map { .int(Int64($0)) }) }
        if chat {
            return .object([
                .init(
                    "content",
                    .list(
                        entries.map { entry in
                            let token = model.piece(entry.token)
                            return .object([
                                .init("token", .string(token)), .init("logprob", .double(Double(entry.logProb))),
                                .init("bytes", bytes(token)),
                                .init(
                                    "top_logprobs",
                                    .list(
                                        entry.top.map { alternative in
                                            let text = model.piece(alternative.token)
                                            return .object([
                                                .init("token", .string(text)), .init("logprob", .double(Double(alternative.logProb))),
                                                .init("bytes", bytes(text)),
                                            ])
                                        })),
                            ])
                        }))
            ])
        }
        var offset = textOffset
        var offsets: [JSONValue] = []
        for entry in entries {
            offsets.append(.int(Int64(offset)))
            offset += model.piece(entry.token).count
        }
        return .object([
            .init("tokens", .list(entries.map { .string(model.piece($0.token)) })),
            .init("token_logprobs", .list(entries.map { .double(Double($0.logProb)) })),
            .init(
                "top_logprobs",
                .list(
                    entries.map { entry in
                        .object(entry.top.map { .init(model.piece($0.token), .double(Double($0.logProb))) })
                    })),
            .init("text_offset", .list(offsets)),
        ])
    }
}
