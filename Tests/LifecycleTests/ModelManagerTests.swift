import Batching
import Foundation
import Synchronization
import Testing
import Tensors
@testable import Lifecycle

/// A servable whose single signature adds its version number to the input.
struct AddVersionServable: LoadedServable {
    let version: Int64
    var signatures: [String: SignatureSpec] {
        let spec = TensorSpec(tensorName: "x:0", dtype: .float32, shape: ShapeSpec([-1]))
        return ["serving_default": SignatureSpec(name: "serving_default", methodName: "tensorflow/serving/predict",
                                                 inputs: ["x": spec], outputs: ["y": spec])]
    }

    func run(signature: String, inputs: [String: Tensor]) throws(ServingError) -> [String: Tensor] {
        guard let x = inputs["x"] else { throw .invalidArgument("missing x") }
        return ["y": Tensor(x.scalars(as: Float.self).map { $0 + Float(version) }, shape: x.shape)]
    }
}

/// Loads `AddVersionServable`s; a version directory holding a file named `broken` fails to load.
final class FakeLoader: ServableLoader {
    let loads = Mutex<[Int64]>([])

    func load(model: String, version: Int64, directory: String) throws(ServingError) -> any LoadedServable {
        loads.withLock { $0.append(version) }
        if FileManager.default.fileExists(atPath: directory + "/broken") {
            throw .dataLoss("\(directory)/saved_model.pb is corrupt")
        }
        return AddVersionServable(version: version)
    }
}

/// A temporary model base path with helpers to add and remove version directories.
final class ModelDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "lifecycle-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func add(_ name: String, broken: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: "\(path)/\(name)", withIntermediateDirectories: true)
        if broken { _ = FileManager.default.createFile(atPath: "\(path)/\(name)/broken", contents: Data()) }
    }

    func remove(_ name: String) throws { try FileManager.default.removeItem(atPath: "\(path)/\(name)") }
}

func predictOne(_ manager: ModelManager, _ request: VersionRequest = .latest) throws -> Float {
    let version = try manager.servable(model: "m", version: request)
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<[String: Tensor], ServingError>?>(nil)
    try version.predict(signature: "serving_default", inputs: ["x": Tensor([Float(0)], shape: [1])]) { outcome in
        result.withLock { $0 = outcome }
        done.signal()
    }
    _ = done.wait(timeout: .now() + 10)
    let outputs = try #require(result.withLock { $0 }).get()
    return try #require(outputs["y"]).scalars(as: Float.self)[0]
}

@Suite struct ModelManagerTests {
    let scheduler = BatchScheduler(threadCount: 1)

    func manager(_ directory: ModelDirectory, policy: VersionPolicy = .latest(1), labels: [String: Int64] = [:],
                 loader: FakeLoader = FakeLoader()) -> ModelManager {
        ModelManager(
            configurations: [ModelConfiguration(name: "m", basePath: directory.path, versionPolicy: policy,
                                                versionLabels: labels)],
            loader: loader, scheduler: scheduler, options: LifecycleOptions(maxLoadRetries: 0))
    }

    @Test func servesTheLatestVersionAndIgnoresNonNumericDirectories() throws {
        let directory = try ModelDirectory()
        try directory.add("1")
        try directory.add("0003")
        try directory.add("tmp")
        let manager = manager(directory)
        manager.pollOnce()
        #expect(try predictOne(manager) == 3)
        #expect(try manager.status(model: "m") == [VersionStatus(version: 3, state: .available)])
        #expect(manager.isReady)
    }

    @Test func rollsOutAndRollsBackWithoutAGap() throws {
        let directory = try ModelDirectory()
        try directory.add("1")
        let manager = manager(directory)
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)

        try directory.add("2")
        manager.pollOnce()
        #expect(try predictOne(manager) == 2)
        #expect(try manager.status(model: "m").map(\.state) == [.available, .end])

