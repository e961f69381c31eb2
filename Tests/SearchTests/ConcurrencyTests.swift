import Foundation
import Search
import Synchronization
import Testing

@Suite struct ConcurrencyTests {
    @Test func concurrentMapKeepsOrderAndRespectsTheLimit() async {
        let inFlight = Mutex((now: 0, peak: 0))
        let results = await concurrentMap(Array(0..<40), limit: 3) { value in
            inFlight.withLock {
                $0.now += 1
                $0.peak = max($0.peak, $0.now)
            }
            try? await Task.sleep(for: .milliseconds(2 + value % 3))
            inFlight.withLock { $0.now -= 1 }
            return value * value
        }
        #expect(results == (0..<40).map { $0 * $0 })
        #expect(inFlight.withLock { $0.peak } == 3)
    }

    @Test func documentsRenderOnePerLine() {
        #expect(SearchResult.documents(["a b", "c"]).text == "Doc 1: a b\nDoc 2: c")
        #expect(SearchResult.failed("timeout").text == "No information available")
    }
}

@Suite struct EngineSpecTests {
    @Test func parsesEveryForm() throws {
        #expect(try EngineSpec(parsing: "sim:smollm2-135m-instruct") == .simulator(model: "smollm2-135m-instruct"))
        #expect(
            try EngineSpec(parsing: "sim+http://10.0.0.1:6001,http://10.0.0.2:6001")
                == .simulatorServers([URL(string: "http://10.0.0.1:6001")!, URL(string: "http://10.0.0.2:6001")!]))
        #expect(try EngineSpec(parsing: "bm25:/data/wiki.bm25") == .bm25(index: "/data/wiki.bm25"))
        #expect(try EngineSpec(parsing: "retriever+http://127.0.0.1:8000") == .retriever(URL(string: "http://127.0.0.1:8000")!))
        #expect(try EngineSpec(parsing: "google") == .google)
        #expect(try EngineSpec(parsing: "sim+http://h:1").description == "sim+http://h:1")
    }

    @Test func rejectsWhatItCannotUse() {
        for bad in ["", "bing", "sim:", "bm25:", "sim+", "sim+ftp://h", "retriever+http://a,http://b", "sim+notaurl"] {
            #expect(throws: EngineSpecError.self, "\(bad)") { try EngineSpec(parsing: bad) }
        }
    }
}
