import Foundation
import Models
import Testing

/// Chat formats against the real templates rendered by transformers' Jinja
/// renderer (scripts/fixtures/make_chat_templates.py).
@Suite struct ChatTemplateTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let template: String
            let messages: [ChatMessage]
            let add_generation_prompt: Bool
            let date: String
            let expected: String
        }
        let sources: [String: String]
        let cases: [Case]
    }

    @Test func rendersLikeTheJinjaTemplates() throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixture("chat_templates.json")))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd MMM yyyy"
        for c in fixture.cases {
            let template = ChatTemplate(source: fixture.sources[c.template])
            let rendered = template.render(c.messages, addGenerationPrompt: c.add_generation_prompt, date: formatter.date(from: c.date)!)
            #expect(rendered == c.expected, "\(c.template) \(c.messages.map(\.role)) generation prompt \(c.add_generation_prompt)")
        }
        #expect(ChatTemplate(source: fixture.sources["smollm2"]).format == .chatML)
        #expect(ChatTemplate(source: fixture.sources["llama3"]).format == .llama3)
        #expect(ChatTemplate(source: nil).format == .raw)
    }
}
