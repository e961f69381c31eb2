import Engine
import Foundation
import Support

/// The index file, little-endian, every section 8-byte aligned so that it can
/// be used in place from a memory map:
///
///     header (96 bytes)
///       0  magic "ZSBM25IX"          8  version u32, header size u32
///      16  k1 f64                    24  b f64
///      32  documents N u64           40  terms V u64
///      48  postings P u64            56  term bytes u64
///      64  passage bytes u64         72  total terms Σdl u64
///      80  checksum u64 (of every byte after the header)
///      88  file size u64
///     document lengths   N × u32  (terms per passage, after analysis)
///     posting starts   V+1 × u64  (term t's postings are [start[t], start[t+1]))
///     posting docs       P × u32  (increasing within a term)
///     posting tfs        P × u32
///     term starts      V+1 × u64  (into term bytes; terms sorted by their UTF-8 bytes)
///     term bytes
///     field starts    3N+1 × u64  (into passage bytes: id, title, text of each passage)
///     passage bytes
///
/// Every size follows from the header's counts, so a truncated or extended
/// file is caught by its length, and a flipped byte by the checksum. The
/// contents are checked too (offsets increasing and in range, document
/// numbers below N) so that even a file with a matching checksum cannot make
/// a query read out of bounds.
struct BM25IndexLayout {
    static let magic = Array("ZSBM25IX".utf8)
    static let version: UInt32 = 1
    static let headerSize = 96

    let documents: Int, terms: Int, postings: Int, termBytes: Int, passageBytes: Int
    let documentLengths: Int, postingStarts: Int, postingDocs: Int, postingTFs: Int
    let termStarts: Int, termText: Int, fieldStarts: Int, passageText: Int, size: Int

    init(documents: Int, terms: Int, postings: Int, termBytes: Int, passageBytes: Int) {
        self.documents = documents
        self.terms = terms
        self.postings = postings
        self.termBytes = termBytes
        self.passageBytes = passageBytes
        var end = Self.headerSize
        func section(_ bytes: Int) -> Int {
            let start = (end + 7) & ~7
            end = start + bytes
            return start
        }
        documentLengths = section(4 * documents)
        postingStarts = section(8 * (terms + 1))
        postingDocs = section(4 * postings)
        postingTFs = section(4 * postings)
        termStarts = section(8 * (terms + 1))
        termText = section(termBytes)
        fieldStarts = section(8 * (3 * documents + 1))
        passageText = section(passageBytes)
        size = (end + 7) & ~7
    }

    /// A multiply-xor hash over 8-byte words in four independent lanes, so
    /// that it runs at memory speed and every open can afford it. Each step is
    /// a bijection of its lane, so any single changed word changes the result.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let prime: UInt64 = 0x100_0000_01B3
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0xCBF2_9CE4_8422_2325, 1, 2, 3)
        var i = 0
        while i + 32 <= bytes.count {
            lanes.0 = (lanes.0 ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* prime
            lanes.1 = (lanes.1 ^ bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) &* prime
            lanes.2 = (lanes.2 ^ bytes.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)) &* prime
            lanes.3 = (lanes.3 ^ bytes.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)) &* prime
            i += 32
        }
        var hash = UInt64(bytes.count)
        for lane in [lanes.0, lanes.1, lanes.2, lanes.3] { hash = (hash ^ lane) &* prime }
        while i < bytes.count {
            hash = (hash ^ UInt64(bytes[i])) &* prime
            i += 1
        }
        return hash
    }
}

extension BM25Index {
    /// The checked bytes of one index and what opening it computed.
    final class Storage: @unchecked Sendable {
        enum Owner {
            case mapped(MappedFile)
            case heap(UnsafeMutableRawBufferPointer)
        }

        let bytes: UnsafeRawBufferPointer
        let owner: Owner
        let parameters: BM25Parameters
        let documentCount: Int, termCount: Int, postingCount: Int
        let averageLength: Double
        let postingStarts: UnsafeBufferPointer<UInt64>
        let postingDocs: UnsafeBufferPointer<UInt32>
        let termStarts: UnsafeBufferPointer<UInt64>
        let termText: UnsafeRawBufferPointer
        let fieldStarts: UnsafeBufferPointer<UInt64>
        let passageText: UnsafeRawBufferPointer
        /// idf · tf·(k1+1)/(tf + k1·(1 − b + b·dl/avgdl)) of each posting.
        let impacts: [Float]

