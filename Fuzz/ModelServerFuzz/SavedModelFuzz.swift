import Foundation
import Runtime
import SavedModel

/// Real SavedModel versions with one file replaced by the fuzzer's bytes, loaded and compiled as the
/// server loads a version: `SavedModelBundle.load`, then `CompiledModel.compile`, where whatever
/// graph the file describes reaches variable binding and the compiler.
///
/// The fixtures are copied once into a directory of this process. The first input byte is a
/// selector: modulo 3 it picks the file (`saved_model.pb`, `variables/variables.index`, the data
/// shard), divided by 3 the fixture; the rest of the input becomes that file's contents for the run,
/// and the original is written back afterwards.
enum SavedModelFuzz {
    static let files = ["saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"]
    static let fixtures = ["mlp_keras3", "mlp_tf1"]

    /// A copied version directory and the original contents of each of `files` in it. (Bytes, not
    /// `Data`: LeakSanitizer cannot follow the tagged pointers inside `Data`.)
    struct Version: Sendable {
        let directory: String
        let originals: [[UInt8]]
    }

    static let scratch = FileManager.default.temporaryDirectory
        .appendingPathComponent("model-server-fuzz-\(ProcessInfo.processInfo.processIdentifier)")

    static let versions: [Version] = {
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/models")
        do {
            return try fixtures.map { name in
                let copy = scratch.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: models.appendingPathComponent("\(name)/1"), to: copy)
                let originals = try files.map { [UInt8](try Data(contentsOf: copy.appendingPathComponent($0))) }
                return Version(directory: copy.path, originals: originals)
            }
        } catch {
            FileHandle.standardError.write(Data("cannot copy the SavedModel fixtures from \(models.path): \(error)\n".utf8))
            exit(2)
        }
    }()

    /// Copies the fixtures, and removes the copies when the process exits.
    static func prepare() {
        _ = versions
        atexit { try? FileManager.default.removeItem(at: SavedModelFuzz.scratch) }
    }

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let selector = bytes.first else { return }
        let file = Int(selector) % files.count
        let version = versions[Int(selector) / files.count % versions.count]
        let path = URL(fileURLWithPath: version.directory).appendingPathComponent(files[file])
        guard (try? Data(bytes.dropFirst()).write(to: path)) != nil else { return }
        defer {
            if (try? Data(version.originals[file]).write(to: path)) == nil {
                FileHandle.standardError.write(Data("cannot restore \(path.path)\n".utf8))
                exit(2)
            }
        }
        guard let bundle = try? SavedModelBundle.load(directory: version.directory) else { return }
        _ = try? CompiledModel.compile(bundle)
    }
}
