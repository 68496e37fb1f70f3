import Foundation
import Testing

/// `model-server inspect` tells, per signature, which ops the runtime cannot execute.
@Suite struct InspectEndToEndTests {
    private func inspect(_ directory: String) throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        process.arguments = ["inspect", directory]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    @Test func supportedModelListsNoOps() throws {
        let digits = ServerProcess.packageRoot.appendingPathComponent("examples/models/digits/1").path
        let result = try inspect(digits)
        #expect(result.status == 0)
        #expect(result.output.contains("ops each signature needs that this runtime cannot execute:\n  serve: none\n  serving_default: none\n"),
                "\(result.output)")
    }

    @Test func opWithoutKernelIsListedForEverySignatureThatReachesIt() throws {
        // The fixture with its Relu ops renamed to an op no runtime has (same length, so the protobuf stays valid).
        let source = ServerProcess.packageRoot.appendingPathComponent("Tests/Fixtures/models/mlp_keras3/1")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let graphFile = copy.appendingPathComponent("saved_model.pb")
        let original = try Data(contentsOf: graphFile)
        let renamed = Data(original).replacing(Data("Relu".utf8), with: Data("Relx".utf8))
        #expect(renamed != original)
        try renamed.write(to: graphFile)

        let result = try inspect(copy.path)
        #expect(result.status == 2)
        #expect(result.output.contains("  serve: Relx\n  serving_default: Relx\n"), "\(result.output)")
        #expect(result.output.contains("node 'sequential_1/dense_1/Relx'"), "\(result.output)")
    }
}
