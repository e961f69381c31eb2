import Foundation
import Generation
import Models
import Support

/// A request the server refuses, in OpenAI's error shape:
/// `{"error": {"message", "type", "param", "code"}}` with an HTTP status.
public struct APIError: Error, Equatable, Sendable {
    public var status: Int
    public var message: String
    public var type: String
    /// The request field at fault, as OpenAI names it (`messages[0].content`).
    public var param: String?

    public init(status: Int = 400, _ message: String, param: String? = nil, type: String? = nil) {
        self.status = status
        self.message = message
        self.param = param
        self.type =
            type
            ?? (status == 400
                ? "invalid_request_error" : status == 404 ? "not_found_error" : status == 429 ? "rate_limit_error" : "server_error")
    }

    public var body: JSONValue {
        .object([
            .init(
                "error",
                .object([
                    .init("message", .string(message)), .init("type", .string(type)), .init("param", param.map(JSONValue.string) ?? .null),
                    .init("code", .null),
                ]))
        ])
    }
}

/// The fields of `POST /v1/chat/completions` and `POST /v1/completions` that
/// this server reads, checked one by one: a known field of the wrong type or
/// out of range is refused naming it; fields it does not know are ignored,
/// as OpenAI-compatible servers do.
public struct CompletionRequest: Sendable, Equatable {
    public enum Input: Sendable, Equatable {
        case chat([ChatMessage])
        /// One or more prompts, as text or token ids.
        case prompts([PromptInput])
    }
    public enum PromptInput: Sendable, Equatable {
        case text(String)
        case tokens([Int32])
    }

    public var input: Input
    public var model: String
    /// nil: up to the context's end.
    public var maxTokens: Int?
    public var temperature: Float
    public var topP: Float
    public var topK: Int
    public var seed: UInt64?
    public var stop: [String]
    public var n: Int
    /// Alternatives per token; nil when log-probabilities are not asked for.
    public var topLogProbs: Int?
    public var stream: Bool
    public var includeUsageInStream: Bool
    /// Completions only: the prompt is repeated before the output.
    public var echo: Bool

    /// Reads a chat request body.
    public static func chat(_ body: JSONValue) throws(APIError) -> CompletionRequest {
        let fields = try Fields(body)
        guard let list = try fields.list("messages"), !list.isEmpty else {
            throw APIError("'messages' must be a non-empty list of messages", param: "messages")
        }
        var messages: [ChatMessage] = []
        for (index, item) in list.enumerated() {
            let place = "messages[\(index)]"
            let message = try Fields(item, place: place)
            guard let role = try message.string("role"), ["system", "user", "assistant", "developer"].contains(role) else {
                throw APIError("\(place).role must be one of system, user, assistant, developer", param: "\(place).role")
            }
            messages.append(
                ChatMessage(role: role == "developer" ? "system" : role, content: try content(message.value("content"), place: place)))
        }
        guard messages.contains(where: { $0.role == "user" || $0.role == "assistant" }) else {
            throw APIError("'messages' holds no user or assistant message", param: "messages")
        }
        var request = try common(fields, input: .chat(messages))
        let wantsLogProbs = try fields.bool("logprobs") ?? false
        let top = try fields.int("top_logprobs", in: 0...20)
        if top != nil && !wantsLogProbs { throw APIError("'top_logprobs' needs 'logprobs': true", param: "top_logprobs") }
        request.topLogProbs = wantsLogProbs ? (top ?? 0) : nil
        request.maxTokens = try fields.int("max_completion_tokens", in: 1...Int(Int32.max)) ?? request.maxTokens
        return request
    }

    /// Reads a (legacy) completions request body.
    public static func completion(_ body: JSONValue) throws(APIError) -> CompletionRequest {
        let fields = try Fields(body)
        let prompts: [PromptInput]
        switch fields.value("prompt") {
        case .string(let text): prompts = [.text(text)]
        case .list(let items) where !items.isEmpty && items.allSatisfy({ $0.string != nil }): prompts = items.map { .text($0.string!) }
        case .list(let items) where !items.isEmpty && items.allSatisfy({ $0.int32 != nil }): prompts = [.tokens(items.map { $0.int32! })]
        case .list(let items)
        where !items.isEmpty && items.allSatisfy({ $0.list.map { !$0.isEmpty && $0.allSatisfy { $0.int32 != nil } } ?? false }):
            prompts = items.map { .tokens($0.list!.map { $0.int32! }) }
        default: throw APIError("'prompt' must be a string, a list of strings, or token ids", param: "prompt")
        }
        var request = try common(fields, input: .prompts(prompts))
        request.topLogProbs = try fields.int("logprobs", in: 0...20)
        request.echo = try fields.bool("echo") ?? false
        if fields.value("suffix").map({ !$0.isNull }) ?? false { throw APIError("'suffix' is not supported", param: "suffix") }
        return request
    }

