import Foundation
@testable import Runtime
import SavedModel
import Tensors

/// What the runtime does with each case `scripts/make_coverage_models.py` enumerated, and the
/// COVERAGE.md table made from it.
struct CoverageReport {
    /// The runtime's result on one signature of one case.
    enum Verdict: Equatable {
        case pass(maxRelative: Double)
        case mismatch(maxAbsolute: Double, maxRelative: Double, outputs: [String])
        case unsupported(ops: [String])
        case fails(String)

        /// The first word of the result column, compared with the committed table.
        var word: String {
            switch self {
            case .pass: "pass"
            case .mismatch: "mismatch"
            case .unsupported: "unsupported"
            case .fails: "fails"
            }
        }

        var text: String {
            switch self {
            case .pass(let relative): relative == 0 ? "pass (exact)" : "pass (max rel \(Self.short(relative)))"
            case .mismatch(let absolute, let relative, let outputs):
                "mismatch (\(outputs.joined(separator: ", ")): max abs \(Self.short(absolute)), max rel \(Self.short(relative)))"
            case .unsupported(let ops): "unsupported: \(ops.joined(separator: ", "))"
            case .fails(let message): "fails: \(Self.cell(message))"
            }
        }

        static func short(_ value: Double) -> String {
            value.isFinite ? String(format: "%.1e", value) : "∞"
        }

        static func cell(_ text: String) -> String {
            String(text.prefix(200)).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
    }

    /// One table row: a signature of a case, or a case TensorFlow itself could not export.
    struct Row: Equatable {
        var family: String
        var name: String
        var signature: String
        /// nil when the case was not run (not applicable, or TensorFlow could not export it).
        var verdict: Verdict?
        var note: String

        var resultText: String { verdict?.text ?? note }
        var resultWord: String { CoverageReport.word(of: resultText) }
    }

    var rows: [Row] = []
    var versions: String = ""

    static let families = ["keras.layers", "keras.activations", "keras.ops", "tf.Module", "tf1"]

