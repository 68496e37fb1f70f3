import ArgumentParser
import Foundation

/// Commands whose work is asynchronous; `main` runs them after parsing.
protocol AsyncRunnableCommand {
    mutating func runAsync() async throws
}

extension ServeCommand: AsyncRunnableCommand {
    mutating func runAsync() async throws { try await run() }
}

let (arguments, ignoredFlags) = ServerFlags.normalize(Array(CommandLine.arguments.dropFirst()))
if let refusal = CompatibilityFlags.refusal(arguments) {
    FileHandle.standardError.write(Data("model-server: \(refusal)\n".utf8))
    exit(64)
}
for flag in ignoredFlags {
    FileHandle.standardError.write(Data("model-server: ignoring \(flag): a TensorFlow Serving flag with no effect here\n".utf8))
}
do {
    var command = try ModelServerCommand.parseAsRoot(arguments)
    if var asyncCommand = command as? any AsyncRunnableCommand {
        try await asyncCommand.runAsync()
    } else {
        try command.run()
    }
} catch {
    ModelServerCommand.exit(withError: error)
}