        try directory.remove("2")
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)
        #expect(throws: ServingError.notFound("Servable not found for request: Specific(m, 2)")) {
            try manager.servable(model: "m", version: .specific(2))
        }
    }

    @Test func aBasePathEmptiedByARecursiveDeleteKeepsServing() throws {
        let parent = try ModelDirectory()
        try parent.add("model/1")
        let manager = ModelManager(
            configurations: [ModelConfiguration(name: "m", basePath: parent.path + "/model")],
            loader: FakeLoader(), scheduler: scheduler, options: LifecycleOptions())
        manager.pollOnce()
        try parent.remove("model/1")
        manager.pollOnce()
        #expect(try predictOne(manager) == 1, "an empty base path is not yet a deleted version")
        try parent.remove("model")
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)
    }

    @Test func aBasePathThatStaysEmptyUnloadsItsVersions() throws {
        let directory = try ModelDirectory()
        try directory.add("1")
        let manager = manager(directory)
        manager.pollOnce()
        try directory.remove("1")
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)
        usleep(useconds_t(FileSystemSource.minimumEmptyGrace / 1000 + 50_000))
        manager.pollOnce()
        #expect(throws: ServingError.self) { try manager.servable(model: "m", version: .latest) }
    }

    @Test func aBrokenNewVersionLeavesTheOldOneServing() throws {
        let directory = try ModelDirectory()
        try directory.add("1")
        let manager = manager(directory)
        manager.pollOnce()
        try directory.add("2", broken: true)
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)
        let statuses = try manager.status(model: "m")
        #expect(statuses.first?.version == 2)
        #expect(statuses.first?.state == .end)
        #expect(statuses.first?.error?.code == .dataLoss)
        #expect(statuses.last == VersionStatus(version: 1, state: .available))
    }

    @Test func aFailedVersionIsNotRetriedOnEveryPoll() throws {
        let directory = try ModelDirectory()
        try directory.add("1", broken: true)
        let loader = FakeLoader()
        let manager = manager(directory, loader: loader)
        manager.pollOnce()
        manager.pollOnce()
        #expect(loader.loads.withLock { $0 } == [1])
        #expect(!manager.isReady)
    }

    @Test func specificPolicyAndLabels() throws {
        let directory = try ModelDirectory()
        for name in ["1", "2", "3"] { try directory.add(name) }
        let manager = manager(directory, policy: .specific([1, 2]), labels: ["stable": 1, "canary": 2])
        manager.pollOnce()
        #expect(try predictOne(manager) == 2)
        #expect(try predictOne(manager, .specific(1)) == 1)
        #expect(try predictOne(manager, .label("stable")) == 1)
        #expect(try predictOne(manager, .label("canary")) == 2)
        #expect(throws: ServingError.invalidArgument("Unrecognized servable version label: beta")) {
            try manager.servable(model: "m", version: .label("beta"))
        }
        #expect(try manager.status(model: "m").map(\.version) == [2, 1])
    }

    @Test func allPolicyServesEveryVersion() throws {
        let directory = try ModelDirectory()
        for name in ["4", "7"] { try directory.add(name) }
        let manager = manager(directory, policy: .all)
        manager.pollOnce()
        #expect(try predictOne(manager, .specific(4)) == 4)
        #expect(try predictOne(manager, .specific(7)) == 7)
    }

    @Test func unknownModelsAndVersionsUseTFServingsWording() throws {
        let directory = try ModelDirectory()
        try directory.add("1")
        let manager = manager(directory)
        manager.pollOnce()
        #expect(throws: ServingError.notFound("Servable not found for request: Latest(other)")) {
            try manager.servable(model: "other", version: .latest)
        }
        #expect(throws: ServingError.notFound("Could not find any versions of model other")) {
            try manager.status(model: "other")
        }
        #expect(throws: ServingError.notFound("Could not find version 9 of model m")) {
            try manager.status(model: "m", version: 9)
        }
    }

    @Test func missingBasePathServesNothingAndDoesNotCrash() throws {
        let manager = ModelManager(
            configurations: [ModelConfiguration(name: "m", basePath: "/nonexistent/model/path")],
            loader: FakeLoader(), scheduler: scheduler)
        manager.pollOnce()
        #expect(!manager.isReady)
        #expect(throws: ServingError.self) { try manager.servable(model: "m", version: .latest) }
    }

    @Test func unknownSignatureNamesTheAvailableOnes() throws {
        let directory = try ModelDirectory()
        try directory.add("1")
        let manager = manager(directory)
        manager.pollOnce()
        let version = try manager.servable(model: "m", version: .latest)
        #expect(throws: ServingError.self) {
            try version.predict(signature: "nope", inputs: [:]) { _ in }
        }
        do {
            try version.predict(signature: "nope", inputs: [:]) { _ in }
        } catch {
            #expect(error.message.contains("serving_default"))
        }
    }

    @Test func pollingThreadPicksUpNewVersions() throws {
        let directory = try ModelDirectory()
        try directory.add("1")
        let manager = ModelManager(
            configurations: [ModelConfiguration(name: "m", basePath: directory.path)],
            loader: FakeLoader(), scheduler: scheduler, options: LifecycleOptions(pollInterval: .milliseconds(50)))
        manager.start()
        defer { manager.stop() }
        let deadline = Date().addingTimeInterval(10)
        while !manager.isReady, Date() < deadline { usleep(10_000) }
        #expect(try predictOne(manager) == 1)
        try directory.add("2")
        while (try? manager.servable(model: "m", version: .latest).version) != 2, Date() < deadline { usleep(10_000) }
        #expect(try predictOne(manager) == 2)
    }
}

