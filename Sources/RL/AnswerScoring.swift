import Support

/// Answer normalisation and the three QA scores of the ZeroSearch/Search-R1
/// evaluation: strict exact match, substring match (what the paper calls EM)
/// and token F1 (the training reward), each the maximum over the gold answers.
///
/// Normalisation follows the SQuAD convention the published code uses, on
/// Unicode scalars as Python's `str` does: lower-case, delete ASCII
/// punctuation, replace the whole words "a", "an" and "the" by a space,
/// collapse whitespace.
public func normalizeAnswer(_ text: String) -> String {
    let withoutPunctuation = pythonLowercased(text).unicodeScalars.filter { !asciiPunctuation.contains($0) }
    // Python's `\b(a|an|the)\b` matches exactly a maximal run of word
    // characters that spells an article; whitespace splitting then drops the
    // space it leaves.
    var words: [String] = []
    var word = String.UnicodeScalarView()
    var run = String.UnicodeScalarView()
    func endRun() {
        let text = String(run)
        if text != "a" && text != "an" && text != "the" { word.append(contentsOf: run) } else { endWord() }
        run.removeAll()
    }
    func endWord() {
        if !word.isEmpty { words.append(String(word)) }
        word.removeAll()
    }
    for scalar in withoutPunctuation {
        if isPythonWordCharacter(scalar) {
            run.append(scalar)
            continue
        }
        endRun()
        if isPythonWhitespace(scalar) { endWord() } else { word.append(scalar) }
    }
    endRun()
    endWord()
    return words.joined(separator: " ")
}

/// The scores of one prediction against a row's gold answers.
public struct AnswerScores: Sendable, Equatable, Codable {
    /// Normalised prediction equals a normalised gold answer.
    public var em: Double
    /// A normalised gold answer occurs inside the normalised prediction
    /// ("EM" in the ZeroSearch and Search-R1 tables).
    public var subem: Double
    /// Token-level F1 (the training reward).
    public var f1: Double

    public init(em: Double, subem: Double, f1: Double) {
        self.em = em
        self.subem = subem
        self.f1 = f1
    }

    public static let zero = AnswerScores(em: 0, subem: 0, f1: 0)
}

/// Scores a prediction (nil when the policy gave no answer: every score is 0).
/// A gold answer that normalises to nothing never matches: in the published
/// code the empty string is a substring of everything.
public func scoreAnswer(_ prediction: String?, gold: [String]) -> AnswerScores {
    guard let prediction else { return .zero }
    let predicted = normalizeAnswer(prediction)
    var best = AnswerScores.zero
    for answer in gold {
        let expected = normalizeAnswer(answer)
        guard !expected.isEmpty else { continue }
        best.em = max(best.em, predicted == expected ? 1 : 0)
        best.subem = max(best.subem, predicted.contains(expected) ? 1 : 0)
        best.f1 = max(best.f1, tokenF1(predicted: predicted, expected: expected))
    }
    return best
}

/// Whether the text contains a gold answer as whole words: the answer's
/// normalised tokens appear in a row among the text's (DPR's `has_answer`).
/// Unlike `subem`'s plain substring, "one" is not found in "someone". It
/// decides whether a real engine can answer a question and whether a
/// simulator's documents are useful.
public func containsAnswer(_ text: String, gold: [String]) -> Bool {
    let words = normalizeAnswer(text).split(separator: " ")
    return gold.contains { answer in
        let expected = normalizeAnswer(answer).split(separator: " ")
        guard !expected.isEmpty, expected.count <= words.count else { return false }
        return (0...(words.count - expected.count)).contains { start in
            words[start] == expected[0] && words[start..<start + expected.count].elementsEqual(expected)
        }
    }
}

/// F1 over the whitespace tokens of two normalised strings, counting repeated
/// tokens as a multiset (SQuAD's `Counter` intersection).
func tokenF1(predicted: String, expected: String) -> Double {
    let predictedTokens = predicted.split(separator: " ")
    let expectedTokens = expected.split(separator: " ")
    var counts: [Substring: Int] = [:]
    for token in expectedTokens { counts[token, default: 0] += 1 }
    var common = 0
    for token in predictedTokens where counts[token, default: 0] > 0 {
        counts[token]! -= 1
        common += 1
    }
    guard common > 0 else { return 0 }
    let precision = Double(common) / Double(predictedTokens.count)
    let recall = Double(common) / Double(expectedTokens.count)
    return 2 * precision * recall / (precision + recall)
}

private let asciiPunctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)

/// Python's `str.isalnum` per scalar (letters and numerics), which is what
/// `\w` means once underscores are gone.
private func isPythonWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return scalar.properties.numericType != nil
    }
}

/// Python's `str.lower`: full lower-case mappings, with capital sigma
/// becoming final sigma at the end of a word.
private func pythonLowercased(_ text: String) -> String {
    let scalars = Array(text.unicodeScalars)
    var result = String.UnicodeScalarView()
    for (i, scalar) in scalars.enumerated() {
        if scalar == "\u{03A3}", isFinalSigma(at: i, in: scalars) {
            result.append("\u{03C2}")
        } else {
            result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
    }
    return String(result)
}

/// Unicode's Final_Sigma condition: a cased letter before (skipping
/// case-ignorable ones) and none after.
private func isFinalSigma(at index: Int, in scalars: [Unicode.Scalar]) -> Bool {
    func casedNeighbour(_ indices: some Sequence<Int>) -> Bool {
        for j in indices {
            let properties = scalars[j].properties
            if properties.isCaseIgnorable { continue }
            return properties.isCased
        }
        return false
    }
    return casedNeighbour((0..<index).reversed()) && !casedNeighbour(index + 1..<scalars.count)
}
