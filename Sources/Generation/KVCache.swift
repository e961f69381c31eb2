import Engine

/// The keys and values one sequence has produced so far, per layer, so each
/// new token attends to its past without recomputing it.
///
/// Values are stored `[layer][position][kvHeads·headDim]`: attention sums
/// whole value rows. Keys are stored transposed, `[layer][kvHead][headDim][position]`:
/// a decoding query then scores 16 positions per vector instruction with no
/// horizontal sums, and prefill multiplies by the key matrix without packing
/// it transposed. Buffers grow by doubling. A cache belongs to one sequence;
/// continuing a conversation (an agent appending search results) continues
/// its cache.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let heads: Int
    public let headDim: Int
    public var width: Int { heads * headDim }
    /// Positions stored (the next token's position).
    public private(set) var count = 0
    /// Positions each key row (and the value buffer) has room for.
    private(set) var capacity: Int
    private var keys: TensorStorage
    private var values: TensorStorage

    public init(layers: Int, heads: Int, headDim: Int, capacity: Int = 256) {
        self.layers = layers
        self.heads = heads
        self.headDim = headDim
        self.capacity = max(capacity, 1)
        keys = TensorStorage(count: layers * heads * headDim * self.capacity, zeroed: false)
        values = TensorStorage(count: layers * self.capacity * heads * headDim, zeroed: false)
    }

    /// Makes room for `extra` more positions.
    func reserve(_ extra: Int) {
        let needed = count + extra
        guard needed > capacity else { return }
        var grown = capacity
        while grown < needed { grown *= 2 }
        let newKeys = TensorStorage(count: layers * width * grown, zeroed: false)
        let newValues = TensorStorage(count: layers * grown * width, zeroed: false)
        for row in 0..<layers * width {
            (newKeys.pointer + row * grown).update(from: keys.pointer + row * capacity, count: count)
        }
        for layer in 0..<layers {
            (newValues.pointer + layer * grown * width).update(from: values.pointer + layer * capacity * width, count: count * width)
        }
        keys = newKeys
        values = newValues
        capacity = grown
    }

    /// Head `head`'s keys of `layer`: `headDim` rows of `capacity` positions.
    func keys(layer: Int, head: Int) -> UnsafeMutablePointer<Float> { keys.pointer + (layer * heads + head) * headDim * capacity }

    /// `layer`'s value rows, `width` floats each; a head's values start `head·headDim` into a row.
    func values(layer: Int) -> UnsafeMutablePointer<Float> { values.pointer + layer * capacity * width }

    /// Writes the key and value rows (`width` floats each) of `position`.
    func store(layer: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let base = keys.pointer + layer * width * capacity + position
        for i in 0..<width { base[i * capacity] = key[i] }
        (values(layer: layer) + position * width).update(from: value, count: width)
    }

    /// Marks `added` reserved positions as filled (after every layer wrote them).
    func commit(_ added: Int) { count += added }

    /// Becomes a copy of `other`'s first `count` positions (all by
    /// default): a sequence whose tokens so far are another's (a group's
    /// shared prompt, a prompt cached earlier) takes its cache instead of
    /// reading them again.
    func replicate(_ other: KVCache, count copied: Int? = nil) {
        let copied = min(copied ?? other.count, other.count)
        count = 0
        reserve(copied)
        for row in 0..<layers * width {
            (keys.pointer + row * capacity).update(from: other.keys.pointer + row * other.capacity, count: copied)
        }
        for layer in 0..<layers {
            (values(layer: layer)).update(from: other.values(layer: layer), count: copied * width)
        }
        count = copied
    }

    /// Forgets everything after the first `length` positions.
    public func truncate(to length: Int) { count = min(count, max(0, length)) }
}
