import Search
import Synchronization
import Testing

@Suite struct ConcurrencyTests {
    @Test func concurrentMapKeepsOrderAndRespectsTheLimit() async {
        let inFlight = Mutex((now: 0, peak: 0))
        let results = await concurrentMap(Array(0..<40), limit: 3) { value in
            inFlight.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
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