@Suite struct ModelManagerReconfigureTests {
    let scheduler = BatchScheduler(threadCount: 1)

    @Test func reconfigureAddsAndRemovesModels() throws {
        let first = try ModelDirectory()
        try first.add("1")
        let second = try ModelDirectory()
        try second.add("5")
        let manager = ModelManager(
            configurations: [ModelConfiguration(name: "m", basePath: first.path)],
            loader: FakeLoader(), scheduler: scheduler)
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)

        let removed = manager.reconfigure([ModelConfiguration(name: "n", basePath: second.path)])
        #expect(removed == ["m"])
        manager.pollOnce()
        #expect(throws: ServingError.notFound("Servable not found for request: Latest(m)")) {
            try manager.servable(model: "m", version: .latest)
        }
        #expect(try manager.servable(model: "n", version: .latest).version == 5)
        #expect(manager.configurations.map(\.name) == ["n"])
    }

    /// Without periodic polling the poll thread still reconciles after a reconfigure, so added models load.
    @Test func reconfigureLoadsNewModelsWithoutPeriodicPolling() throws {
        let first = try ModelDirectory()
        try first.add("1")
        let second = try ModelDirectory()
        try second.add("4")
        let manager = ModelManager(
            configurations: [ModelConfiguration(name: "m", basePath: first.path)],
            loader: FakeLoader(), scheduler: scheduler)
        manager.start()
        defer { manager.stop() }
        manager.reconfigure([ModelConfiguration(name: "m", basePath: first.path), ModelConfiguration(name: "n", basePath: second.path)])
        let deadline = Date().addingTimeInterval(10)
        func served(_ model: String) -> Bool { (try? manager.servable(model: model, version: .latest)) != nil }
        while Date() < deadline, !served("n") || !served("m") { usleep(10_000) }
        #expect(try manager.servable(model: "n", version: .latest).version == 4)
        #expect(try manager.servable(model: "m", version: .latest).version == 1)
    }

    @Test func reconfigureChangesTheVersionPolicy() throws {
        let directory = try ModelDirectory()
        for name in ["1", "2"] { try directory.add(name) }
        let manager = ModelManager(
            configurations: [ModelConfiguration(name: "m", basePath: directory.path)],
            loader: FakeLoader(), scheduler: scheduler)
        manager.pollOnce()
        #expect(try predictOne(manager) == 2)
        manager.reconfigure([ModelConfiguration(name: "m", basePath: directory.path, versionPolicy: .specific([1]))])
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)
        #expect(throws: ServingError.self) { try manager.servable(model: "m", version: .specific(2)) }
    }
}
