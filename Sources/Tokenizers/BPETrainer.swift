import Foundation

/// Learns a byte-level BPE vocabulary from text, as Hugging Face `tokenizers`'
/// `BpeTrainer` does with a `ByteLevel` pre-tokenizer: the text is split into
/// pieces, equal pieces are counted once with their frequency, and the most
/// frequent adjacent pair of tokens is merged into a new token until the
/// vocabulary is full.
///
/// Ids: the special tokens, then the added tokens, in the order given; then
/// the 256 bytes in the order of the characters that spell them (GPT-2's
/// table: `!` is the first, the space `Ġ` comes after `ÿ`); then one per merge.
/// Ties between equally frequent pairs go to the pair with the smaller
/// (left id, right id), which is `BpeTrainer`'s rule, so with the same ids the
/// two learn the same merges.
public struct BPETrainer: Sendable {
    /// How text is cut into the pieces that merges stay inside.
    public enum Splitting: String, Sendable, CaseIterable {
        /// GPT-2's regex (Hugging Face `ByteLevel(use_regex: true)`).
        case gpt2
        /// Llama-3's regex: numbers in groups of up to three digits.
        case llama3
        /// Qwen2's regex: single digits.
        case qwen2
        /// SmolLM's: every digit alone, then GPT-2's regex.
        case smolLM = "smollm"

        var steps: [PreTokenizer.Step] {
            switch self {
            case .gpt2: [.split(.gpt2)]
            case .llama3: [.split(.llama3)]
            case .qwen2: [.split(.qwen2)]
            case .smolLM: [.digits(individually: true), .split(.gpt2)]
            }
        }
    }

    /// All tokens: special, added, the 256 bytes and the merges. Training stops
    /// earlier when no pair is frequent enough.
    public var vocabularySize: Int
    /// A pair seen fewer times than this is never merged: a pair seen once
    /// only memorises the corpus.
    public var minimumPairFrequency: Int
    /// Added tokens that `decode(_:skipSpecialTokens: true)` leaves out, such as
    /// `<|endoftext|>` or `<|im_end|>`.
    public var specialTokens: [String]
    /// Added tokens that decoding keeps, such as `<search>` or `<think>`.
    public var addedTokens: [String]
    /// One of `specialTokens`, reported as the tokenizer's EOS.
    public var eosToken: String?
    public var splitting: Splitting

    public init(
        vocabularySize: Int, minimumPairFrequency: Int = 2, specialTokens: [String] = [],
        addedTokens: [String] = [], eosToken: String? = nil, splitting: Splitting = .gpt2
    ) {
        self.vocabularySize = vocabularySize
        self.minimumPairFrequency = minimumPairFrequency
        self.specialTokens = specialTokens
        self.addedTokens = addedTokens
        self.eosToken = eosToken
        self.splitting = splitting
    }

    /// Learns the merges from `texts`. Special and added tokens are cut out of
    /// the text first, as encoding does, so no merge is spent on their pieces.
    public func train(_ texts: some Sequence<String>) throws -> TrainedTokenizer {
        let added = try addedTokenList()
        guard vocabularySize >= added.count + 256 else {
            throw TokenizerError(
                "BPE training: a vocabulary of \(vocabularySize) cannot hold the 256 bytes "
                    + "and \(added.count) added tokens")
        }
        var state = MergeState(
            words: countPieces(texts, cutting: AddedTokenMatcher(added)),
            firstByteID: Int32(added.count))
        while state.tokenCount < vocabularySize - added.count, state.mergeBest(minimumCount: max(minimumPairFrequency, 1)) {}

        var vocabulary: [String: Int32] = [:]
        var names = added.map(\.content)
        for token in added { vocabulary[token.content] = token.id }
        for bytes in state.tokenBytes {
            let spelling = ByteLevel.spelling(of: bytes)
            // An added token written in the byte alphabet ("Ġx") is not cut out of
            // the bytes it spells (" x"), so a merge can arrive at its name.
            guard vocabulary[spelling] == nil else {
                throw TokenizerError(
                    "BPE training: added token \(quoted(spelling)) is also the learned token for "
                        + "the text \(quoted(String(decoding: bytes, as: UTF8.self)))")
            }
            vocabulary[spelling] = Int32(names.count)
            names.append(spelling)
        }
        let merges = state.merges.map { (names[Int($0.left)], names[Int($0.right)]) }
        let description = BPETokenizer.Description(
            vocabulary: vocabulary, merges: merges, addedTokens: added,
            preTokenizer: PreTokenizer(steps: splitting.steps), eosToken: eosToken, source: "BPE training")
        return TrainedTokenizer(
            tokenizer: try BPETokenizer(description), merges: merges,
            description: description, tokenNames: names)
    }

