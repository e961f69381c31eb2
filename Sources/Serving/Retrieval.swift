import Foundation
import Hummingbird
import Search
import Support

extension Server {
    /// `POST /retrieve` over the served engine, in the two forms clients send:
    /// Search-R1's batch (`{"queries": [...], "topk": k, "return_scores": b}`,
    /// answered `{"result": [[{"id", "contents"}, ...], ...]}`, each document
    /// wrapped as `{"document", "score"}` when scores are asked for) and
    /// ZeroSearch's single query (`{"query": q, "top_k": k}`, answered
    /// `[{"text": ...}, ...]`). A simulator engine reads the optional
    /// `question`, `golden_answers` and `kind` (`useful` or `noisy`) fields.
    func retrieve(_ body: JSONValue) async throws -> Response {
        guard let engine else { throw APIError(status: 404, "this server has no search engine (start it with --engine)") }
        let fields = try Fields(body)
        let batch: Bool
        let queries: [String]
        if let list = try fields.list("queries") {
            guard !list.isEmpty, list.count <= 4096, list.allSatisfy({ $0.string != nil }) else {
                throw APIError("'queries' must be a list of 1 to 4096 strings", param: "queries")
            }
            (batch, queries) = (true, list.map { $0.string! })
        } else if let query = try fields.string("query") {
            (batch, queries) = (false, [query])
        } else {
            throw APIError("give 'queries' (a list of strings) or 'query' (a string)", param: "queries")
        }
        let topK = try fields.int(batch ? "topk" : "top_k", in: 1...100) ?? 3
        let withScores = try fields.bool("return_scores") ?? false
        let kind: DocumentKind
        switch try fields.string("kind") ?? "useful" {
        case "useful": kind = .useful
        case "noisy": kind = .noisy
        default: throw APIError("'kind' must be useful or noisy", param: "kind")
        }
        let golden = try fields.list("golden_answers") ?? []
        guard golden.allSatisfy({ $0.string != nil }) else {
            throw APIError("'golden_answers' must be a list of strings", param: "golden_answers")
        }
        let question = try fields.string("question")
        let lists: [[RetrievedDocument]]
        if let bm25 = engine as? BM25Engine {
            lists = bm25.index.search(queries, topK: topK).map { hits in
                hits.map { hit in
                    let passage = bm25.index.passage(hit.document)
                    return RetrievedDocument(id: passage.id, title: passage.title, text: passage.text, score: Double(hit.score))
                }
            }
        } else {
            let results = await engine.search(
                queries.map { SearchRequest(query: $0, question: question ?? $0, goldAnswers: golden.map { $0.string! }, kind: kind) })
            if let failed = results.first(where: \.failed) {
                throw APIError(status: 502, "the engine failed: \(failed.failure ?? "")")
            }
            lists = results.map { Array(RetrievedDocument.parse($0.text).prefix(topK)) }
        }
        if !batch { return Self.json(.list(lists[0].map { .object([.init("text", .string($0.text))]) })) }
        return Self.json(
            .object([
                .init(
                    "result",
                    .list(
                        lists.map { documents in
                            .list(
                                documents.map {
                                    withScores ? .object([.init("document", $0.json), .init("score", .double($0.score))]) : $0.json
                                })
                        }))
            ]))
    }
}

/// One document of a retrieval answer.
struct RetrievedDocument: Equatable {
    var id: String
    var title: String
    var text: String
    /// BM25's score; a simulator's documents score by rank (1, 1/2, 1/3, …).
    var score: Double

    /// Search-R1's document: `contents` is the title, a newline, the text.
    var json: JSONValue {
        .object([.init("id", .string(id)), .init("contents", .string(title.isEmpty ? text : title + "\n" + text))])
    }

    /// The documents of an engine's rendered answer, `Doc i: text` (or
    /// `Doc i(Title: t) text`) one per line.
    static func parse(_ rendered: String) -> [RetrievedDocument] {
        rendered.split(separator: "\n").enumerated().compactMap { offset, line in
            guard line.hasPrefix("Doc "), let colon = line.firstIndex(where: { $0 == ":" || $0 == "(" }) else { return nil }
            var rest = line[line.index(after: colon)...].drop { $0 == " " }
            var title = ""
            if line[colon] == "(", rest.hasPrefix("Title: "), let close = rest.firstIndex(of: ")") {
                title = String(rest[rest.index(rest.startIndex, offsetBy: 7)..<close])
                rest = rest[rest.index(after: close)...].drop { $0 == " " }
            }
            return RetrievedDocument(id: "\(offset)", title: title, text: String(rest), score: 1 / Double(offset + 1))
        }
    }
}
