import Engine
import Foundation
import Support

/// BM25 as Lucene scores it: `idf = ln(1 + (N − df + 0.5)/(df + 0.5))`,
/// `score = Σ idf · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl))` over the
/// query's terms (a repeated query term counts each time, as in Lucene and
/// bm25s). `dl` is the exact term count of the passage (Lucene rounds it
/// into one byte). k1 = 1.2 and b = 0.75 are Lucene's defaults; Pyserini,
/// which Search-R1 uses, runs 0.9/0.4. bm25s' `method="lucene"` leaves out
/// the constant factor (k1+1) (as Lucene 8+ does), which changes no ranking.
public struct BM25Parameters: Sendable, Equatable {
    public var k1: Double
    public var b: Double

    public init(k1: Double = 1.2, b: Double = 0.75) {
        self.k1 = k1
        self.b = b
    }

    public static func idf(documentFrequency df: Int, documentCount n: Int) -> Double {
        log(1 + (Double(n) - Double(df) + 0.5) / (Double(df) + 0.5))
    }
}

public struct BM25Hit: Sendable, Equatable {
    /// The passage's position in the corpus (0-based), which orders ties.
    public var document: Int
    public var score: Float

    public init(document: Int, score: Float) {
        self.document = document
        self.score = score
    }
}

/// An immutable inverted index over passages, in the byte layout of its file
/// (see `BM25IndexLayout`): a built index and one read back from disk are the
/// same thing, one over heap memory and one over a memory map. Opening
/// computes one Float32 impact per posting (the whole BM25 term of that
/// passage) so that a query is a sum of impacts and a top-k scan.
public struct BM25Index: Sendable {
    let storage: Storage
    public var parameters: BM25Parameters { storage.parameters }
    public var documentCount: Int { storage.documentCount }
    public var termCount: Int { storage.termCount }
    public var postingCount: Int { storage.postingCount }
    public var averageLength: Double { storage.averageLength }
    public let analyzer: BM25Analyzer

    /// Reads an index written by `write(to:)`, mapping it rather than copying.
    /// `analyzer` must be the one it was built with: the file does not record it.
    public init(contentsOf url: URL, analyzer: BM25Analyzer = BM25Analyzer()) throws {
        let file: MappedFile
        do { file = try MappedFile(url) } catch { throw BM25Error.io(path: url.path, reason: "\(error)") }
        storage = try Storage(bytes: file.bytes, owner: .mapped(file), path: url.path)
        self.analyzer = analyzer
    }

    init(image: UnsafeMutableRawBufferPointer, analyzer: BM25Analyzer) throws {
        storage = try Storage(bytes: UnsafeRawBufferPointer(image), owner: .heap(image), path: "(built index)")
        self.analyzer = analyzer
    }