    private func addedTokenList() throws -> [AddedToken] {
        let contents = specialTokens + addedTokens
        var seen: Set<String> = []
        for content in contents {
            guard !content.isEmpty else { throw TokenizerError("BPE training: an added token is empty") }
            guard seen.insert(content).inserted else {
                throw TokenizerError("BPE training: added token \(quoted(content)) is listed twice")
            }
            // A one-byte token would take the name of that byte's token.
            guard ByteLevel.bytes(spelledBy: content)?.count != 1 else {
                throw TokenizerError("BPE training: added token \(quoted(content)) spells a single byte")
            }
        }
        if let eosToken, !specialTokens.contains(eosToken) {
            throw TokenizerError("BPE training: EOS token \(quoted(eosToken)) is not one of the special tokens")
        }
        return contents.enumerated().map { index, content in
            AddedToken(content: content, id: Int32(index), special: index < specialTokens.count)
        }
    }

    /// Each distinct piece of the text between added tokens, with how often it occurs.
    private func countPieces(_ texts: some Sequence<String>, cutting matcher: AddedTokenMatcher) -> [([UInt8], Int)] {
        let preTokenizer = PreTokenizer(steps: splitting.steps)
        var counts: [[UInt8]: Int] = [:]
        var pieces: [Range<Int>] = []
        var scratch: [Range<Int>] = []
        for var text in texts {
            text.withUTF8 { raw in
                for case let .text(range) in matcher.segments(of: raw) {
                    let segment = UnsafeBufferPointer(rebasing: raw[range])
                    preTokenizer.split(UTF8Scanner(bytes: segment), into: &pieces, scratch: &scratch)
                    for piece in pieces { counts[Array(segment[piece]), default: 0] += 1 }
                }
            }
        }
        // In the dictionary's order, which varies from run to run; the merges
        // depend on the counts alone.
        return counts.map { ($0.key, $0.value) }
    }
}

/// What `BPETrainer.train(_:)` learned: the tokenizer, and the files that load
/// it in Hugging Face `tokenizers` and `transformers`.
public struct TrainedTokenizer: Sendable {
    public let tokenizer: BPETokenizer
    /// In order of rank, spelled in the byte-level alphabet as tokenizer.json writes them.
    public let merges: [(left: String, right: String)]
    let description: BPETokenizer.Description
    /// Each id's token, as tokenizer.json spells it.
    let tokenNames: [String]

    init(tokenizer: BPETokenizer, merges: [(String, String)], description: BPETokenizer.Description, tokenNames: [String]) {
        self.tokenizer = tokenizer
        self.merges = merges.map { (left: $0.0, right: $0.1) }
        self.description = description
        self.tokenNames = tokenNames
    }

    /// `tokenizer.json` and `tokenizer_config.json`.
    public func huggingFaceFiles() throws -> [String: Data] {
        var config: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false]
        if let eos = description.eosToken { config["eos_token"] = eos }
        return [
            "tokenizer.json": try JSONSerialization.data(
                withJSONObject: BPETokenizer.tokenizerJSON(description, tokens: tokenNames), options: [.sortedKeys]),
            "tokenizer_config.json": try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
        ]
    }
}

