import Foundation
import Search
import Support

/// The policy's instructions. The default is the Search-R1/ZeroSearch prompt
/// verbatim (its typo "your want" included): the released checkpoints were
/// trained on exactly this text.
public struct PolicyPrompt: Sendable, Equatable, Codable {
    /// The template; `{question}` marks where the question goes, and
    /// `{context}` (optional) where retrieved documents go.
    public var template: String

    public init(template: String = PolicyPrompt.searchR1) {
        self.template = template
    }

    public static let searchR1 =
        "Answer the given question. You must conduct reasoning inside <think> and </think> first every time you get new information. After reasoning, if you find you lack some knowledge, you can call a search engine by <search> query </search> and it will return the top searched results between <information> and </information>. You can search as many times as your want. If you find no further external knowledge needed, you can directly provide the answer inside <answer> and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>. Question: {question}\n"

    /// The prompt for one question, which is stripped and given a question
    /// mark as the published data preparation does.
    public func render(question: String, context: String? = nil) -> String {
        var question = question.trimmingPythonWhitespace()
        if !question.hasSuffix("?") { question += "?" }
        return template.replacingOccurrences(of: "{context}", with: context ?? "")
            .replacingOccurrences(of: "{question}", with: question)
    }

    /// Baselines under the same harness (the ZeroSearch paper's rows).
    /// Direct answer: no reasoning, no search.
    public static let direct =
        "Answer the given question directly, without searching. Provide the answer inside <answer> and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>. Question: {question}\n"
    /// Chain of thought: reason first, then answer, no search.
    public static let chainOfThought =
        "Answer the given question. Reason step by step inside <think> and </think> first, then provide the answer inside <answer> and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>. Question: {question}\n"
    /// RAG: documents retrieved with the question itself come first.
    public static let retrievalAugmented =
        "Answer the given question using the documents below. Provide the answer inside <answer> and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>.\n<information>{context}</information>\nQuestion: {question}\n"
}