    /// Runs every case under `directory` (as listed by its index.json).
    static func run(directory: String) throws -> CoverageReport {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/index.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [String: [String: Any]]
        else { throw Fixtures.FixtureError(description: "index.json has no cases") }
        var report = CoverageReport()
        if let versions = root["versions"] as? [String: String] {
            report.versions = versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        for name in cases.keys.sorted() {
            guard let entry = cases[name] else { continue }
            let family = entry["family"] as? String ?? "?"
            if let reason = entry["not_applicable"] as? String {
                report.rows.append(Row(family: family, name: name, signature: "", note: "not applicable: \(reason)"))
                continue
            }
            if let reason = entry["not_exported"] as? String {
                report.rows.append(Row(family: family, name: name, signature: "",
                                       note: "not exported by TensorFlow: \(Verdict.cell(reason))"))
                continue
            }
            for (signature, verdict) in try verdicts(name, in: directory) {
                report.rows.append(Row(family: family, name: name, signature: signature, verdict: verdict, note: ""))
            }
            for (function, reason) in (entry["not_enumerated"] as? [String: String] ?? [:]).sorted(by: { $0.key < $1.key }) {
                report.rows.append(Row(family: family, name: name, signature: function,
                                       note: "not enumerated: \(Verdict.cell(reason))"))
            }
        }
        return report
    }

    /// Each signature of case `name`: compiled alone, run on the recorded inputs, compared with TensorFlow.
    static func verdicts(_ name: String, in directory: String) throws -> [(String, Verdict)] {
        let cases = try Fixtures.cases(name, in: directory)
        let signatures = Set(cases.map(\.signature)).sorted()
        let outcomes: [String: CompiledModel.SignatureOutcome]
        do {
            let bundle = try SavedModelBundle.load(directory: directory + "/\(name)/1")
            outcomes = Dictionary(try CompiledModel.compileEach(bundle).outcomes, uniquingKeysWith: { first, _ in first })
        } catch {
            return signatures.map { ($0, .fails(error.message)) }
        }
        return signatures.map { signature in
            switch outcomes[signature] {
            case .compiled(let compiled):
                (signature, run(compiled, cases.filter { $0.signature == signature }))
            case .missing(let ops): (signature, .unsupported(ops: ops.opNames))
            case .failed(let error): (signature, .fails(error.message))
            case nil: (signature, .fails("the SavedModel has no signature \(signature)"))
            }
        }
    }

    private static func run(_ signature: CompiledSignature, _ cases: [Fixtures.Case]) -> Verdict {
        var worstAbsolute = 0.0, worstRelative = 0.0
        var wrong: Set<String> = []
        for testCase in cases {
            let outputs: [String: Tensor]
            do {
                outputs = try signature.run(testCase.inputs)
            } catch {
                return .fails(error.message)
            }
            for (key, expected) in testCase.outputs {
                guard let actual = outputs[key] else { return .fails("no output \(key)") }
                guard actual.shape == expected.shape else {
                    return .fails("output \(key) has shape \(actual.shape), TensorFlow's has \(expected.shape)")
                }
                let (absolute, relative, ok) = Fixtures.compare(actual, expected)
                worstAbsolute = max(worstAbsolute, absolute)
                worstRelative = max(worstRelative, relative)
                if !ok { wrong.insert(key) }
            }
        }
        if !wrong.isEmpty { return .mismatch(maxAbsolute: worstAbsolute, maxRelative: worstRelative, outputs: wrong.sorted()) }
        return .pass(maxRelative: worstRelative)
    }

    /// Per family: rows run, passing, mismatching, unsupported, failing, and not run.
    func totals(_ family: String) -> (run: Int, pass: Int, mismatch: Int, unsupported: Int, fails: Int, notRun: Int) {
        let mine = rows.filter { $0.family == family }
        let words = mine.compactMap { $0.verdict?.word }
        return (words.count, words.filter { $0 == "pass" }.count, words.filter { $0 == "mismatch" }.count,
                words.filter { $0 == "unsupported" }.count, words.filter { $0 == "fails" }.count,
                mine.count - words.count)
    }

    /// Keras layer classes (a class's cases are its `model.export` and `tf.saved_model.save` exports):
    /// those with at least one export TensorFlow made, and those whose every such export passes.
    var layerClasses: (exported: Int, passing: Int) {
        var byClass: [String: [Row]] = [:]
        for row in rows where row.family == "keras.layers" {
            let name = row.name.replacingOccurrences(of: "_saved_model_save", with: "").replacingOccurrences(of: "_export", with: "")
            byClass[name, default: []].append(row)
        }
        let exported = byClass.values.filter { $0.contains { $0.verdict != nil } }
        let passing = exported.filter { $0.allSatisfy { $0.verdict == nil || $0.verdict?.word == "pass" } }
        return (exported.count, passing.count)
    }

    var markdown: String {
        var lines = [
            "# Model coverage",
            "",
            "Generated by the `CoverageTests` suite (`COVERAGE_WRITE=1 swift test --filter CoverageTests`) from the cases",
            "`scripts/make_coverage_models.py` exported to `Tests/Fixtures/coverage/` (\(versions)). Every signature is",
            "compiled on its own and run on the recorded inputs; **pass** means every output is within 1e-5 relative",
            "(1e-6 absolute) of TensorFlow's and exact for integers, booleans and strings. Rows without a result are",
            "cases TensorFlow itself could not export, wrappers of other frameworks, or `keras.ops` functions that do",
            "not take one or two float tensors.",
            "",
            "## Totals",
            "",
            "| family | signatures run | pass | mismatch | unsupported | fails | not run |",
            "|---|---|---|---|---|---|---|",
        ]
        for family in Self.families {
            let t = totals(family)
            lines.append("| \(family) | \(t.run) | \(t.pass) | \(t.mismatch) | \(t.unsupported) | \(t.fails) | \(t.notRun) |")
        }
        let classes = layerClasses
        let percent = classes.exported == 0 ? 0 : Double(classes.passing) * 100 / Double(classes.exported)
        lines.append("")
        lines.append("keras.layers classes with an export TensorFlow made: \(classes.exported); every export passes: "
                     + "\(classes.passing) (\(String(format: "%.1f", percent))%).")
        var unsupportedOps: [String: Int] = [:]
        for row in rows { if case .unsupported(let ops) = row.verdict { for op in ops { unsupportedOps[op, default: 0] += 1 } } }
        if !unsupportedOps.isEmpty {
            lines.append("")
            lines.append("Ops without a kernel, by the number of signatures that need them: "
                         + unsupportedOps.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ") + ".")
        }
        for family in Self.families {
            lines += ["", "## \(family)", "", "| case | signature | result |", "|---|---|---|"]
            for row in rows where row.family == family {
                lines.append("| \(row.name) | \(row.signature) | \(row.resultText) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func word(of result: String) -> String { String(result.prefix { $0 != " " && $0 != ":" }) }

    /// "case signature" → first word of the result, for every row of this report.
    var words: [String: String] {
        Dictionary(rows.map { ("\($0.name) \($0.signature)", $0.resultWord) }, uniquingKeysWith: { first, _ in first })
    }

    /// "case signature" → first word of the result, from the family sections of a COVERAGE.md.
    static func committedWords(_ markdown: String) -> [String: String] {
        var words: [String: String] = [:]
        var inFamilySection = false
        for line in markdown.split(separator: "\n") {
            if line.hasPrefix("## ") { inFamilySection = families.contains(String(line.dropFirst(3))) }
            guard inFamilySection, line.hasPrefix("| ") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, cells[1] != "case" else { continue }
            words[cells[1] + " " + cells[2]] = word(of: cells[3])
        }
        return words
    }
}
