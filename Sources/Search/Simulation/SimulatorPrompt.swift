import Foundation

/// The two published ways of asking an LLM to play a search engine.
public enum SimulatorMode: String, Sendable, Codable, CaseIterable {
    /// An instruct model shown a one-shot demonstration of five useful or
    /// five noisy documents.
    case prompt
    /// A simulator fine-tuned on real search results, steered by the words
    /// "useful" and "noisy" in a fixed prompt.
    case sft
}

/// The simulator prompts, character for character as the released simulators
/// expect them (the fine-tuned ones were trained on exactly the `sft` text).
///
/// Where the published code showed only the first gold answer, we show all of
/// them, joined by " or ". Without gold answers (evaluation) the line that
/// would reveal them is left out and the simulator relies on its own knowledge.
public enum SimulatorPrompt {
    public static func render(_ request: SearchRequest, mode: SimulatorMode) -> String {
        switch mode {
        case .sft: sft(request)
        case .prompt: request.kind == .useful ? promptUseful(request) : promptNoisy(request)
        }
    }

    static func goalLine(_ request: SearchRequest) -> String? {
        guard !request.question.isEmpty else { return nil }
        let question = "The user is trying to answer the question: \"\(request.question)\""
        let answers = request.goldAnswers.filter { !$0.isEmpty }
        return answers.isEmpty ? question + "." : question + " whose answer is \(answers.joined(separator: " or "))."
    }

    static func sft(_ request: SearchRequest) -> String {
        let word = request.kind.rawValue
        let title = word.prefix(1).uppercased() + word.dropFirst()
        var text = "You are the Google search engine.\nGiven a query, you need to generate five \(word) documents for the query.\n\n"
        if let goal = goalLine(request) { text += goal + "\n" }
        text += "Each document should contain about 30 words, and these documents should contain \(word) information.\n\n"
        text += "Query: \(request.query)\n\(title) Output:\n"
        return text
    }

    static func promptUseful(_ request: SearchRequest) -> String {
        var text =
            "You are the Google search engine.\n"
            + "Given a query, you need to imitate the style of the following demos and generate five useful documents for the query.\n\n"
            + "Here is an example:\nQuery: \(demoQuery)\nUseful Output:\n" + usefulDemo + "\n\n"
        if let goal = goalLine(request) {
            text += goal + "\n" + "You should generate documents that can help the user find the answer.\n"
        }
        text +=
            "Each document should contain about 30 words.\n"
            + "You must directly output the English documents and not output any other texts.\n\n"
            + "Query: \(request.query)\nUseful Output:\n"
        return text
    }

    /// The published noisy prompt never shows the question or its answers
    /// (and its first line ends in a space).
    static func promptNoisy(_ request: SearchRequest) -> String {
        "You are the Google search engine. \n"
            + "Given a query, you need to imitate the style of the following demos and generate five related but noisy documents for the query.\n\n"
            + "Here is an example:\nQuery: \(demoQuery)\nNoisy Output:\n" + noisyDemo + "\n\n"
            + "Each document should contain about 30 words, and these documents should contain related but noisy information.\n"
            + "You must directly output the English documents and not output any other texts.\n\n"
            + "Query: \(request.query)\nNoisy Output:\n"
    }

    static let demoQuery = "George Washington Bridge opening year"

    static let usefulDemo = """
        Doc 1: The George Washington Bridge, an iconic structure connecting New York City to New Jersey, opened on October 25, 1931. Designed by Othmar Ammann, it marked a major milestone in civil engineering.
        Doc 2: Originally the Hudson River Bridge, the George Washington Bridge was named after the U.S.'s first president. Its 3,500-foot suspension span was the world's longest at completion in 1931.
        Doc 3: The bridge was modified in 1962 with added lower deck lanes, increasing capacity and easing congestion. This expansion transformed the bridge into a double-decked structure with twelve lanes.
        Doc 4: Constructed over four years, the George Washington Bridge's steel towers and cables exemplified engineering progress. It crucially linked New York and New Jersey's transportation networks.
        Doc 5: Handling over 103 million annual vehicles, the George Washington Bridge is globally one of the busiest. The Port Authority of NY and NJ oversees its traffic and infrastructure maintenance.
        """

    static let noisyDemo = """
        Doc 1: The George Washington Bridge was a significant addition to New York's infrastructure, but there were many challenges during its construction, including budget overruns and worker strikes.
        Doc 2: While often mistaken for the opening of another iconic bridge, the Brooklyn Bridge, the George Washington Bridge has its own storied history involving political maneuvering and urban planning debates that shaped the bridge's final design.
        Doc 3: Discussions about the naming of the George Washington Bridge are interesting, as it was named to honor the first President of the United States. The name choice was significant given the geographical and historical implications of Washington's legacy.
        Doc 4: The bridge has been a point of contention over toll increases, traffic congestion solutions, and environmental impact assessments, which continue to affect policy decisions in the area.
        Doc 5: Considerations around the visual and architectural design of the George Washington Bridge also played a crucial role in its legacy as a landmark, balancing aesthetics with functionality.
        """

    /// The published clean-up of a simulator's reply: blank lines collapsed
    /// (one pass of "\n\n" → "\n", as published) and everything from document
    /// `topK + 1` on cut away.
    public static func postprocess(_ output: String, topK: Int) -> String {
        let collapsed = output.replacingOccurrences(of: "\n\n", with: "\n")
        guard let cut = collapsed.range(of: "Doc \(topK + 1)") else { return collapsed }
        return String(collapsed[..<cut.lowerBound])
    }

    /// Whether a reply is exactly `topK` numbered documents in order, each
    /// with text (`Doc 1: …` to `Doc k: …`, one a line).
    public static func isWellFormed(_ text: String, topK: Int) -> Bool {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count == topK else { return false }
        return lines.enumerated().allSatisfy { number, line in
            line.hasPrefix("Doc \(number + 1):") && line.dropFirst("Doc \(number + 1):".count).contains { !$0.isWhitespace }
        }
    }
}
