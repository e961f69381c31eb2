/// The byte-level BPE model: a piece of text starts as one token per byte and
/// adjacent tokens are merged, lowest merge rank first, until no listed merge
/// applies.
struct BytePairEncoder: Sendable {
    /// The token of each byte; -1 where the vocabulary lacks one, and Hugging
    /// Face's BPE without an unknown token drops such bytes, so this does too.
    let byteIDs: [Int32]
    let merges: MergeTable
    /// Llama-3's `ignore_merges`: a piece that is itself a vocabulary entry is that
    /// one token, whatever the merges would make of it. Keyed by raw bytes.
    let wholePieceIDs: [[UInt8]: Int32]?

    /// Reused between the pieces of one `encode` call, so that encoding does not
    /// allocate per word.
    struct Scratch {
        var cache = PieceCache()
        var ids: [Int32] = []
        var next: [Int32] = []
        var previous: [Int32] = []
        /// `rank << 32 | position` of candidate merges; entries made stale by an
        /// earlier merge are recognised when popped.
        var heap: [UInt64] = []
    }

    func encode(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32], scratch: inout Scratch) {
        if piece.count == 1 {
            if byteIDs[Int(piece[0])] >= 0 { output.append(byteIDs[Int(piece[0])]) }
            return
        }
        let hash = PieceCache.hash(piece)
        if let ids = scratch.cache.ids(of: piece, hash: hash) { return output.append(contentsOf: ids) }
        let start = output.count
        merge(piece, into: &output, scratch: &scratch)
        scratch.cache.insert(piece, hash: hash, ids: output[start...])
    }

    private func merge(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32], scratch: inout Scratch) {
        if let wholePieceIDs, let id = wholePieceIDs[Array(piece)] {
            output.append(id)
            return
        }
        scratch.ids.removeAll(keepingCapacity: true)
        for byte in piece where byteIDs[Int(byte)] >= 0 { scratch.ids.append(byteIDs[Int(byte)]) }
        let count = scratch.ids.count
        guard count > 1 else { return output.append(contentsOf: scratch.ids) }
        scratch.next.removeAll(keepingCapacity: true)
        scratch.previous.removeAll(keepingCapacity: true)
        scratch.heap.removeAll(keepingCapacity: true)
        for i in 0..<count {
            scratch.next.append(i + 1 < count ? Int32(i + 1) : -1)
            scratch.previous.append(Int32(i - 1))
            if i + 1 < count { push(at: i, scratch: &scratch) }
        }
        // Hugging Face merges the lowest (rank, position) first and re-checks a
        // popped candidate against the current neighbours; doing the same gives
        // the same tokens even where applying all merges of one rank at once
        // (GPT-2's original loop) would not.
        while let top = MinHeap.popMinimum(&scratch.heap) {
            let position = Int(top & 0xFFFF_FFFF)
            let rank = UInt32(top >> 32)
            let right = Int(scratch.next[position])
            guard scratch.ids[position] >= 0, right >= 0,
                let merge = merges.lookup(scratch.ids[position], scratch.ids[right]), merge.rank == rank
            else { continue }
            scratch.ids[position] = merge.merged
            scratch.ids[right] = -1
            let afterRight = scratch.next[right]
            scratch.next[position] = afterRight
            if afterRight >= 0 { scratch.previous[Int(afterRight)] = Int32(position) }
            let left = scratch.previous[position]
            if left >= 0 { push(at: Int(left), scratch: &scratch) }
            if afterRight >= 0 { push(at: position, scratch: &scratch) }
        }
        var i = 0
        while i >= 0 {
            output.append(scratch.ids[i])
            i = Int(scratch.next[i])
        }
    }

    /// Queues the merge of the token at `position` with its right neighbour, if
    /// the pair has one.
    @inline(__always)
    private func push(at position: Int, scratch: inout Scratch) {
        guard let merge = merges.lookup(scratch.ids[position], scratch.ids[Int(scratch.next[position])]) else { return }
        MinHeap.push(UInt64(merge.rank) << 32 | UInt64(position), into: &scratch.heap)
    }
}

/// The ids of the pieces already encoded during one `encode` call: text repeats
/// its words, and finding a piece here costs a fraction of merging it again.
struct PieceCache {
    /// By the FNV-1a hash of a piece's bytes; the bytes are compared too, so a
    /// collision only costs a merge.
    private var entries: [UInt64: Int] = [:]
    private var bytes: [UInt8] = []
    private var byteEnds: [Int] = [0]
    private var ids: [Int32] = []
    private var idEnds: [Int] = [0]

    @inline(__always)
    static func hash(_ piece: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in piece { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }

    func ids(of piece: UnsafeBufferPointer<UInt8>, hash: UInt64) -> ArraySlice<Int32>? {
        guard let entry = entries[hash], bytes[byteEnds[entry]..<byteEnds[entry + 1]].elementsEqual(piece) else {
            return nil
        }
        return ids[idEnds[entry]..<idEnds[entry + 1]]
    }

    mutating func insert(_ piece: UnsafeBufferPointer<UInt8>, hash: UInt64, ids pieceIDs: ArraySlice<Int32>) {
        guard entries[hash] == nil else { return }
        entries[hash] = byteEnds.count - 1
        bytes.append(contentsOf: piece)
        byteEnds.append(bytes.count)
        ids.append(contentsOf: pieceIDs)
        idEnds.append(ids.count)
    }
}

/// A binary heap in an array, smallest element on top: the encoder's merge
/// queue and the trainer's pair queue.
enum MinHeap {
    @inline(__always)
    static func push<Element: Comparable>(_ value: Element, into heap: inout [Element]) {
        heap.append(value)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    @inline(__always)
    static func popMinimum<Element: Comparable>(_ heap: inout [Element]) -> Element? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            let child = left + 1 < heap.count && heap[left + 1] < heap[left] ? left + 1 : left
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            parent = child
        }
        return top
    }
}

/// Merge rank and result for a pair of token ids: an open-addressing hash table,
/// because the merge loop looks up every adjacent pair and `Dictionary`'s
/// SipHash costs more than the rest of the loop. A slot keeps key and value side
/// by side: the table (8 MB for Qwen) lives in L3, and one cache miss per
/// lookup instead of two is most of the encoding time saved.
struct MergeTable: Sendable {
    private static let empty = UInt64.max
    /// Key `left << 32 | right`, then value `rank << 32 | merged id`.
    private var slots: [UInt64]
    private let shift: UInt64
    private let mask: Int

    init(capacity: Int) {
        var bits: UInt64 = 4
        while 1 << bits < 2 * capacity { bits += 1 }
        slots = Array(repeating: MergeTable.empty, count: 2 << bits)
        shift = 64 - bits
        mask = (1 << Int(bits)) - 1
    }

    /// A pair listed twice keeps its last rank, as Hugging Face's map does.
    mutating func insert(_ left: Int32, _ right: Int32, rank: UInt32, merged: Int32) {
        let key = MergeTable.key(left, right)
        var slot = slot(for: key)
        while slots[2 * slot] != MergeTable.empty && slots[2 * slot] != key { slot = (slot + 1) & mask }
        slots[2 * slot] = key
        slots[2 * slot + 1] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32)? {
        let key = MergeTable.key(left, right)
        var slot = slot(for: key)
        while true {
            let found = slots[2 * slot]
            if found == key {
                let value = slots[2 * slot + 1]
                return (UInt32(value >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: value)))
            }
            if found == MergeTable.empty { return nil }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }
}
