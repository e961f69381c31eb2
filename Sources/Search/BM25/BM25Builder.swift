import Foundation

/// Collects passages in corpus order and produces a `BM25Index`.
///
/// While adding it keeps a forward index (each passage's distinct term ids
/// and counts) and the passages' bytes; `build()` inverts that into postings
/// sorted by document, with the vocabulary sorted by UTF-8 bytes for binary
/// search, written straight into the file's layout. Memory is about the
/// corpus size plus 16 bytes per posting.
public struct BM25Builder {
    public let analyzer: BM25Analyzer
    public let parameters: BM25Parameters
    private var vocabulary: [String: UInt32] = [:]
    private var forwardTerms: [UInt32] = [], forwardCounts: [UInt32] = [], forwardStarts: [Int] = [0]
    private var documentLengths: [UInt32] = []
    private var passageBytes: [UInt8] = [], fieldStarts: [UInt64] = [0]
    private var documentTerms: [UInt32] = []

    public init(parameters: BM25Parameters = BM25Parameters(), analyzer: BM25Analyzer = BM25Analyzer()) {
        self.parameters = parameters
        self.analyzer = analyzer
    }

    public var documentCount: Int { documentLengths.count }

    /// Indexes the title and the text together, as Search-R1's wiki index
    /// does with its `"Title"\ntext` contents.
    public mutating func add(_ passage: Passage) {
        documentTerms.removeAll(keepingCapacity: true)
        for field in [passage.title, passage.text] {
            analyzer.forEachTerm(in: field) { term in
                let next = UInt32(vocabulary.count)
                let id = vocabulary[term, default: next]
                if id == next { vocabulary[term] = id }
                documentTerms.append(id)
            }
        }
        documentLengths.append(UInt32(documentTerms.count))
        documentTerms.sort()
        var i = 0
        while i < documentTerms.count {
            var j = i + 1
            while j < documentTerms.count, documentTerms[j] == documentTerms[i] { j += 1 }
            forwardTerms.append(documentTerms[i])
            forwardCounts.append(UInt32(j - i))
            i = j
        }
        forwardStarts.append(forwardTerms.count)
        for field in [passage.id, passage.title, passage.text] {
            passageBytes.append(contentsOf: field.utf8)
            fieldStarts.append(UInt64(passageBytes.count))
        }
    }

    /// Streams a JSONL corpus into the builder; `progress` gets the passage count now and then.
    public mutating func add(corpus url: URL, progress: (Int) -> Void = { _ in }) throws {
        try JSONLCorpus.forEachPassage(in: url) { passage, _ in
            add(passage)
            if documentCount % 10_000 == 0 { progress(documentCount) }
        }
        progress(documentCount)
    }

    public func build() throws -> BM25Index {
        let keys = vocabulary.sorted { $0.value < $1.value }.map { Array($0.key.utf8) }
        let order = keys.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
        var rank = [Int](repeating: 0, count: keys.count)
        for (position, old) in order.enumerated() { rank[old] = position }

        let layout = BM25IndexLayout(
            documents: documentCount, terms: keys.count, postings: forwardTerms.count,
            termBytes: keys.reduce(0) { $0 + $1.count }, passageBytes: passageBytes.count)
        let image = UnsafeMutableRawBufferPointer.allocate(byteCount: layout.size, alignment: 16)
        image.initializeMemory(as: UInt8.self, repeating: 0)
        func section<T>(_ offset: Int, _ count: Int, _: T.Type) -> UnsafeMutableBufferPointer<T> {
            UnsafeMutableBufferPointer(start: (image.baseAddress! + offset).bindMemory(to: T.self, capacity: count), count: count)
        }

        _ = section(layout.documentLengths, documentCount, UInt32.self).update(fromContentsOf: documentLengths)
        let starts = section(layout.postingStarts, keys.count + 1, UInt64.self)
        for term in forwardTerms { starts[rank[Int(term)] + 1] += 1 }
        for t in 0..<keys.count { starts[t + 1] += starts[t] }
        var cursor = Array(starts.dropLast())
        let docs = section(layout.postingDocs, forwardTerms.count, UInt32.self)
        let tfs = section(layout.postingTFs, forwardTerms.count, UInt32.self)
        for document in 0..<documentCount {
            for i in forwardStarts[document]..<forwardStarts[document + 1] {
                let term = rank[Int(forwardTerms[i])]
                let j = Int(cursor[term])
                docs[j] = UInt32(document)
                tfs[j] = forwardCounts[i]
                cursor[term] += 1
            }
        }
        let termStarts = section(layout.termStarts, keys.count + 1, UInt64.self)
        var termText = image.baseAddress! + layout.termText
        for (position, old) in order.enumerated() {
            keys[old].withUnsafeBytes { termText.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            termText += keys[old].count
            termStarts[position + 1] = termStarts[position] + UInt64(keys[old].count)
        }
        _ = section(layout.fieldStarts, fieldStarts.count, UInt64.self).update(fromContentsOf: fieldStarts)
        passageBytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: image[layout.passageText...]).copyMemory(from: $0) }

        var header = [UInt8]()
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { header.append(contentsOf: $0) } }
        header += BM25IndexLayout.magic
        put(BM25IndexLayout.version)
        put(UInt32(BM25IndexLayout.headerSize))
        put(parameters.k1.bitPattern)
        put(parameters.b.bitPattern)
        for count in [documentCount, keys.count, forwardTerms.count, layout.termBytes, passageBytes.count] { put(UInt64(count)) }
        put(UInt64(documentLengths.reduce(0) { $0 + Int($1) }))
        put(BM25IndexLayout.checksum(UnsafeRawBufferPointer(rebasing: image[BM25IndexLayout.headerSize...])))
        put(UInt64(layout.size))
        header.withUnsafeBytes { image.copyMemory(from: $0) }
        do {
            return try BM25Index(image: image, analyzer: analyzer)
        } catch {
            image.deallocate()
            throw error
        }
    }
}
