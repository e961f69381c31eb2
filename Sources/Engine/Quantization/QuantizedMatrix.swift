import Synchronization

/// A matrix as a model file stores it in one of ggml's block formats: `rows`
/// rows of `columns` values, each row a run of whole blocks.
public struct QuantizedBlocks: Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let bytes: [UInt8]

    public init(type: GGMLType, rows: Int, columns: Int, bytes: [UInt8]) throws {
        try require(
            rows >= 0 && columns >= 0 && columns % type.blockSize == 0, "QuantizedBlocks",
            "\(rows)×\(columns) is not whole \(type) blocks of \(type.blockSize)")
        try require(
            bytes.count == rows * columns / type.blockSize * type.bytesPerBlock, "QuantizedBlocks",
            "\(bytes.count) bytes for \(rows)×\(columns) \(type) values")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.bytes = bytes
    }

    public var bytesPerRow: Int { columns / type.blockSize * type.bytesPerBlock }

    /// Whether these blocks decode exactly to `w` (`[rows, columns]`, f32) as
    /// `QuantizedMatrix` computes them. A decoder's f32 weights change when it
    /// is trained, while the file's blocks do not: a model prepared for
    /// inference uses the blocks only while they still reproduce its weights.
    public func reproduces(_ w: UnsafePointer<Float>) -> Bool {
        guard QuantizedMatrix.canRead(type) else { return false }
        let blocksPerRow = columns / type.blockSize
        let type = self.type
        let weights = UncheckedSendable(w)
        let mismatches = Atomic<Int>(0)
        bytes.withUnsafeBytes { raw in
            let source = UncheckedSendable(raw.baseAddress!)
            Parallel.forRanges(rows * blocksPerRow, minChunk: 4096) { range in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: type.blockSize) { buffer in
                    for block in range where mismatches.load(ordering: .relaxed) == 0 {
                        let (d, m) = decodeCodes(type, source.value + block * type.bytesPerBlock, into: buffer.baseAddress!)
                        let expected = weights.value + block * type.blockSize
                        for j in 0..<type.blockSize where m.addingProduct(Float(buffer[j]), d) != expected[j] {
                            mismatches.add(1, ordering: .relaxed)
                            return
                        }
                    }
                }
            }
        }
        return mismatches.load(ordering: .relaxed) == 0
    }

    /// Row `i` of the result is row `sources[i]` of this matrix. Rows are whole
    /// blocks, so a permutation of a matrix's rows moves its bytes unchanged.
    public func permutingRows(_ sources: [Int]) throws -> QuantizedBlocks {
        let width = bytesPerRow
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        for source in sources { out += bytes[source * width..<(source + 1) * width] }
        return try QuantizedBlocks(type: type, rows: sources.count, columns: columns, bytes: out)
    }
}

/// Weights kept as small integer codes, for products with a few rows of
/// activations (decoding), which are bound by the bytes of weight they read:
/// a Q4 weight costs 0.75 bytes here against 4 in f32.
///
/// Every weight is `w = fma(u, d, m)` with an unsigned code `u` and, per
/// block of 32 weights of a row, an f32 scale `d` and offset `m`. ggml's
/// Q4_0 (`d·(q−8)`), Q4_1 (`d·q + m`) and Q8_0 (`d·q`, `u = q + 128`) all map
/// onto it, and because `u·d` is exact in f32 (an f16 scale times at most 8
/// bits), `fma(u, d, m)` rounds exactly as ggml's dequantisation does: the
/// kernels compute with the very f32 weights the dequantised model holds.
///
/// Layout, made for AVX-512 with the output rows in the vector lanes, so a
/// product needs no horizontal sums: rows go in groups of 16 (the last one
/// padded with zero scales), and each group is a contiguous run of blocks.
/// A block of a group is its codes for 32 columns, as 32-bit words whose lane
/// `l` belongs to row `l` (4-bit codes: word `v` holds columns `8v…8v+7`, one
/// nibble each, lowest first; 8-bit codes: word `v` holds columns `4v…4v+3`),
/// followed by the 16 rows' `d` and then their `m`. A whole matrix is one
/// forward stream of memory.
public struct QuantizedMatrix: @unchecked Sendable {
    public let n: Int
    public let k: Int
    /// 4 when every source holds 4-bit codes, else 8.
    public let codeBits: Int
    let storage: TensorStorage

    public static let groupRows = 16
    public static let blockColumns = 32

