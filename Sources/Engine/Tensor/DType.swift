/// Storage formats for weights. Compute is always Float32: half-precision
/// weights are widened when loaded and narrowed (round to nearest even) when
/// saved, so checkpoints can be written in the format they came in.
public enum DType: String, Codable, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    public var byteSize: Int { self == .f32 ? 4 : 2 }
}

extension Tensor {
    /// Widens `count` little-endian elements of `dtype` at `raw` into a new tensor.
    public init(converting raw: UnsafeRawPointer, dtype: DType, shape: [Int]) {
        self.init(zeros: shape)
        let n = count
        let out = pointer
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: raw, byteCount: n * 4)
        case .f16:
            VectorMath.map(n) { i, w in
                for j in i..<i + w { out[j] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self))) }
            }
        case .bf16:
            VectorMath.map(n) { i, w in
                for j in i..<i + w {
                    out[j] = Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)) << 16)
                }
            }
        }
    }

    /// The elements encoded as `dtype`, little-endian.
    public func encoded(as dtype: DType) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count * dtype.byteSize)
        bytes.withUnsafeMutableBytes { raw in
            for i in 0..<count {
                switch dtype {
                case .f32: raw.storeBytes(of: pointer[i].bitPattern, toByteOffset: 4 * i, as: UInt32.self)
                case .f16: raw.storeBytes(of: Float16(pointer[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
                case .bf16: raw.storeBytes(of: bfloat16Bits(pointer[i]), toByteOffset: 2 * i, as: UInt16.self)
                }
            }
        }
        return bytes
    }
}

/// Float32 → bfloat16 with round-to-nearest-even (as PyTorch); NaN stays NaN.
@inline(__always)
func bfloat16Bits(_ x: Float) -> UInt16 {
    if x.isNaN { return 0x7FC0 }
    let bits = x.bitPattern
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}
