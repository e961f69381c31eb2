/// `C[m, N] = alpha · A[m, K] · Wᵀ + beta · C` with `W` held as codes
/// (`QuantizedMatrix`), for decoding and small batches: up to eight rows of
/// A share each decoded weight. Activations and sums stay f32.
public func sgemm(
    m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, quantized w: QuantizedMatrix,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if w.codeBits == 4 {
        quantizedProduct(FourBitCodes.self, m: m, alpha: alpha, a: a, lda: lda, w: w, beta: beta, c: c, ldc: ldc)
    } else {
        quantizedProduct(EightBitCodes.self, m: m, alpha: alpha, a: a, lda: lda, w: w, beta: beta, c: c, ldc: ldc)
    }
}

/// The code width as a type, so each kernel is compiled for one width, with
/// constant shifts and masks.
protocol CodeWidth { static var bits: Int { get } }
enum FourBitCodes: CodeWidth { static var bits: Int { 4 } }
enum EightBitCodes: CodeWidth { static var bits: Int { 8 } }

func quantizedProduct<Width: CodeWidth>(
    _ width: Width.Type, m: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    w: QuantizedMatrix, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || w.n == 0 { return }
    let groups = w.groups
    let blocks = w.blocks
    let groupBytes = w.groupBytes
    let n = w.n
    let base = UncheckedSendable(UnsafeRawPointer(w.base))
    // Below ~64K weights a second thread costs more than it saves.
    let minGroups = max(1, (1 << 16) / max(QuantizedMatrix.groupRows * w.k, 1))
    Parallel.forRanges(groups, minChunk: minGroups) { range in
        for g in range {
            let group = base.value + g * groupBytes
            let row0 = g * QuantizedMatrix.groupRows
            let lanes = min(QuantizedMatrix.groupRows, n - row0)
            // Row passes inside the group loop, so a group's codes (7 KB for
            // K = 576) come from DRAM once and from L1 for later passes.
            for i0 in stride(from: 0, to: m, by: quantizedRowsPerPass) {
                let x = a + i0 * lda
                func store<let M: Int>(_ sums: InlineArray<M, Vec16>) {
                    for i in 0..<M {
                        let out = c + (i0 + i) * ldc + row0
                        var v = sums[i] * alpha
                        if lanes == QuantizedMatrix.groupRows {
                            if beta != 0 { v = v.addingProduct(load16(out), Vec16(repeating: beta)) }
                            store16(v, out)
                        } else {
                            for l in 0..<lanes { out[l] = v[l] + (beta == 0 ? 0 : beta * out[l]) }
                        }
                    }
                }
                func rows<let M: Int>(_: InlineArray<M, Void>.Type) {
                    store(quantizedKernel(width, blocks, group, InlineArray<M, UnsafePointer<Float>> { x + $0 * lda }))
                }
                switch min(quantizedRowsPerPass, m - i0) {
                case 1: rows(InlineArray<1, Void>.self)
                case 2: rows(InlineArray<2, Void>.self)
                case 3: rows(InlineArray<3, Void>.self)
                case 4: rows(InlineArray<4, Void>.self)
                case 5: rows(InlineArray<5, Void>.self)
                case 6: rows(InlineArray<6, Void>.self)
                case 7: rows(InlineArray<7, Void>.self)
                default: rows(InlineArray<8, Void>.self)
                }
            }
        }
    }
}

/// Rows of A that share each decoded weight: eight accumulators and the
/// decoding constants still fit the 32 vector registers.
let quantizedRowsPerPass = 8

/// One group of 16 weight rows times `M` activation rows: lane `l` of
/// result `i` is row `i` of A dotted with weight row `l`.
///
/// Codes become floats without integer-to-float conversions: bits below bit
/// 23 of an f32 whose exponent field is that of 2²³ read as `2²³ + bits`, so a
/// code `u` at bit `p` gives `u·2ᵖ` after one `vpternlogd` (mask | exponent)
/// and a subtraction, exactly. Codes stay where they are in the word (only
/// those at bit 20 or higher take one shift per word), and the weight is
/// `fma(u·2ᵖ, d·2⁻ᵖ, m)`: the product is the exact `u·d` either way, so the
/// weight is the same `fma(u, d, m)`. This saves the shift per code, which
/// matters because the kernel is bound by vector instructions, not memory.
/// Each weight goes into one of four accumulators per row of A (four FMA
/// chains hide the latency). A separate function, as the GEMM microkernel
/// is, so its loop keeps the accumulators in registers.
@inline(never)
func quantizedKernel<Width: CodeWidth, let M: Int>(
    _: Width.Type, _ blocks: Int, _ group: UnsafeRawPointer,
    _ x: InlineArray<M, UnsafePointer<Float>>
) -> InlineArray<M, Vec16> {
    let bits = Width.bits
    let codesPerWord = 32 / bits
    // Codes at bits 0, bits, 2·bits, … below bit 23 are read in place; the
    // rest are shifted down by `highShift` onto the same positions.
    let inPlace = (23 - bits) / bits + 1
    let highShift = UInt32(bits * inPlace)
    // Four FMA chains in flight hide the FMA latency: four accumulators for
    // one row of A, fewer when several rows already give independent chains.
    let chains = max(1, 4 / M)
    var acc = InlineArray<M, InlineArray<4, Vec16>>(repeating: InlineArray(repeating: Vec16()))
    var block = group
    var column = 0
    for _ in 0..<blocks {
        let words = block.assumingMemoryBound(to: SIMD16<UInt32>.self)
        let scales = (block + bits * 64).assumingMemoryBound(to: Vec16.self)
        let d = scales[0]
        let m = scales[1]
        for word in 0..<bits {
            let packed = words[word]
            let high = packed &>> highShift
            let first = column + word * codesPerWord
            for field in 0..<inPlace {
                accumulate(&acc, packed, bits: bits, slot: field, d: d, m: m, x: x, column: first + field, chain: field % chains)
            }
            for field in inPlace..<codesPerWord {
                accumulate(&acc, high, bits: bits, slot: field - inPlace, d: d, m: m, x: x, column: first + field, chain: field % chains)
            }
        }
        block += bits * 64 + 128
        column += QuantizedMatrix.blockColumns
    }
    var sums = InlineArray<M, Vec16>(repeating: Vec16())
    for i in 0..<M { sums[i] = (acc[i][0] + acc[i][1]) + (acc[i][2] + acc[i][3]) }
    return sums
}

/// One column of a block: the 16 rows' codes at `slot` of `words` to
/// weights, times column `column` of each row of A.
@inline(__always)
func accumulate<let M: Int>(
    _ acc: inout InlineArray<M, InlineArray<4, Vec16>>, _ words: SIMD16<UInt32>, bits: Int, slot: Int,
    d: Vec16, m: Vec16, x: InlineArray<M, UnsafePointer<Float>>, column: Int, chain: Int
) {
    let mask = SIMD16<UInt32>(repeating: (UInt32(1) << UInt32(bits) - 1) << UInt32(bits * slot))
    let scaled = unsafeBitCast(words & mask | 0x4B00_0000, to: Vec16.self) - 8_388_608
    let weight = m.addingProduct(scaled, d * (1 / Float(1 << (bits * slot))))
    for i in 0..<M {
        acc[i][chain] = acc[i][chain].addingProduct(weight, Vec16(repeating: x[i][column]))
    }
}
