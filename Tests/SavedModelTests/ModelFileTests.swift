import Foundation
@testable import SavedModel
import Testing
import Tensors

/// Model files are read, never mapped: whatever sits where a model file should be, or happens to it
/// while a version loads, ends in an error naming the file.
@Suite struct ModelFileTests {
    @Test func shardTruncatedAfterOpeningFailsTheReadInsteadOfFaulting() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prefix = try CheckpointReaderTests.writeSample(in: directory)
        let reader = try CheckpointReader(prefix: prefix)
        for name in ["variables.data-00000-of-00002", "variables.data-00001-of-00002"] {
            #expect(truncate(directory.file(name), 3) == 0)
        }
        var failures: [ServingError] = []
        for key in reader.keys {
            do {
                _ = try reader.tensor(forKey: key)
            } catch {
                failures.append(error)
            }
        }
        #expect(!failures.isEmpty)
        for error in failures {
            #expect(error.code == .dataLoss)
            #expect(error.message.contains("variables.data-0000"))
            #expect(error.message.contains("truncated"))
        }
    }

    @Test func shardRewrittenInPlaceAfterOpeningIsCaughtByTheChecksum() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prefix = try CheckpointReaderTests.writeSample(in: directory)
        let reader = try CheckpointReader(prefix: prefix)
        let name = "variables.data-00000-of-00002"
        var bytes = try directory.read(name)
        for index in bytes.indices { bytes[index] = ~bytes[index] }
        let handle = try #require(FileHandle(forWritingAtPath: directory.file(name)))
        handle.write(Data(bytes))
        try handle.close()
        var errors: [ServingError] = []
        for key in reader.keys {
            do {
                _ = try reader.tensor(forKey: key)
            } catch {
                errors.append(error)
            }
        }
        #expect(errors.contains { $0.code == .dataLoss && $0.message.contains("checksum mismatch") })
    }

    @Test func fifoInPlaceOfSavedModelIsRefusedWithoutBlocking() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(mkfifo(directory.file("saved_model.pb"), 0o600) == 0)
        let error = try #require(throws: ServingError.self) { _ = try SavedModelBundle.load(directory: directory.path) }
        #expect(error.code == .dataLoss)
        #expect(error.message.contains("saved_model.pb is not a regular file (it is a FIFO)"))
    }

    @Test func fifoInPlaceOfAShardIsRefusedWithoutBlocking() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prefix = try CheckpointReaderTests.writeSample(in: directory)
        let shard = directory.file("variables.data-00001-of-00002")
        directory.delete("variables.data-00001-of-00002")
        #expect(mkfifo(shard, 0o600) == 0)
        let error = try #require(throws: ServingError.self) { _ = try CheckpointReader(prefix: prefix) }
        #expect(error.code == .dataLoss)
        #expect(error.message.contains("data shard 1 of 2"))
        #expect(error.message.contains("FIFO"))
    }

    @Test func symlinkLoopAndDirectoryAreNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createSymbolicLink(atPath: directory.file("a"), withDestinationPath: directory.file("b"))
        try FileManager.default.createSymbolicLink(atPath: directory.file("b"), withDestinationPath: directory.file("a"))
        let loop = try #require(throws: ServingError.self) { _ = try ModelFile(path: directory.file("a")) }
        #expect(loop.message.contains("too many levels of symbolic links"))
        let folder = try #require(throws: ServingError.self) { _ = try ModelFile(path: directory.path) }
        #expect(folder.message.contains("is not a regular file (it is a directory)"))
    }

    @Test func fileOverTheLimitIsRefusedBeforeReading() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("big", [UInt8](repeating: 7, count: 100))
        let error = try #require(throws: ServingError.self) { _ = try ModelFile(path: directory.file("big")).readAll(limit: 99) }
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("100 bytes, over the limit of 99 bytes"))
        #expect(try ModelFile(path: directory.file("big")).readAll(limit: 100) == [UInt8](repeating: 7, count: 100))
    }
}