    /// ggml types whose blocks map onto `fma(u, d, m)` with 32 weights a block.
    public static func canRead(_ type: GGMLType) -> Bool { [.q4_0, .q4_1, .q8_0].contains(type) }

    var wordsPerBlock: Int { codeBits }  // 32 columns · codeBits / 32 bits a word
    var bytesPerBlock: Int { wordsPerBlock * 64 + 2 * 64 }
    var blocks: Int { k / Self.blockColumns }
    var groups: Int { (n + Self.groupRows - 1) / Self.groupRows }
    var groupBytes: Int { blocks * bytesPerBlock }
    var base: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage.pointer) }

    /// Stacks the parts' rows (the fused q/k/v projection is three files'
    /// matrices) and repacks them.
    public init(rowsOf parts: [QuantizedBlocks]) throws {
        try require(!parts.isEmpty, "QuantizedMatrix", "no parts")
        let k = parts[0].columns
        try require(parts.allSatisfy { $0.columns == k }, "QuantizedMatrix", "parts have different row lengths")
        for part in parts {
            try require(Self.canRead(part.type), "QuantizedMatrix", "\(part.type) blocks are not supported (Q4_0, Q4_1, Q8_0 are)")
        }
        self.k = k
        n = parts.reduce(0) { $0 + $1.rows }
        codeBits = parts.allSatisfy { $0.type != .q8_0 } ? 4 : 8
        storage = TensorStorage(count: (n + Self.groupRows - 1) / Self.groupRows * k / Self.blockColumns * (codeBits * 64 + 2 * 64) / 4)
        let blocks = self.blocks
        let blockBytes = bytesPerBlock
        let groupBytes = self.groupBytes
        let wordsPerBlock = self.wordsPerBlock
        // Each output row's bytes and type; a group may straddle two parts.
        var all = [UInt8]()
        all.reserveCapacity(parts.reduce(0) { $0 + $1.bytes.count })
        var rowSources: [(offset: Int, type: GGMLType)] = []
        for part in parts {
            rowSources += (0..<part.rows).map { (all.count + $0 * part.bytesPerRow, part.type) }
            all += part.bytes
        }
        let destination = UncheckedSendable(base)
        let codeBits = self.codeBits
        let codesPerWord = 32 / codeBits
        let n = self.n
        all.withUnsafeBytes { bytes in
            let source = UncheckedSendable(bytes.baseAddress!)
            Parallel.forRanges(groups, minChunk: 16) { range in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.blockColumns) { buffer in
                    let codes = buffer.baseAddress!
                    for g in range {
                        for lane in 0..<min(Self.groupRows, n - g * Self.groupRows) {
                            let (offset, type) = rowSources[g * Self.groupRows + lane]
                            for b in 0..<blocks {
                                let (d, m) = decodeCodes(type, source.value + offset + b * type.bytesPerBlock, into: codes)
                                let out = destination.value + g * groupBytes + b * blockBytes
                                let words = out.assumingMemoryBound(to: UInt32.self)
                                for column in 0..<Self.blockColumns {
                                    let word = column / codesPerWord
                                    let shift = codeBits * (column % codesPerWord)
                                    words[word * 16 + lane] |= UInt32(codes[column]) << UInt32(shift)
                                }
                                let scales = (out + wordsPerBlock * 64).assumingMemoryBound(to: Float.self)
                                scales[lane] = d
                                scales[16 + lane] = m
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The 32 unsigned codes of one ggml block and its `d`, `m`.
private func decodeCodes(_ type: GGMLType, _ p: UnsafeRawPointer, into codes: UnsafeMutablePointer<UInt8>) -> (d: Float, m: Float) {
    let d = Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self).littleEndian))
    switch type {
    case .q4_0, .q4_1:
        let hasMin = type == .q4_1
        let qs = p + (hasMin ? 4 : 2)
        for j in 0..<16 {
            let byte = qs.load(fromByteOffset: j, as: UInt8.self)
            codes[j] = byte & 0xF
            codes[j + 16] = byte >> 4
        }
        return (d, hasMin ? Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self).littleEndian)) : -8 * d)
    case .q8_0:
        for j in 0..<32 { codes[j] = p.load(fromByteOffset: 2 + j, as: UInt8.self) ^ 0x80 }
        return (d, -128 * d)
    default:
        preconditionFailure("QuantizedMatrix.canRead admits only Q4_0, Q4_1 and Q8_0")
    }
}
