import Agent
import Engine
import Models
import RL

/// The policy tokens of a batch of trajectories laid out for one forward
/// pass: right-padded rows, and for every generated token the hidden row that
/// predicts it. Prompt and observation tokens are read (they are context) but
/// never scored, which keeps the language-model head off the long documents.
///
/// Trajectories with the same prompt (a GRPO group's completions) share one
/// row: the prompt once, then each response as a branch that reads the
/// prompt and itself (`SharedPrefix`), so the prompt is computed once for
/// the group in every forward and backward pass.
struct ResponseBatch {
    let tokens: [Int32]
    let batch: Int
    let time: Int
    let keyValid: [Bool]
    let tokenPositions: [Int32]
    let sharedPrefixes: [SharedPrefix]
    /// Hidden-state row predicting each scored token.
    let rows: [Int]
    let targets: [Int32]
    /// (sequence, offset in its response) of each scored token.
    let positions: [(sequence: Int, offset: Int)]
    let responseLengths: [Int]

    init(_ trajectories: [Trajectory]) {
        let packed = sharingPrompts(trajectories)
        batch = packed.count
        time = packed.map { packedLength($0, trajectories) }.max() ?? 0
        var tokens = [Int32](repeating: 0, count: batch * time)
        var keyValid = [Bool](repeating: false, count: batch * time)
        var tokenPositions = [Int32](repeating: 0, count: batch * time)
        var sharedPrefixes: [SharedPrefix] = []
        var scored: [(row: Int, target: Int32, position: (Int, Int))] = []
        for (b, members) in packed.enumerated() {
            let promptLength = trajectories[members[0]].promptLength
            let rowStart = b * time
            var layout = SharedPrefix(length: members.count == 1 ? time : promptLength)
            var end = promptLength
            for (index, member) in members.enumerated() {
                let trajectory = trajectories[member]
                // Where the trajectory's token `t` sits in the row.
                let branchStart = end
                func place(_ t: Int) -> Int { rowStart + (t < promptLength ? t : branchStart + t - promptLength) }
                for t in (index == 0 ? 0 : promptLength)..<trajectory.tokens.count {
                    tokens[place(t)] = trajectory.tokens[t]
                    keyValid[place(t)] = true
                    tokenPositions[place(t)] = Int32(t)
                }
                for t in promptLength..<trajectory.tokens.count where trajectory.lossMask[t] == 1 && t > 0 {
                    scored.append((place(t - 1), trajectory.tokens[t], (member, t - promptLength)))
                }
                end += trajectory.responseLength
                if members.count > 1 { layout.branches.append(branchStart..<end) }
            }
            sharedPrefixes.append(layout)
        }
        self.tokens = tokens
        self.keyValid = keyValid
        self.tokenPositions = tokenPositions
        self.sharedPrefixes = sharedPrefixes
        rows = scored.map(\.row)
        targets = scored.map(\.target)
        positions = scored.map(\.position)
        responseLengths = trajectories.map(\.responseLength)
    }

    /// Spreads one value per scored token into per-response rows (0 elsewhere).
    func matrix(_ flat: Tensor) -> TokenMatrix {
        var result = responseLengths.map { [Double](repeating: 0, count: $0) }
        withExtendedLifetime(flat) {
            for (i, position) in positions.enumerated() { result[position.sequence][position.offset] = Double(flat.pointer[i]) }
        }
        return result
    }

    /// Gathers per-response values back into one value per scored token.
    func flat(_ matrix: TokenMatrix) -> Tensor {
        let tensor = Tensor(zeros: [positions.count])
        for (i, position) in positions.enumerated() { tensor.pointer[i] = Float(matrix[position.sequence][position.offset]) }
        return tensor
    }

    /// The final hidden states of every position, `[batch · time, d]`.
    func states(_ decoder: Decoder, tape: Tape) throws -> Variable {
        try decoder.hiddenStates(
            tokens: tokens, batch: batch, positions: tokenPositions, keyValid: keyValid, sharedPrefixes: sharedPrefixes, tape: tape)
    }