    /// Writes the index's bytes to a temporary file beside `url` and renames it
    /// over `url`, so a reader never sees half a file.
    public func write(to url: URL) throws {
        let bytes = storage.bytes
        let data = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), count: bytes.count, deallocator: .none)
        do { try data.write(to: url, options: .atomic) } catch {
            throw BM25Error.io(path: url.path, reason: "cannot write the index: \(error)")
        }
    }

    public func passage(_ document: Int) -> Passage {
        precondition(document >= 0 && document < documentCount, "document \(document) out of range")
        return Passage(id: storage.field(3 * document), title: storage.field(3 * document + 1), text: storage.field(3 * document + 2))
    }

    /// The index's term ids for the analysed query, unknown terms left out.
    public func termIDs(_ query: String) -> [Int] {
        analyzer.terms(query).compactMap { storage.termID($0) }
    }

    public func search(_ query: String, topK: Int) -> [BM25Hit] {
        var scores = [Float](repeating: 0, count: documentCount)
        return search(termIDs: termIDs(query), topK: topK, scores: &scores)
    }

    /// Answers queries on `threads` cores, each with its own score array.
    public func search(_ queries: [String], topK: Int, threads: Int = Parallel.threadCount) -> [[BM25Hit]] {
        var results = [[BM25Hit]](repeating: [], count: queries.count)
        let chunks = max(1, min(threads, queries.count))
        results.withUnsafeMutableBufferPointer { results in
            let out = results
            Parallel.forEach(chunks) { c in
                var scores = [Float](repeating: 0, count: documentCount)
                for q in queries.count * c / chunks..<queries.count * (c + 1) / chunks {
                    out[q] = search(termIDs: termIDs(queries[q]), topK: topK, scores: &scores)
                }
            }
        }
        return results
    }

    /// Term-at-a-time accumulation into a dense score array (all zeros on
    /// entry and on return), then one pass that keeps the best `topK`.
    /// Higher score first; equal scores in corpus order.
    func search(termIDs: [Int], topK: Int, scores: inout [Float]) -> [BM25Hit] {
        guard topK > 0, !termIDs.isEmpty else { return [] }
        let starts = storage.postingStarts
        let docs = storage.postingDocs
        let impacts = storage.impacts
        var touched = 0
        scores.withUnsafeMutableBufferPointer { scores in
            for term in termIDs {
                let range = Int(starts[term])..<Int(starts[term + 1])
                touched += range.count
                for j in range { scores[Int(docs[j])] += impacts[j] }
            }
        }
        let hits = TopK.select(scores, count: topK)
        // Clearing only what was touched beats a full memset when few postings were summed.
        if touched < scores.count / 4 {
            for term in termIDs {
                for j in Int(starts[term])..<Int(starts[term + 1]) { scores[Int(docs[j])] = 0 }
            }
        } else {
            scores.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        return hits
    }
}

enum TopK {
    /// The `count` highest positive scores, best first, ties by index: a
    /// min-heap of the current best, fed by a 16-wide scan that skips every
    /// block holding nothing above the heap's worst.
    ///
    /// The block test compares bit patterns as integers, which orders
    /// non-negative floats correctly: the sign of `threshold − score` flags a
    /// higher score. Swift's `any(mask)`, `max()` and `pointwiseMax` on
    /// `SIMD16<Float>` compile to lane-by-lane code here; this runs 7x faster
    /// than `any` (13 against 88 µs over 100k scores).
    static func select(_ scores: [Float], count: Int) -> [BM25Hit] {
        var heap = MinHeap(capacity: count)
        scores.withUnsafeBufferPointer { scores in
            let base = UnsafeRawPointer(scores.baseAddress!)
            var threshold = heap.threshold
            var i = 0
            func consider(_ j: Int) {
                guard scores[j] > threshold else { return }
                heap.offer(BM25Hit(document: j, score: scores[j]))
                threshold = heap.threshold
            }
            while i + 16 <= scores.count {
                let bits = base.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Int32>.self)
                let above = (SIMD16(repeating: Int32(bitPattern: threshold.bitPattern)) &- bits) &>> 31
                if above.wrappedSum() != 0 {
                    for j in i..<i + 16 { consider(j) }
                }
                i += 16
            }
            for j in i..<scores.count { consider(j) }
        }
        return heap.sorted()
    }

    /// Documents arrive in increasing order, so a newcomer with a score equal
    /// to the worst kept one ranks below it: only strictly higher scores enter.
    struct MinHeap {
        var items: [BM25Hit] = []
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            items.reserveCapacity(capacity)
        }

        /// Scores must exceed this to enter: zero until full (unmatched
        /// passages never appear), then the worst kept score.
        var threshold: Float { items.count < capacity ? 0 : items[0].score }

        static func worse(_ a: BM25Hit, _ b: BM25Hit) -> Bool {
            a.score < b.score || (a.score == b.score && a.document > b.document)
        }

        mutating func offer(_ hit: BM25Hit) {
            if items.count < capacity {
                items.append(hit)
                var child = items.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard Self.worse(items[child], items[parent]) else { break }
                    items.swapAt(child, parent)
                    child = parent
                }
                return
            }
            items[0] = hit
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count, Self.worse(items[left], items[smallest]) { smallest = left }
                if right < items.count, Self.worse(items[right], items[smallest]) { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }

        func sorted() -> [BM25Hit] { items.sorted { Self.worse($1, $0) } }
    }
}
