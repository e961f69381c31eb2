import Testing
import Tokenizers

/// The merge order, on a vocabulary where it decides the result.
@Suite struct BPETests {
    /// `ab a` ranks before `a b`, so once the first `ab` exists it joins the
    /// following `a` before the second `ab` forms. Hugging Face gives these ids;
    /// GPT-2's loop, which applies every `a b` at once, would give [256, 256].
    @Test func mergesLowestRankThenLeftmostFirst() throws {
        let tokenizer = try BPETokenizer(
            tokenizerJSON: byteTokenizerJSON(
                merges: ["ab a", "a b"], extraVocabulary: ["ab": 256, "aba": 257]))
        #expect(tokenizer.encode("abab") == [257, 98])
        #expect(tokenizer.encode("ababab") == [257, 98, 256])
        #expect(tokenizer.encode("aab") == [97, 256])
        #expect(tokenizer.decode([257, 98, 256]) == "ababab")
    }
}
