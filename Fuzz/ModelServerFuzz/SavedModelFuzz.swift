import Foundation
import Runtime
import SavedModel

/// Real SavedModel versions with one file changed by the fuzzer's bytes, loaded and compiled as the
/// server loads a version: `SavedModelBundle.load`, then `CompiledModel.compile`, where whatever
/// graph the file describes reaches variable binding and the compiler.
///
/// The fixtures are copied once into a directory of this process. The first input byte is a
/// selector: modulo 3 it picks the file (`saved_model.pb`, `variables/variables.index`, the data
/// shard), divided by 3 (modulo their count) the fixture. The next four bytes are two big-endian 16-bit
/// numbers: where the rest of the input is spliced into the original file (modulo its size plus
/// one) and how many original bytes it replaces from there (cut to what the file holds), so an
/// input stays small while it can change any part of the file, and 0, 0xFFFF replaces all of it.
/// The original is written back after the run.
enum SavedModelFuzz {
    static let files = ["saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"]
    /// Small fixtures (every file under 64 KiB, so the splice offset reaches all of it) whose graphs
    /// use different op families: dense layers (Keras 3, TF1), example parsing, hashing, float16,
    /// assertions, string lookup tables and a vocabulary asset.
    static let fixtures = [
        "mlp_keras3", "mlp_tf1", "parse_example_tf1", "hashing_keras3", "float16_tf_module", "assert_tf_module",
        "string_lookup_keras3", "vocabulary_file_tf_module",
    ]

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

    static let headerBytes = 5

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= headerBytes else { return }
        let selector = Int(bytes[0])
        let file = selector % files.count
        let version = versions[selector / files.count % versions.count]
        let original = version.originals[file]
        let offset = (Int(bytes[1]) << 8 | Int(bytes[2])) % (original.count + 1)
        let replaced = min(Int(bytes[3]) << 8 | Int(bytes[4]), original.count - offset)
        var contents = Data(capacity: original.count - replaced + bytes.count - headerBytes)
        contents.append(contentsOf: original[..<offset])
        contents.append(contentsOf: bytes[headerBytes...])
        contents.append(contentsOf: original[(offset + replaced)...])

        let path = URL(fileURLWithPath: version.directory).appendingPathComponent(files[file])
        guard (try? contents.write(to: path)) != nil else { return }
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