    private static func common(_ fields: Fields, input: Input) throws(APIError) -> CompletionRequest {
        let stop: [String]
        switch fields.value("stop") {
        case nil, .null?: stop = []
        case .string(let text)?: stop = [text]
        case .list(let items)? where items.count <= 16 && items.allSatisfy({ $0.string != nil }): stop = items.map { $0.string! }
        default: throw APIError("'stop' must be a string or a list of at most 16 strings", param: "stop")
        }
        if stop.contains(where: \.isEmpty) { throw APIError("'stop' holds an empty string", param: "stop") }
        for penalty in ["presence_penalty", "frequency_penalty"] where (try fields.number(penalty, in: -2...2) ?? 0) != 0 {
            throw APIError("'\(penalty)' is not supported (only 0)", param: penalty)
        }
        let streamOptions = try fields.object("stream_options")
        return CompletionRequest(
            input: input,
            model: try fields.string("model") ?? "",
            maxTokens: try fields.int("max_tokens", in: 1...Int(Int32.max)),
            temperature: Float(try fields.number("temperature", in: 0...2) ?? 1),
            topP: Float(try fields.number("top_p", in: 0...1, open: true) ?? 1),
            topK: try fields.int("top_k", in: -1...Int(Int32.max)).map { max($0, 0) } ?? 0,
            seed: try fields.int("seed", in: Int(Int64.min)...Int(Int64.max)).map { UInt64(bitPattern: Int64($0)) },
            stop: stop,
            n: try fields.int("n", in: 1...16) ?? 1,
            topLogProbs: nil,
            stream: try fields.bool("stream") ?? false,
            includeUsageInStream: try streamOptions?.bool("include_usage") ?? false,
            echo: false)
    }

    /// A message's `content`: a string, or a list of text parts
    /// (`[{"type": "text", "text": …}]`, as ZeroSearch's own client sends it).
    private static func content(_ value: JSONValue?, place: String) throws(APIError) -> String {
        switch value {
        case .string(let text)?: return text
        case .null?, nil: return ""
        case .list(let parts)?:
            var text = ""
            for (index, part) in parts.enumerated() {
                let fields = try Fields(part, place: "\(place).content[\(index)]")
                guard try fields.string("type") == "text", let piece = try fields.string("text") else {
                    throw APIError("only text parts are supported", param: "\(place).content[\(index)]")
                }
                text += piece
            }
            return text
        default: throw APIError("\(place).content must be a string or a list of text parts", param: "\(place).content")
        }
    }
}

/// A JSON object's fields read with their types checked; errors name the field.
struct Fields {
    let members: [String: JSONValue]
    let place: String

    init(_ value: JSONValue, place: String = "") throws(APIError) {
        guard let list = value.members else {
            throw APIError("\(place.isEmpty ? "the body" : place) must be a JSON object", param: place.isEmpty ? nil : place)
        }
        members = Dictionary(list.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        self.place = place
    }

    func name(_ key: String) -> String { place.isEmpty ? key : "\(place).\(key)" }
    func value(_ key: String) -> JSONValue? { members[key] }

    /// nil when absent or null.
    private func present(_ key: String) -> JSONValue? {
        guard let value = members[key], !value.isNull else { return nil }
        return value
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let value = present(key) else { return nil }
        guard let text = value.string else { throw APIError("'\(name(key))' must be a string", param: name(key)) }
        return text
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard let flag = value.bool else { throw APIError("'\(name(key))' must be true or false", param: name(key)) }
        return flag
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let number = value.number, number.rounded() == number, let int = Int(exactly: number), range.contains(int) else {
            throw APIError("'\(name(key))' must be an integer in \(range.lowerBound)…\(range.upperBound)", param: name(key))
        }
        return int
    }

    func number(_ key: String, in range: ClosedRange<Double>, open: Bool = false) throws(APIError) -> Double? {
        guard let value = present(key) else { return nil }
        guard let number = value.number, range.contains(number), !(open && number == range.lowerBound) else {
            throw APIError(
                "'\(name(key))' must be a number in \(open ? "(" : "[")\(range.lowerBound), \(range.upperBound)]", param: name(key))
        }
        return number
    }

    func list(_ key: String) throws(APIError) -> [JSONValue]? {
        guard let value = present(key) else { return nil }
        guard let items = value.list else { throw APIError("'\(name(key))' must be a list", param: name(key)) }
        return items
    }

    func object(_ key: String) throws(APIError) -> Fields? {
        guard let value = present(key) else { return nil }
        return try Fields(value, place: name(key))
    }
}
