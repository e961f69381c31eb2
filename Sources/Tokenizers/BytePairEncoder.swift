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

    /// Reused between pieces so that encoding does not allocate per word.
    struct Scratch {
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
            let position = Int(top & 0xFFFF_FFFF), rank = UInt32(top >> 32)
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

enum MinHeap {
    @inline(__always)
    static func push(_ value: UInt64, into heap: inout [UInt64]) {
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
    static func popMinimum(_ heap: inout [UInt64]) -> UInt64? {
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
/// SipHash costs more than the rest of the loop.
struct MergeTable: Sendable {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    /// `rank << 32 | merged id`
    private var values: [UInt64]
    private let shift: UInt64

    init(capacity: Int) {
        var bits: UInt64 = 4
        while 1 << bits < 2 * capacity { bits += 1 }
        keys = Array(repeating: MergeTable.empty, count: 1 << bits)
        values = Array(repeating: 0, count: 1 << bits)
        shift = 64 - bits
    }

    /// A pair listed twice keeps its last rank, as Hugging Face's map does.
    mutating func insert(_ left: Int32, _ right: Int32, rank: UInt32, merged: Int32) {
        let key = MergeTable.key(left, right)
        var slot = slot(for: key)
        while keys[slot] != MergeTable.empty && keys[slot] != key { slot = (slot + 1) & (keys.count - 1) }
        keys[slot] = key
        values[slot] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32)? {
        let key = MergeTable.key(left, right)
        var slot = slot(for: key)
        while true {
            let found = keys[slot]
            if found == key {
                let value = values[slot]
                return (UInt32(value >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: value)))
            }
            if found == MergeTable.empty { return nil }
            slot = (slot + 1) & (keys.count - 1)
        }
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }
}