        init(bytes: UnsafeRawBufferPointer, owner: Owner, path: String) throws {
            self.bytes = bytes
            self.owner = owner
            func bad(_ reason: String) -> BM25Error { .badIndex(path: path, reason: reason) }

            var header = ByteReader(bytes, context: path)
            guard bytes.count >= BM25IndexLayout.headerSize else {
                throw bad("file is too short (\(bytes.count) bytes, the header alone is \(BM25IndexLayout.headerSize))")
            }
            guard try Array(header.readBytes(8, "magic")) == BM25IndexLayout.magic else {
                throw bad("wrong magic (not a zerosearch BM25 index)")
            }
            let version = try header.read(UInt32.self, "version")
            guard version == BM25IndexLayout.version else { throw bad("version \(version), this build reads \(BM25IndexLayout.version)") }
            guard try header.read(UInt32.self, "header size") == UInt32(BM25IndexLayout.headerSize) else { throw bad("wrong header size") }
            let k1 = Double(bitPattern: try header.read(UInt64.self, "k1"))
            let b = Double(bitPattern: try header.read(UInt64.self, "b"))
            guard k1.isFinite, k1 >= 0, b.isFinite, (0...1).contains(b) else { throw bad("bad BM25 parameters k1=\(k1) b=\(b)") }
            parameters = BM25Parameters(k1: k1, b: b)
            // Every count is at most the file size (each item takes at least a
            // byte), which also keeps the layout arithmetic from overflowing.
            var counts: [Int] = []
            for name in ["documents", "terms", "postings", "term bytes", "passage bytes", "total terms"] {
                let value = try header.read(UInt64.self, name)
                guard value <= UInt64(bytes.count) || name == "total terms" else {
                    throw bad("\(name) count \(value) exceeds the file size")
                }
                counts.append(Int(truncatingIfNeeded: value))
            }
            let checksum = try header.read(UInt64.self, "checksum")
            let recordedSize = try header.read(UInt64.self, "file size")
            let layout = BM25IndexLayout(
                documents: counts[0], terms: counts[1], postings: counts[2], termBytes: counts[3], passageBytes: counts[4])
            guard recordedSize == UInt64(layout.size), bytes.count == layout.size else {
                throw bad(
                    "file is \(bytes.count) bytes, its header describes \(layout.size) (recorded \(recordedSize)): truncated or corrupted")
            }
            guard BM25IndexLayout.checksum(UnsafeRawBufferPointer(rebasing: bytes[BM25IndexLayout.headerSize...])) == checksum else {
                throw bad("checksum mismatch: the file is corrupted")
            }
            documentCount = counts[0]
            termCount = counts[1]
            postingCount = counts[2]
            func typed<T>(_ offset: Int, _ count: Int, _: T.Type) -> UnsafeBufferPointer<T> {
                UnsafeBufferPointer(start: (bytes.baseAddress! + offset).assumingMemoryBound(to: T.self), count: count)
            }
            func raw(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
            }
            let lengths = typed(layout.documentLengths, documentCount, UInt32.self)
            postingStarts = typed(layout.postingStarts, termCount + 1, UInt64.self)
            postingDocs = typed(layout.postingDocs, postingCount, UInt32.self)
            let tfs = typed(layout.postingTFs, postingCount, UInt32.self)
            termStarts = typed(layout.termStarts, termCount + 1, UInt64.self)
            termText = raw(layout.termText, layout.termBytes)
            fieldStarts = typed(layout.fieldStarts, 3 * documentCount + 1, UInt64.self)
            passageText = raw(layout.passageText, layout.passageBytes)
            for (name, starts, total) in [
                ("posting", postingStarts, postingCount), ("term", termStarts, layout.termBytes),
                ("field", fieldStarts, layout.passageBytes),
            ] {
                guard starts.first == 0, starts.last == UInt64(total), zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                    throw bad("\(name) offsets are not increasing from 0 to \(total)")
                }
            }
            let totalTerms = lengths.reduce(0) { $0 + Int($1) }
            guard totalTerms == counts[5] else { throw bad("document lengths sum to \(totalTerms), header says \(counts[5])") }
            averageLength = documentCount == 0 ? 0 : Double(totalTerms) / Double(documentCount)
            impacts = try Self.impacts(
                parameters: parameters, averageLength: averageLength, lengths: lengths,
                starts: postingStarts, docs: postingDocs, tfs: tfs, bad: bad)
        }

        deinit {
            if case let .heap(buffer) = owner { buffer.deallocate() }
        }

        /// Also validates every posting, since this touches each one anyway.
        private static func impacts(
            parameters: BM25Parameters, averageLength: Double, lengths: UnsafeBufferPointer<UInt32>,
            starts: UnsafeBufferPointer<UInt64>, docs: UnsafeBufferPointer<UInt32>,
            tfs: UnsafeBufferPointer<UInt32>, bad: (String) -> BM25Error
        ) throws -> [Float] {
            let k1 = parameters.k1
            let b = parameters.b
            let n = lengths.count
            let norms = lengths.map { k1 * (1 - b + b * Double($0) / averageLength) }
            var impacts = [Float](repeating: 0, count: docs.count)
            for term in 0..<starts.count - 1 {
                let range = Int(starts[term])..<Int(starts[term + 1])
                let idf = BM25Parameters.idf(documentFrequency: range.count, documentCount: n)
                for j in range {
                    let doc = Int(docs[j])
                    let tf = Double(tfs[j])
                    guard doc < n, tf > 0 else { throw bad("posting \(j) names document \(doc) with tf \(tfs[j]) (\(n) documents)") }
                    impacts[j] = Float(idf * tf * (k1 + 1) / (tf + norms[doc]))
                }
            }
            return impacts
        }

        func field(_ index: Int) -> String {
            let range = Int(fieldStarts[index])..<Int(fieldStarts[index + 1])
            return String(decoding: UnsafeRawBufferPointer(rebasing: passageText[range]), as: UTF8.self)
        }

        /// Binary search over the sorted term table.
        func termID(_ term: String) -> Int? {
            var term = term
            return term.withUTF8 { key -> Int? in
                var low = 0
                var high = termCount
                while low < high {
                    let mid = (low + high) / 2
                    let candidate = UnsafeRawBufferPointer(rebasing: termText[Int(termStarts[mid])..<Int(termStarts[mid + 1])])
                    switch Self.compare(candidate, UnsafeRawBufferPointer(key)) {
                    case 0: return mid
                    case ..<0: low = mid + 1
                    default: high = mid
                    }
                }
                return nil
            }
        }

        static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
            let common = min(a.count, b.count)
            if common > 0 {
                let c = Int(memcmp(a.baseAddress!, b.baseAddress!, common))
                if c != 0 { return c }
            }
            return a.count - b.count
        }
    }
}
