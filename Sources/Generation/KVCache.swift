import Engine

/// The keys and values one sequence has produced so far, per layer, so each
/// new token attends to its past without recomputing it.
///
/// Layout `[layer][position][kvHeads·headDim]`: a decode step appends one row
/// per layer, and attention reads a head's keys with a fixed stride. The
/// buffer grows by doubling. A cache belongs to one sequence; continuing a
/// conversation (an agent appending search results) continues its cache.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let width: Int
    /// Positions stored (the next token's position).
    public private(set) var count = 0
    private(set) var capacity: Int
    private var keys: TensorStorage
    private var values: TensorStorage

    public init(layers: Int, width: Int, capacity: Int = 256) {
        self.layers = layers
        self.width = width
        self.capacity = max(capacity, 1)
        keys = TensorStorage(count: layers * self.capacity * width, zeroed: false)
        values = TensorStorage(count: layers * self.capacity * width, zeroed: false)
    }

    /// Makes room for `extra` more positions.
    func reserve(_ extra: Int) {
        let needed = count + extra
        guard needed > capacity else { return }
        var grown = capacity
        while grown < needed { grown *= 2 }
        let newKeys = TensorStorage(count: layers * grown * width, zeroed: false)
        let newValues = TensorStorage(count: layers * grown * width, zeroed: false)
        for layer in 0..<layers {
            (newKeys.pointer + layer * grown * width).update(from: keys.pointer + layer * capacity * width, count: count * width)
            (newValues.pointer + layer * grown * width).update(from: values.pointer + layer * capacity * width, count: count * width)
        }
        keys = newKeys
        values = newValues
        capacity = grown
    }

    func keys(layer: Int) -> UnsafeMutablePointer<Float> { keys.pointer + layer * capacity * width }
    func values(layer: Int) -> UnsafeMutablePointer<Float> { values.pointer + layer * capacity * width }

    /// Marks `added` reserved positions as filled (after every layer wrote them).
    func commit(_ added: Int) { count += added }

    /// Forgets everything after the first `length` positions.
    public func truncate(to length: Int) { count = min(count, max(0, length)) }
}