/// The words of the corpus as token ids, the count of every adjacent pair, and
/// for each pair the words it occurs in, kept up to date merge by merge: a
/// merge visits only the words that hold its pair.
private struct MergeState {
    /// A pair waiting in the queue. The heap's smallest element is the best:
    /// the highest count, then the smallest (left, right).
    struct Candidate: Comparable {
        var count: Int
        var pair: UInt64

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.count != b.count ? a.count > b.count : a.pair < b.pair
        }
    }

    /// All words' tokens back to back; a word's tokens start at `wordStarts[w]`
    /// and shrink in place as they merge.
    var symbols: [Int32] = []
    var wordStarts: [Int] = []
    var wordLengths: [Int] = []
    var wordCounts: [Int] = []
    /// Bytes of each token, by id less `firstByteID`.
    var tokenBytes: [[UInt8]]
    var tokenIDs: [[UInt8]: Int32] = [:]
    let firstByteID: Int32
    var merges: [(left: Int32, right: Int32)] = []

    /// Index of each pair (`left << 32 | right`) in `pairCounts` and `pairWords`.
    var pairIndices: [UInt64: Int] = [:]
    var pairCounts: [Int] = []
    /// Words that held the pair when it was counted; some may have lost it
    /// since, and a word can be listed more than once.
    var pairWords: [[Int32]] = []
    var queue: [Candidate] = []
    /// The merge that last visited each word, so that a word listed twice is merged once.
    var visitedBy: [Int]
    /// Pairs whose count grew during the current merge, to queue when it is
    /// done, and the merge that last listed each pair there.
    var grown: [UInt64] = []
    var grownDuring: [Int] = []

    var tokenCount: Int { tokenBytes.count }

    init(words: [([UInt8], Int)], firstByteID: Int32) {
        self.firstByteID = firstByteID
        // The bytes in the order of their spelling characters, as BpeTrainer
        // sorts its alphabet, so that ties break the same way.
        let bytes = (0...255).map(UInt8.init).sorted { ByteLevel.scalarForByte[Int($0)].value < ByteLevel.scalarForByte[Int($1)].value }
        tokenBytes = bytes.map { [$0] }
        var byteIDs = [Int32](repeating: 0, count: 256)
        for (index, byte) in bytes.enumerated() {
            byteIDs[Int(byte)] = firstByteID + Int32(index)
            tokenIDs[[byte]] = firstByteID + Int32(index)
        }
        for (word, count) in words {
            wordStarts.append(symbols.count)
            wordLengths.append(word.count)
            wordCounts.append(count)
            symbols += word.map { byteIDs[Int($0)] }
        }
        visitedBy = [Int](repeating: -1, count: words.count)
        for w in wordStarts.indices {
            let start = wordStarts[w]
            for i in start..<start + wordLengths[w] - 1 {
                add(wordCounts[w], to: Self.key(symbols[i], symbols[i + 1]), in: Int32(w))
            }
        }
        // A sorted array is already a heap.
        queue = grown.map { Candidate(count: pairCounts[pairIndices[$0]!], pair: $0) }.sorted(by: <)
        grown.removeAll()
    }

    static func key(_ left: Int32, _ right: Int32) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    /// Changes a pair's count; a pair that gains occurrences remembers the word.
    mutating func add(_ delta: Int, to pair: UInt64, in word: Int32) {
        let index: Int
        if let known = pairIndices[pair] {
            index = known
        } else {
            index = pairCounts.count
            pairIndices[pair] = index
            pairCounts.append(0)
            pairWords.append([])
            grownDuring.append(-1)
        }
        pairCounts[index] += delta
        guard delta > 0 else { return }
        if pairWords[index].last != word { pairWords[index].append(word) }
        if grownDuring[index] != merges.count {
            grownDuring[index] = merges.count
            grown.append(pair)
        }
    }

    /// Merges the most frequent pair everywhere; false when no pair occurs at
    /// least `minimumCount` times.
    mutating func mergeBest(minimumCount: Int) -> Bool {
        while let top = MinHeap.popMinimum(&queue) {
            let index = pairIndices[top.pair]!
            let count = pairCounts[index]
            // Counts only fall while a pair waits (a pair that grows is a new
            // one), so an outdated entry goes back with its true count.
            guard count == top.count else {
                if count > 0 { MinHeap.push(Candidate(count: count, pair: top.pair), into: &queue) }
                continue
            }
            guard count >= minimumCount else { return false }
            merge(top.pair, index: index)
            return true
        }
        return false
    }

    private mutating func merge(_ pair: UInt64, index: Int) {
        let left = Int32(truncatingIfNeeded: pair >> 32)
        let right = Int32(truncatingIfNeeded: pair)
        let bytes = tokenBytes[Int(left - firstByteID)] + tokenBytes[Int(right - firstByteID)]
        // Two merges can spell the same bytes ("a bc" and "ab c"); they share the token.
        let merged =
            tokenIDs[bytes]
            ?? {
                tokenBytes.append(bytes)
                tokenIDs[bytes] = firstByteID + Int32(tokenBytes.count - 1)
                return firstByteID + Int32(tokenBytes.count - 1)
            }()
        merges.append((left, right))
        let words = pairWords[index]
        pairWords[index] = []
        for word in words where visitedBy[Int(word)] != merges.count {
            visitedBy[Int(word)] = merges.count
            merge(left, right, into: merged, inWord: Int(word))
        }
        // The merged pair is gone; what the loop counted against it is moot.
        pairCounts[index] = 0
        for grownPair in grown {
            let count = pairCounts[pairIndices[grownPair]!]
            if count > 0 { MinHeap.push(Candidate(count: count, pair: grownPair), into: &queue) }
        }
        grown.removeAll(keepingCapacity: true)
    }

    /// Left to right, as `tokenizers`' `Word::merge`: `aaa` merging `a a` is
    /// `aa a`, and each merge trades the pairs with its neighbours for pairs
    /// with the new token.
    private mutating func merge(_ left: Int32, _ right: Int32, into merged: Int32, inWord w: Int) {
        let start = wordStarts[w]
        let end = start + wordLengths[w]
        let count = wordCounts[w]
        var read = start
        var write = start
        while read < end {
            guard read + 1 < end, symbols[read] == left, symbols[read + 1] == right else {
                symbols[write] = symbols[read]
                write += 1
                read += 1
                continue
            }
            if write > start {
                add(-count, to: Self.key(symbols[write - 1], left), in: Int32(w))
                add(count, to: Self.key(symbols[write - 1], merged), in: Int32(w))
            }
            if read + 2 < end {
                add(-count, to: Self.key(right, symbols[read + 2]), in: Int32(w))
                add(count, to: Self.key(merged, symbols[read + 2]), in: Int32(w))
            }
            symbols[write] = merged
            write += 1
            read += 2
        }
        wordLengths[w] = write - start
    }
}
