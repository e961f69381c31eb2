import Foundation

/// Elementwise maths and reductions: the residual stream's additions and the
/// vocabulary of RL losses (ratios, clipping, KL estimators, masked means).
/// Binary ops take equal shapes; masks are constant tensors of 0/1.
extension Tape {
    public func add(_ a: Variable, _ b: Variable) throws -> Variable {
        try binary("add", a, b, { $0 + $1 }, da: { _, _, g in g }, db: { _, _, g in g })
    }

    public func sub(_ a: Variable, _ b: Variable) throws -> Variable {
        try binary("sub", a, b, { $0 - $1 }, da: { _, _, g in g }, db: { _, _, g in -g })
    }

    public func mul(_ a: Variable, _ b: Variable) throws -> Variable {
        try binary("mul", a, b, { $0 * $1 }, da: { _, b, g in g * b }, db: { a, _, g in g * a })
    }

    /// Elementwise minimum; where equal, the gradient goes to `a`.
    public func minimum(_ a: Variable, _ b: Variable) throws -> Variable {
        try binary(
            "minimum", a, b, { pointwiseMin($0, $1) },
            da: { a, b, g in g.replacing(with: 0, where: a .> b) },
            db: { a, b, g in g.replacing(with: 0, where: a .<= b) })
    }

    /// Elementwise maximum; where equal, the gradient goes to `a`.
    public func maximum(_ a: Variable, _ b: Variable) throws -> Variable {
        try binary(
            "maximum", a, b, { pointwiseMax($0, $1) },
            da: { a, b, g in g.replacing(with: 0, where: a .< b) },
            db: { a, b, g in g.replacing(with: 0, where: a .>= b) })
    }

    public func scale(_ a: Variable, _ s: Float) throws -> Variable {
        unary(a, { $0 * s }, derivative: { _, _, g in g * s })
    }

    public func addScalar(_ a: Variable, _ s: Float) throws -> Variable {
        unary(a, { $0 + s }, derivative: { _, _, g in g })
    }

    public func exp(_ a: Variable) throws -> Variable {
        unary(a, { VectorMath.exp($0) }, derivative: { _, y, g in g * y })
    }

    public func log(_ a: Variable) throws -> Variable {
        unary(a, { x in Vec16((0..<16).map { Foundation.log(x[$0]) }) }, derivative: { x, _, g in g / x })
    }

    /// Clamps into `[lower, upper]`; the gradient is zero where clamped (as torch).
    public func clamp(_ a: Variable, min lower: Float, max upper: Float) throws -> Variable {
        try require(lower <= upper, "clamp", "min \(lower) > max \(upper)")
        return unary(
            a, { $0.clamped(lowerBound: Vec16(repeating: lower), upperBound: Vec16(repeating: upper)) },
            derivative: { x, _, g in g.replacing(with: 0, where: (x .< lower) .| (x .> upper)) })
    }

    /// A copy that stops gradients (`detach()` in PyTorch).
    public func detach(_ a: Variable) -> Variable { Variable(a.value) }

    /// Sum of all elements, as a scalar.
    public func sum(_ a: Variable) throws -> Variable {
        let total = Tensor(scalar: VectorMath.sum(a.value.pointer, a.value.count))
        return output(total, inputs: [a]) { g in
            a.accumulate(Tensor(repeating: g.item, shape: a.shape))
        }
    }

    public func mean(_ a: Variable) throws -> Variable {
        try scale(sum(a), 1 / Float(max(a.value.count, 1)))
    }

    /// Sums over the last axis: `[..., n] → [...]`.
    public func sumLastAxis(_ a: Variable) throws -> Variable {
        try check(a.value.rank >= 1, "sumLastAxis", "needs rank >= 1, got \(describe(a.shape))")
        let n = a.shape.last!
        let rows = a.value.count / max(n, 1)
        let out = Tensor(zeros: Array(a.shape.dropLast()))
        for r in 0..<rows { out.pointer[r] = VectorMath.sum(a.value.pointer + r * n, n) }
        return output(out, inputs: [a]) { g in
            let da = Tensor(zeros: a.shape)
            for r in 0..<rows { (da.pointer + r * n).update(repeating: g.pointer[r], count: n) }
            a.accumulate(da)
        }
    }

    /// `Σ a·mask`, a scalar.
    public func maskedSum(_ a: Variable, mask: Tensor) throws -> Variable {
        try check(mask.shape == a.shape, "maskedSum", "mask \(describe(mask.shape)) for value \(describe(a.shape))")
        return try sum(mul(a, Variable(mask)))
    }

    /// `Σ a·mask / Σ mask`; zero when the mask is empty, instead of NaN.
    public func maskedMean(_ a: Variable, mask: Tensor) throws -> Variable {
        let denominator = VectorMath.sum(mask.pointer, mask.count)
        return try scale(maskedSum(a, mask: mask), denominator > 0 ? 1 / denominator : 0)
    }

    // MARK: - Elementwise machinery

    @inline(__always)
    func unary(
        _ a: Variable, _ f: @escaping (Vec16) -> Vec16,
        derivative: @escaping (_ x: Vec16, _ y: Vec16, _ g: Vec16) -> Vec16
    ) -> Variable {
        let x = a.value
        let y = Tensor(zeros: a.shape)
        VectorMath.map(x.count) { i, w in store16(f(load16(x.pointer + i, width: w)), y.pointer + i, width: w) }
        return output(y, inputs: [a]) { g in
            let dx = Tensor(zeros: a.shape)
            VectorMath.map(x.count) { i, w in
                store16(
                    derivative(
                        load16(x.pointer + i, width: w), load16(y.pointer + i, width: w),
                        load16(g.pointer + i, width: w)), dx.pointer + i, width: w)
            }
            a.accumulate(dx)
        }
    }

    @inline(__always)
    func binary(
        _ op: String, _ a: Variable, _ b: Variable, _ f: @escaping (Vec16, Vec16) -> Vec16,
        da: @escaping (Vec16, Vec16, Vec16) -> Vec16, db: @escaping (Vec16, Vec16, Vec16) -> Vec16
    ) throws -> Variable {
        try check(a.shape == b.shape, op, "operands \(describe(a.shape)) and \(describe(b.shape)) differ")
        let x = a.value
        let z = b.value
        let y = Tensor(zeros: a.shape)
        VectorMath.map(x.count) { i, w in
            store16(f(load16(x.pointer + i, width: w), load16(z.pointer + i, width: w)), y.pointer + i, width: w)
        }
        return output(y, inputs: [a, b]) { g in
            for (input, rule) in [(a, da), (b, db)] where input.requiresGrad {
                let d = Tensor(zeros: input.shape)
                VectorMath.map(x.count) { i, w in
                    store16(
                        rule(
                            load16(x.pointer + i, width: w), load16(z.pointer + i, width: w),
                            load16(g.pointer + i, width: w)), d.pointer + i, width: w)
                }
                input.accumulate(d)
            }
        }
    }
}
