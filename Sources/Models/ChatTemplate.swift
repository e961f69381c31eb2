import Foundation

public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// The chat formats of the supported families, rendered as their Jinja
/// templates render plain conversations (no tools):
///
/// * `chatML` (Qwen, SmolLM2): `<|im_start|>role\ncontent<|im_end|>\n` per
///   message, and a default system message when the template has one and the
///   conversation does not start with a system message.
/// * `llama3`: `<|begin_of_text|>`, then `<|start_header_id|>role<|end_header_id|>\n\n`
///   + trimmed content + `<|eot_id|>` per message; Llama 3.1+ templates open
///   the system message with their knowledge-cutoff and date lines.
/// * `raw`: base models without a template: the messages' contents joined by
///   blank lines, which is what a base model continues.
///
/// The family is chosen from the template source the model ships
/// (`tokenizer.chat_template` in GGUF, `chat_template` in tokenizer_config.json),
/// not from its name, so fine-tunes with a known format work unchanged.
public struct ChatTemplate: Sendable, Equatable {
    public enum Format: String, Sendable { case chatML, llama3, raw }

    public let format: Format
    public let defaultSystemPrompt: String?
    /// Llama 3.1+ prefix for the system message (`Cutting Knowledge Date: …`).
    let datedSystemHeader: Bool

    public init(format: Format, defaultSystemPrompt: String? = nil, datedSystemHeader: Bool = false) {
        self.format = format
        self.defaultSystemPrompt = defaultSystemPrompt
        self.datedSystemHeader = datedSystemHeader
    }

    public init(source: String?) {
        guard let source, !source.isEmpty else {
            self.init(format: .raw)
            return
        }
        if source.contains("<|start_header_id|>") {
            self.init(format: .llama3, datedSystemHeader: source.contains("Cutting Knowledge Date"))
        } else if source.contains("<|im_start|>") {
            self.init(format: .chatML, defaultSystemPrompt: Self.literalSystemPrompt(in: source))
        } else {
            self.init(format: .raw)
        }
    }

    /// The system text a ChatML template writes as a string literal, such as
    /// SmolLM2's `'<|im_start|>system\nYou are a helpful AI assistant…<|im_end|>\n'`.
    static func literalSystemPrompt(in source: String) -> String? {
        for marker in ["<|im_start|>system\\n", "<|im_start|>system\n"] {
            var rest = source[...]
            while let start = rest.range(of: marker) {
                let after = rest[start.upperBound...]
                if let end = after.range(of: "<|im_end|>") {
                    let literal = after[..<end.lowerBound]
                    // A literal stops at a quote; anything with an expression is a message, not a default.
                    if !literal.contains("'") && !literal.contains("\"") && !literal.contains("{") && !literal.isEmpty {
                        return literal.replacingOccurrences(of: "\\n", with: "\n")
                    }
                }
                rest = after
            }
        }
        return nil
    }

    /// The prompt text for `messages`; with `addGenerationPrompt` it ends
    /// where the assistant's reply begins.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, date: Date = Date()) -> String {
        switch format {
        case .raw:
            return messages.map(\.content).joined(separator: "\n\n")
        case .chatML:
            var text = ""
            if let defaultSystemPrompt, messages.first?.role != "system" {
                text += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
            }
            for message in messages { text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n" }
            if addGenerationPrompt { text += "<|im_start|>assistant\n" }
            return text
        case .llama3:
            var text = "<|begin_of_text|>"
            var rest = messages[...]
            if datedSystemHeader {
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.dateFormat = "dd MMM yyyy"
                var system = "Cutting Knowledge Date: December 2023\nToday Date: \(formatter.string(from: date))\n\n"
                if let first = rest.first, first.role == "system" {
                    system += first.content.trimmingCharacters(in: .whitespacesAndNewlines)
                    rest = rest.dropFirst()
                }
                text += "<|start_header_id|>system<|end_header_id|>\n\n\(system)<|eot_id|>"
            }
            for message in rest {
                text +=
                    "<|start_header_id|>\(message.role)<|end_header_id|>\n\n\(message.content.trimmingCharacters(in: .whitespacesAndNewlines))<|eot_id|>"
            }
            if addGenerationPrompt { text += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
            return text
        }
    }

    /// The text that ends an assistant turn in this format.
    public var endOfTurn: String? {
        switch format {
        case .chatML: "<|im_end|>"
        case .llama3: "<|eot_id|>"
        case .raw: nil
        }
    }
}
