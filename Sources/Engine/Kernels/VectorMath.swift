import Foundation

/// Vectorised elementary functions for the elementwise kernels. The small
/// ones are `@inlinable` so that other modules' inner loops (attention over a
/// KV cache, per-row bias adds) inline them instead of calling across modules.
///
/// `exp` is the Cephes single-precision scheme (range reduction by ln 2, a
/// degree-5 polynomial, exponent bits assembled directly); its error is about
/// 1 ulp over the clamped range, which is what PyTorch's vectorised exp gives.
public enum VectorMath {
    @inlinable @inline(__always)
    public static func exp(_ x: Vec16) -> Vec16 {
        // Written with min/max, FMA and bit casts only: the generic SIMD
        // `clamped`, `rounded` and Int32 conversions are not specialised and
        // took 27% of a training step (perf).
        let clamped = pointwiseMin(pointwiseMax(x, Vec16(repeating: -87.33654)), Vec16(repeating: 88.72283))
        // Adding 1.5·2²³ rounds to an integer and leaves it in the low mantissa bits.
        let magic = Vec16(repeating: 12_582_912)
        let shifted = magic.addingProduct(clamped, Vec16(repeating: 1.44269504088896341))
        let n = shifted - magic
        var r = clamped.addingProduct(n, Vec16(repeating: -0.693359375))
        r = r.addingProduct(n, Vec16(repeating: 2.12194440e-4))
        var p = Vec16(repeating: 1.9875691500e-4)
        p = Vec16(repeating: 1.3981999507e-3).addingProduct(p, r)
        p = Vec16(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = Vec16(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = Vec16(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = Vec16(repeating: 5.0000001201e-1).addingProduct(p, r)
        let y = (p * (r * r) + r) + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        // Underflow is exactly zero, so masked (-inf) logits get no probability.
        return (y * unsafeBitCast(exponent, to: Vec16.self)).replacing(with: 0, where: x .< -87.33654)
    }

    @inlinable @inline(__always)
    public static func sigmoid(_ x: Vec16) -> Vec16 { 1 / (1 + exp(-x)) }

    /// `exp` over a buffer, in place.
    public static func exp(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 16 <= n {
            store16(exp(load16(x + i)), x + i)
            i += 16
        }
        while i < n {
            x[i] = Foundation.exp(x[i])
            i += 1
        }
    }

    /// Sum and max of a buffer, vectorised.
    @inlinable @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vec16()
        var i = 0
        while i + 16 <= n {
            acc += load16(x + i)
            i += 16
        }
        var s = acc.sum()
        while i < n {
            s += x[i]
            i += 1
        }
        return s
    }

    @inlinable @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vec16(repeating: -.infinity)
        var i = 0
        while i + 16 <= n {
            acc = pointwiseMax(acc, load16(x + i))
            i += 16
        }
        var m = acc.max()
        while i < n {
            m = Swift.max(m, x[i])
            i += 1
        }
        return m
    }

    @inlinable @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vec16()
        var i = 0
        while i + 16 <= n {
            acc = acc.addingProduct(load16(x + i), load16(y + i))
            i += 16
        }
        var s = acc.sum()
        while i < n {
            s += x[i] * y[i]
            i += 1
        }
        return s
    }

    /// `y += alpha * x`
    @inlinable @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let a = Vec16(repeating: alpha)
        var i = 0
        while i + 16 <= n {
            store16(load16(y + i).addingProduct(a, load16(x + i)), y + i)
            i += 16
        }
        while i < n {
            y[i] += alpha * x[i]
            i += 1
        }
    }

    /// `out = silu(gate) ⊙ up = gate·σ(gate)·up` over `count` elements.
    @inlinable @inline(__always)
    public static func siluMul(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int)
    {
        var i = 0
        while i < count {
            let width = Swift.min(16, count - i)
            let g = load16(gate + i, width: width)
            store16(g * sigmoid(g) * load16(up + i, width: width), out + i, width: width)
            i += width
        }
    }

    /// Applies `body` to 16-lane chunks of `count` elements, splitting large
    /// buffers across cores. The tail is handled by zero-padded lanes, so
    /// `body` must treat lanes independently.
    @inline(__always)
    public static func map(_ count: Int, _ body: (Int, Int) -> Void) {
        Parallel.forRanges(count, minChunk: 1 << 16) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let width = Swift.min(16, range.upperBound - i)
                body(i, width)
                i += width
            }
        }
    }
}

@usableFromInline @inline(__always)
func load16(_ p: UnsafePointer<Float>, width: Int) -> Vec16 {
    if width == 16 { return load16(p) }
    var v = Vec16()
    for i in 0..<width { v[i] = p[i] }
    return v
}

@usableFromInline @inline(__always)
func store16(_ v: Vec16, _ p: UnsafeMutablePointer<Float>, width: Int) {
    if width == 16 {
        store16(v, p)
        return
    }
    for i in 0..<width { p[i] = v[i] }
}
