import Agent
import Foundation
import RL
import Testing

/// Expected values come from the published formulas in Python
/// (scripts/fixtures/make_answer_golden.py).
@Suite struct AnswerScoringTests {
    nonisolated(unsafe) static let golden: [String: Any] = {
        let url = Bundle.module.url(forResource: "answer_scores", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static var normalizeCases: [[String: String]] { golden["normalize"] as! [[String: String]] }
    static var scoreCases: [[String: Any]] { golden["scores"] as! [[String: Any]] }
    static var extractCases: [[String: Any]] { golden["extract"] as! [[String: Any]] }

    @Test func normalisationMatchesPython() {
        #expect(Self.normalizeCases.count > 20)
        for item in Self.normalizeCases {
            #expect(normalizeAnswer(item["text"]!) == item["expected"]!, "\(item["text"]!.debugDescription)")
        }
    }

    @Test func scoresMatchThePublishedFormulas() {
        #expect(Self.scoreCases.count > 20)
        for item in Self.scoreCases {
            let prediction = item["prediction"] as? String
            let expected = item["expected"] as! [String: Double]
            let scores = scoreAnswer(prediction, gold: item["gold"] as! [String])
            let context = "\(prediction.debugDescription) vs \(item["gold"]!)"
            #expect(scores.em == expected["em"]!, "\(context)")
            #expect(scores.subem == expected["subem"]!, "\(context)")
            #expect(abs(scores.f1 - expected["f1"]!) < 1e-12, "\(context): \(scores.f1)")
        }
    }

    @Test func answersComeFromTheLastCompleteElement() {
        for item in Self.extractCases {
            let text = item["text"] as! String
            #expect(extractAnswer(text) == item["expected"] as? String, "\(text.debugDescription)")
        }
    }

    /// The policy prompt holds two `<answer>` examples; scoring the response
    /// alone means an answerless response earns nothing (the published
    /// extractor scored it against the prompt's "Beijing").
    @Test func promptExamplesNeverScore() {
        let response = "<think>I do not know.</think>"
        #expect(extractAnswer(response) == nil)
        #expect(scoreAnswer(extractAnswer(response), gold: ["Beijing"]) == .zero)
    }
}

@Suite struct NoiseCurriculumTests {
    @Test func followsThePublishedExponentialSchedule() throws {
        let curriculum = try NoiseCurriculum(start: 0, end: 1, base: 4, totalSteps: 200)
        // Fractions of the way the paper's b = 4 reaches at 1/4, 1/2, 3/4.
        for (step, fraction) in [(50, 0.13807118745769834), (100, 1.0 / 3), (150, 0.6094757082487301)] {
            #expect(abs(curriculum.probability(step: step) - fraction) < 1e-12)
        }
        #expect(curriculum.probability(step: 0) == 0)
        #expect(curriculum.probability(step: 200) == 1)
        #expect(curriculum.probability(step: 10_000) == 1)
        let shifted = try NoiseCurriculum(start: 0.25, end: 0.5, base: 4, totalSteps: 200)
        #expect(abs(shifted.probability(step: 100) - (0.25 + 0.25 / 3)) < 1e-12)
        let linear = try NoiseCurriculum(start: 0, end: 0.5, base: 1, totalSteps: 10)
        #expect(abs(linear.probability(step: 4) - 0.2) < 1e-12)
    }

    @Test func rejectsBadSettings() {
        #expect(throws: (any Error).self) { try NoiseCurriculum(start: -0.1, end: 0.5, totalSteps: 10) }
        #expect(throws: (any Error).self) { try NoiseCurriculum(start: 0, end: 0.5, base: 0, totalSteps: 10) }
        #expect(throws: (any Error).self) { try NoiseCurriculum(start: 0, end: 0.5, totalSteps: 0) }
    }
}
