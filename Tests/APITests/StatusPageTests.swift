@testable import API
import NIOCore
import ServingMetrics
import Testing
import Tensors

@Suite struct StatusPageTests {
    static let hostile = "</script><script>alert(1)</script>"

    func report() -> ServerStatusReport {
        let statistics = LiveRequestStatistics()
        statistics.record(.ok, nanoseconds: 40_000)
        statistics.record(.ok, nanoseconds: 2_000_000_000_000)
        statistics.record(.invalidArgument, nanoseconds: 1)
        return ServerStatusReport(models: [ServerStatusReport.Model(
            name: Self.hostile, basePath: "/models/x", labels: ["stable": 3],
            versions: [ServerStatusReport.Version(
                status: ModelVersionStatus(version: 3, state: .end, error: .dataLoss("bad <b>file</b>")))],
            queues: [ServerStatusReport.Queue(signature: "serving_default", version: 3, queuedRequests: 1, running: 0,
                                              executions: 4, executedRequests: 6, executedRows: 9)],
            requests: statistics.snapshot)])
    }

    @Test func theJSONCarriesEveryFigure() throws {
        let buffer = StatusJSON.encode(report(), nowUnixMillis: 1234)
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        #expect(text.contains(#""time_unix_ms":1234"#))
        #expect(text.contains(#""labels":{"stable":"3"}"#))
        #expect(text.contains(#""state":"END","error_code":"DATA_LOSS","message":"bad <b>file</b>""#))
        #expect(text.contains(#""ok":2,"errors":1"#))
        #expect(text.contains(#""queued":1,"running":0,"executions":4,"executed_requests":6,"executed_rows":9"#))
        let counts = LiveRequestStatistics.bucketUpperBoundsNanos.count + 1
        let expected = (0..<counts).map { $0 == 4 ? "1" : $0 == counts - 1 ? "1" : "0" }.joined(separator: ",")
        #expect(text.contains(#""latency_counts":["# + expected + "]"))
    }

    @Test func theLatencyBucketsCoverTenMicrosecondsToMinutes() {
        let bounds = LiveRequestStatistics.bucketUpperBoundsNanos
        #expect(bounds.first == 10_000)
        #expect(bounds[3] == 33_750)
        #expect(bounds[4] == 50_625, "40 µs falls in the bucket up to 50.6 µs")
        #expect(bounds.last.map { $0 > 60_000_000_000 } == true)
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func nameAndMessagesCannotCloseTheScriptTheyAreEmbeddedIn() {
        let json = Array(StatusJSON.encode(report(), nowUnixMillis: 0).readableBytesView)
        let page = String(decoding: StatusPage.render(statusJSON: json), as: UTF8.self)
        #expect(!page.contains(Self.hostile))
        #expect(!page.contains("<b>file"))
        #expect(page.contains(#"\u003c/script>\u003cscript>alert(1)\u003c/script>"#))
        #expect(page.components(separatedBy: "</script>").count == 3, "exactly the page's own two script elements")
    }
}
