import Synchronization

/// The key/value rows of recent prompts, so a prompt that starts like one
/// read before copies those rows instead of reading them again: a
/// simulator's calls share long instructions and demonstrations (the
/// published prompt-mode prompts differ only by document kind until the
/// query), which would otherwise be most of each call's work. This
/// is the prefix caching of vLLM and SGLang, for a model whose weights never
/// change; a row depends only on the tokens up to it, so a copied prefix is
/// what reading it again would compute.
public final class PromptCache: Sendable {
    private struct Entry {
        let tokens: [Int32]
        let cache: KVCache
    }

    public let model: InferenceModel
    /// Prompts kept, most recent first.
    public let capacity: Int
    /// Shorter shared prefixes are read again: a copy has a cost too.
    public let minimumShared: Int
    private let entries = Mutex<[Entry]>([])

    public init(model: InferenceModel, capacity: Int = 8, minimumShared: Int = 16) {
        self.model = model
        self.capacity = capacity
        self.minimumShared = minimumShared
    }

    /// A sequence for `prompt`, its cache holding the longest prefix a kept
    /// prompt shares with it (always leaving one token to read, whose
    /// logits the first sample needs).
    public func sequence(for prompt: [Int32]) -> TokenSequence {
        let sequence = TokenSequence(tokens: prompt, model: model)
        let best = entries.withLock { entries in
            entries.map { entry in (entry, sharedPrefixLength(entry.tokens, prompt, limit: prompt.count - 1)) }
                .max { $0.1 < $1.1 }
        }
        if let (entry, shared) = best, shared >= minimumShared { sequence.cache.replicate(entry.cache, count: shared) }
        return sequence
    }

    /// Keeps the prompts of these sequences (read by now), the most recent
    /// first; prompts that a kept one already starts with add nothing.
    public func keep(_ sequences: [TokenSequence], promptLengths: [Int]) {
        entries.withLock { entries in
            for (sequence, length) in zip(sequences, promptLengths) where length > 0 && sequence.cache.count >= length {
                let prompt = sequence.tokens.prefix(length)
                if entries.contains(where: { $0.tokens.starts(with: prompt) }) { continue }
                entries.insert(Entry(tokens: Array(prompt), cache: sequence.cache), at: 0)
            }
            if entries.count > capacity { entries.removeLast(entries.count - capacity) }
        }
    }
}

func sharedPrefixLength(_ a: [Int32], _ b: [Int32], limit: Int) -> Int {
    var length = 0
    let end = min(a.count, b.count, max(limit, 0))
    while length < end && a[length] == b[length] { length += 1 }
    return length
}
