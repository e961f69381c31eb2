import Search
import Support

/// What the policy asked for in one turn.
public enum AgentAction: Sendable, Equatable, Codable {
    case search(String)
    case answer(String)
    case invalid
}

/// The published action parser: the first `<search>…</search>` or
/// `<answer>…</answer>` element (regex `<(search|answer)>(.*?)</\1>` with
/// DOTALL), its content trimmed.
public func parseAction(_ text: String) -> AgentAction {
    var position = text.startIndex
    while let open = text[position...].firstRange(of: "<") {
        let rest = text[open.lowerBound...]
        for tag in ["search", "answer"] where rest.hasPrefix("<\(tag)>") {
            let contentStart = text.index(open.lowerBound, offsetBy: tag.count + 2)
            if let close = text[contentStart...].range(of: "</\(tag)>") {
                let content = String(text[contentStart..<close.lowerBound]).trimmingPythonWhitespace()
                return tag == "search" ? .search(content) : .answer(content)
            }
        }
        position = open.upperBound
    }
    return .invalid
}

/// The content of the last complete `<answer>…</answer>` element, trimmed, or
/// nil if there is none. The reward reads the policy's own text only: the
/// prompt holds two example answers and documents may hold anything.
public func extractAnswer(_ text: String) -> String? {
    var answer: Substring?
    var rest = text[...]
    while let open = rest.range(of: "<answer>"), let close = rest[open.upperBound...].range(of: "</answer>") {
        answer = rest[open.upperBound..<close.lowerBound]
        rest = rest[close.upperBound...]
    }
    return answer.map { $0.trimmingPythonWhitespace() }
}
