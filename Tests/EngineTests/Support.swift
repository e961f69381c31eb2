import Engine
import Foundation
import Testing

/// Central finite differences against the tape's gradients.
///
/// The loss is `Σ out ⊙ R` for a fixed random `R`, summed in double precision
/// so the only float32 rounding left is the op's own; with `h = 1e-2` that
/// noise is far below the tolerance while the O(h²) truncation error of
/// smooth ops stays around 1e-4.
func checkGradients(
    _ inputs: [Tensor], step h: Float = 1e-2, tolerance: Float = 2e-2, probes: Int = 24,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ build: (Tape, [Variable]) throws -> Variable
) throws {
    let variables = inputs.map { Variable($0.copy(), requiresGrad: true) }
    let tape = Tape()
    let out = try build(tape, variables)
    var rng = RandomGenerator(seed: 99)
    let weights = rng.normalTensor(out.shape)
    try tape.backward(tape.sum(tape.mul(out, Variable(weights))))

    func loss() throws -> Double {
        let y = try build(Tape.inference, variables).value
        var total: Double = 0
        for i in 0..<y.count { total += Double(y.pointer[i]) * Double(weights.pointer[i]) }
        return total
    }
    for (index, variable) in variables.enumerated() {
        let analytic = try #require(variable.grad, "input \(index) got no gradient", sourceLocation: sourceLocation)
        let count = variable.value.count
        let picks = count <= probes ? Array(0..<count) : (0..<probes).map { _ in Int(rng.next() % UInt64(count)) }
        for i in picks {
            let original = variable.value.pointer[i]
            variable.value.pointer[i] = original + h
            let plus = try loss()
            variable.value.pointer[i] = original - h
            let minus = try loss()
            variable.value.pointer[i] = original
            let numeric = Float((plus - minus) / Double(2 * h))
            let got = analytic.pointer[i]
            #expect(
                abs(got - numeric) <= tolerance * max(1, abs(numeric)),
                "input \(index)[\(i)]: tape \(got) vs finite difference \(numeric)", sourceLocation: sourceLocation)
        }
    }
}

/// The golden cases written by scripts/fixtures/make_engine_golden.py.
struct Golden {
    nonisolated(unsafe) static let cases: [String: Any] = {
        let url = Bundle.module.url(forResource: "engine_golden", withExtension: "json", subdirectory: "Fixtures")!
        let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return root["cases"] as! [String: Any]
    }()

    let entries: [String: Any]
    init(_ name: String) { entries = Golden.cases[name] as! [String: Any] }

    func tensor(_ key: String) -> Tensor { Golden.tensor(entries[key]!) }
    func ints(_ key: String) -> [Int32] { ((entries[key] as! [String: Any])["data"] as! [NSNumber]).map { Int32(truncating: $0) } }
    func number(_ key: String) -> Double { (entries[key] as! NSNumber).doubleValue }

    static func tensor(_ value: Any) -> Tensor {
        let object = value as! [String: Any]
        let shape = (object["shape"] as! [NSNumber]).map(\.intValue)
        // Inputs are stored as the shortest decimals that round-trip to float32.
        let data = (object["data"] as! [NSNumber]).map { $0.floatValue }
        return try! Tensor(shape: shape, values: data)
    }
}

func expectClose(
    _ got: Tensor, _ expected: Tensor, tolerance: Float = 1e-5,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(got.shape == expected.shape, "shape \(got.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    guard got.shape == expected.shape else { return }
    var worst: Float = 0
    var at = 0
    for i in 0..<got.count {
        let error = abs(got.pointer[i] - expected.pointer[i]) / max(1, abs(expected.pointer[i]))
        if !(error <= worst) {
            worst = error
            at = i
        }
    }
    #expect(
        worst <= tolerance, "max relative error \(worst) at \(at): \(got.pointer[at]) vs \(expected.pointer[at])",
        sourceLocation: sourceLocation)
}

func random(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return rng.normalTensor(shape, std: std)
}
