import Foundation
import Testing

/// Runs every case of `Tests/Fixtures/coverage` (standard Keras layers, activations and ops, tf.Module
/// and TF1 idioms, exported by `scripts/make_coverage_models.py`) and keeps `Tests/Fixtures/COVERAGE.md`
/// true: what it says passes matches TensorFlow, and what it says is unsupported or failing still is.
/// `COVERAGE_WRITE=1` rewrites the file from this run instead of comparing.
@Suite struct CoverageTests {
    static let reportPath = Fixtures.repositoryRoot + "/Tests/Fixtures/COVERAGE.md"

    @Test func everyCaseHasTheResultCoverageMdRecords() throws {
        let report = try CoverageReport.run(directory: Fixtures.coverageDirectory)
        #expect(report.rows.count >= 250, "the generator enumerates every keras.layers class twice, besides ops and idioms")
        if ProcessInfo.processInfo.environment["COVERAGE_WRITE"] == "1" {
            try report.markdown.write(toFile: Self.reportPath, atomically: true, encoding: .utf8)
            return
        }
        let committed = CoverageReport.committedWords(try String(contentsOfFile: Self.reportPath, encoding: .utf8))
        let current = report.words
        for row in report.rows {
            let key = "\(row.name) \(row.signature)"
            if committed[key] == "pass" {
                #expect(row.resultWord == "pass", "\(key) passed before and now gives: \(row.resultText)")
            } else {
                #expect(committed[key] == row.resultWord,
                        "COVERAGE.md records \(committed[key] ?? "nothing") for \(key), the runtime now gives \(row.resultText); rewrite it with COVERAGE_WRITE=1")
            }
        }
        let gone = Set(committed.keys).subtracting(current.keys)
        #expect(gone.isEmpty, "COVERAGE.md lists cases that are no longer generated: \(gone.sorted().prefix(10))")
        print("coverage: \(CoverageReport.families.map { "\($0) \(report.totals($0).pass)/\(report.totals($0).run) pass" }.joined(separator: ", "))")
    }
}
