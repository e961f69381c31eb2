import Agent
import Foundation
import Generation
import RL
import Search
import Training

/// A small policy's cold start: supervised demonstrations of the agent's
/// format before RL. The paper's 3B models follow the tag format from the
/// prompt alone; SmolLM2-135M-Instruct never writes `<search>` or
/// `<answer>` from it (BENCHMARKS.md), so RL would see no reward.
///
/// A demonstration is built without the real engine: the question under the
/// Search-R1 prompt, a `<search>` with the question as its query, the
/// simulator's documents for it as the observation (masked, as in RL), and
/// an `<answer>` with the gold answer those documents hold (the first gold
/// answer when they hold none). With `requireAnswer` (what `zerosearch real`
/// does), only demonstrations whose documents hold a gold answer are kept:
/// one that answers what it never read teaches the policy to answer from
/// memory, and at 135M it remembers almost nothing (Direct scores ≈ 0), so
/// reading is the skill RL should start from.
public enum ColdStart {
    /// The demonstrated reasoning: short, because the policy writes it on
    /// every turn and a 135M model cannot reason at length anyway.
    static let searchThought = "<think> I need to look this up. </think>\n"
    static let answerThought = "<think> The documents give the answer. </think>\n"

    /// The simulator's useful documents for each question asked as its own
    /// query, `batch` calls at a time.
    public static func documents(
        for questions: [QuestionSplits.Question], simulator: any SearchEngine, batch: Int = 32, progress: (Int) -> Void = { _ in }
    ) async -> [String?] {
        var documents: [String?] = []
        for start in stride(from: 0, to: questions.count, by: batch) {
            let slice = questions[start..<min(start + batch, questions.count)]
            let results = await simulator.search(
                slice.map { SearchRequest(query: $0.question, question: $0.question, goldAnswers: $0.answer, kind: .useful) })
            documents += results.map { $0.failed ? nil : $0.text.trimmingPythonWhitespace() }
            progress(documents.count)
        }
        return documents
    }

    /// The demonstrations, tokenised as `ModelPolicy` renders prompts for
    /// `model`, each observation cut to `maxObservationTokens` as a rollout
    /// cuts it (so a demonstration shows what the policy will read, and
    /// answers from that); a question whose simulator call failed makes none.
    public static func demonstrations(
        _ questions: [QuestionSplits.Question], documents: [String?], model: LoadedModel, prompt: PolicyPrompt = PolicyPrompt(),
        maxObservationTokens: Int, requireAnswer: Bool = false
    ) -> [SupervisedExample] {
        zip(questions, documents).compactMap { question, documents in
            guard let documents else { return nil }
            let encode = { (text: String) in model.tokenizer.encode(text, addSpecialTokens: false) }
            let observation = observationTokens(informationText(documents), room: maxObservationTokens, encode: encode)
            let shown = model.tokenizer.decode(observation)
            let read = question.answer.first { containsAnswer(shown, gold: [$0]) }
            guard read != nil || !requireAnswer else { return nil }
            var sequence = Trajectory(
                prompt: model.instructionTokens(prompt.render(question: question.question)))
            let search = encode(searchThought + "<search> \(question.question) </search>")
            sequence.appendGenerated(search, logProbs: Array(repeating: 0, count: search.count), turn: 0)
            sequence.appendObservation(observation, turn: 0)
            let answer = encode(answerThought + "<answer> \(read ?? question.answer[0]) </answer>")
            sequence.appendGenerated(answer, logProbs: Array(repeating: 0, count: answer.count), turn: 1)
            return SupervisedExample(sequence: sequence)
        }
    }
}
