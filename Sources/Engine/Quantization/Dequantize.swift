/// ggml's tensor storage types that GGUF model files use, and their block
/// layouts. A quantised row is a sequence of blocks; each block stores
/// `blockSize` values in `bytesPerBlock` bytes (scales first, then packed
/// integers), so any row length that is a multiple of `blockSize` decodes
/// block by block.
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 32
        case .q4_K, .q5_K, .q6_K: 256
        }
    }

    public var bytesPerBlock: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18  // f16 d, 16 bytes of nibbles
        case .q4_1: 20  // f16 d, f16 m, 16 bytes of nibbles
        case .q5_0: 22  // f16 d, 4 bytes of high bits, 16 bytes of nibbles
        case .q5_1: 24  // f16 d, f16 m, high bits, nibbles
        case .q8_0: 34  // f16 d, 32 signed bytes
        case .q4_K: 144  // f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
        case .q5_K: 176  // as Q4_K plus 32 bytes of high bits
        case .q6_K: 210  // 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, f16 d
        }
    }

    public var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        }
    }

    static let supportedNames = "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K"
}

/// Decodes `count` values of `type` from `bytes` into `out` (Float32),
/// exactly as ggml's reference `dequantize_row_*` functions do.
public func dequantize(_ bytes: UnsafeRawBufferPointer, type: GGMLType, count: Int, into out: UnsafeMutablePointer<Float>) throws {
    try require(count % type.blockSize == 0, "dequantize", "\(count) values do not fill whole \(type) blocks of \(type.blockSize)")
    let blocks = count / type.blockSize
    try require(
        bytes.count >= blocks * type.bytesPerBlock, "dequantize",
        "\(bytes.count) bytes hold fewer than \(blocks) \(type) blocks")
    guard blocks > 0, let base = bytes.baseAddress else { return }
    let source = UncheckedSendable(base)
    let destination = UncheckedSendable(out)
    Parallel.forRanges(blocks, minChunk: max(1, 65536 / type.blockSize)) { range in
        for block in range {
            let src = source.value + block * type.bytesPerBlock
            let dst = destination.value + block * type.blockSize
            decodeBlock(type, src, dst)
        }
    }
}

@inline(__always)
private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian))
}

private func decodeBlock(_ type: GGMLType, _ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let q = p.assumingMemoryBound(to: UInt8.self)
    switch type {
    case .f32:
        y[0] = Float(bitPattern: p.loadUnaligned(as: UInt32.self).littleEndian)
    case .f16:
        y[0] = half(p, 0)
    case .bf16:
        y[0] = Float(bitPattern: UInt32(p.loadUnaligned(as: UInt16.self).littleEndian) << 16)
    case .q4_0:
        let d = half(p, 0)
        let qs = q + 2
        for j in 0..<16 {
            y[j] = Float(Int(qs[j] & 0xF) - 8) * d
            y[j + 16] = Float(Int(qs[j] >> 4) - 8) * d
        }
    case .q4_1:
        let d = half(p, 0)
        let m = half(p, 2)
        let qs = q + 4
        for j in 0..<16 {
            y[j] = Float(qs[j] & 0xF) * d + m
            y[j + 16] = Float(qs[j] >> 4) * d + m
        }
    case .q5_0, .q5_1:
        // The fifth bit of value j is bit j of a 32-bit word (values 16...31: bits 16...31).
        let hasMin = type == .q5_1
        let d = half(p, 0)
        let m: Float = hasMin ? half(p, 2) : 0
        let highOffset = hasMin ? 4 : 2
        let qh = p.loadUnaligned(fromByteOffset: highOffset, as: UInt32.self).littleEndian
        let qs = q + highOffset + 4
        let bias = hasMin ? 0 : 16
        for j in 0..<16 {
            let low = Int(qs[j] & 0xF) | Int((qh >> UInt32(j)) << 4 & 0x10)
            let high = Int(qs[j] >> 4) | Int((qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float(low - bias) * d + m
            y[j + 16] = Float(high - bias) * d + m
        }
    case .q8_0:
        let d = half(p, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: q[2 + j])) * d }
    case .q4_K, .q5_K:
        let d = half(p, 0)
        let dmin = half(p, 2)
        let scales = q + 4
        let isQ5 = type == .q5_K
        let qh = q + 16
        let qs = isQ5 ? q + 48 : q + 16
        var ql = qs
        for group in 0..<4 {  // 64 values per group: two sub-blocks sharing one byte of nibbles
            let (s1, m1) = scaleAndMin(scales, 2 * group)
            let (s2, m2) = scaleAndMin(scales, 2 * group + 1)
            let d1 = d * Float(s1)
            let d2 = d * Float(s2)
            let min1 = dmin * Float(m1)
            let min2 = dmin * Float(m2)
            let out = y + group * 64
            let bit1 = UInt8(1) << UInt8(2 * group)
            let bit2 = UInt8(2) << UInt8(2 * group)
            for l in 0..<32 {
                let high1: Float = isQ5 && qh[l] & bit1 != 0 ? 16 : 0
                let high2: Float = isQ5 && qh[l] & bit2 != 0 ? 16 : 0
                out[l] = d1 * (Float(ql[l] & 0xF) + high1) - min1
                out[l + 32] = d2 * (Float(ql[l] >> 4) + high2) - min2
            }
            ql += 32
        }
    case .q6_K:
        let d = half(p, 208)
        var ql = q
        var qh = q + 128
        var sc = UnsafeRawPointer(q + 192).assumingMemoryBound(to: Int8.self)
        for half in 0..<2 {  // 128 values per half
            let out = y + half * 128
            for l in 0..<32 {
                let group = l / 16
                let q1 = Int(ql[l] & 0xF | (qh[l] & 3) << 4) - 32
                let q2 = Int(ql[l + 32] & 0xF | (qh[l] >> 2 & 3) << 4) - 32
                let q3 = Int(ql[l] >> 4 | (qh[l] >> 4 & 3) << 4) - 32
                let q4 = Int(ql[l + 32] >> 4 | (qh[l] >> 6 & 3) << 4) - 32
                out[l] = d * Float(sc[group]) * Float(q1)
                out[l + 32] = d * Float(sc[group + 2]) * Float(q2)
                out[l + 64] = d * Float(sc[group + 4]) * Float(q3)
                out[l + 96] = d * Float(sc[group + 6]) * Float(q4)
            }
            ql += 64
            qh += 32
            sc += 8
        }
    }
}

/// The 6-bit scale and min of sub-block `j` of a K-quant super-block, packed
/// into 12 bytes: sub-blocks 0–3 in the low 6 bits of bytes 0–7, sub-blocks
/// 4–7 split between nibbles of bytes 8–11 and the top 2 bits of bytes 0–7.
@inline(__always)
private func scaleAndMin(_ q: UnsafePointer<UInt8>, _ j: Int) -> (UInt8, UInt8) {
    if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
    return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
}