    /// The final hidden states of the rows that predict scored tokens.
    func hidden(_ decoder: Decoder, tape: Tape) throws -> Variable {
        try tape.selectRows(states(decoder, tape: tape), rows)
    }

    /// One (hidden row, token) pair per scored position of each sequence and
    /// each of its `avoided` tokens, except where the token is the target.
    func avoidedPairs(_ avoided: [[Int32]]) -> (rows: [Int], tokens: [Int32]) {
        var pairs: (rows: [Int], tokens: [Int32]) = ([], [])
        for (i, position) in positions.enumerated() {
            for token in avoided[position.sequence] where token != targets[i] {
                pairs.rows.append(rows[i])
                pairs.tokens.append(token)
            }
        }
        return pairs
    }

    /// Log-probabilities (at `temperature`, as sampled) and entropies of the scored tokens.
    func logProbs(_ decoder: Decoder, temperature: Float, tape: Tape) throws -> TokenLogProbs {
        try tape.tokenLogProbs(
            hidden: hidden(decoder, tape: tape), weight: decoder.outputWeight, targets: targets,
            temperature: temperature)
    }
}

/// A critic: a linear value head read at every policy token, on a trunk of
/// its own (a copy of the policy, trained with the head) or on the policy's
/// trunk, whose features it reads without training them.
public final class ValueModel {
    public let trunk: Decoder
    public let head: Variable
    public let sharesTrunk: Bool

    /// A critic initialised from the policy's weights (veRL's default), or
    /// sharing them, with a zero head so the first values are 0.
    public init(policy: Decoder, sharingTrunk: Bool) throws {
        sharesTrunk = sharingTrunk
        trunk = sharingTrunk ? policy : try Decoder(config: policy.config, weights: policy.namedWeights())
        head = Variable(Tensor(zeros: [1, policy.config.hiddenSize]), requiresGrad: true, name: "value_head.weight")
    }

    public var parameters: [Variable] { sharesTrunk ? [head] : trunk.parameters + [head] }

    func values(_ batch: ResponseBatch, tape: Tape) throws -> Variable {
        let features = sharesTrunk ? Variable(try batch.hidden(trunk, tape: .inference).value) : try batch.hidden(trunk, tape: tape)
        return try tape.reshape(tape.linear(features, head), [batch.positions.count])
    }
}

extension Decoder {
    /// Copies of every parameter, keyed by name (a frozen reference model, a critic's trunk).
    public func namedWeights() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.value.copy()) })
    }
}

/// The log-probability of every generated token of each trajectory under
/// `decoder` at `temperature` (0 at prompt and observation tokens), in one
/// forward pass without gradients.
public func responseLogProbs(_ trajectories: [Trajectory], under decoder: Decoder, temperature: Float = 1) throws -> TokenMatrix {
    let batch = ResponseBatch(trajectories)
    return batch.matrix(try batch.logProbs(decoder, temperature: temperature, tape: .inference).logProbs.value)
}

/// Trajectory indices by packed row: those with the same (non-empty) prompt
/// together, in order of first appearance.
func sharingPrompts(_ trajectories: [Trajectory]) -> [[Int]] {
    var rows: [[Int]] = []
    var rowOfPrompt: [ArraySlice<Int32>: Int] = [:]
    for (index, trajectory) in trajectories.enumerated() {
        let prompt = trajectory.tokens[..<trajectory.promptLength]
        if !prompt.isEmpty, let row = rowOfPrompt[prompt] {
            rows[row].append(index)
        } else {
            if !prompt.isEmpty { rowOfPrompt[prompt] = rows.count }
            rows.append([index])
        }
    }
    return rows
}

/// The tokens of one packed row: the members' shared prompt once, then every response.
func packedLength(_ row: [Int], _ trajectories: [Trajectory]) -> Int {
    trajectories[row[0]].promptLength + row.reduce(0) { $0 + trajectories[$1].responseLength }
}
