import Batching
import Foundation
import Synchronization
import Testing
import Tensors
@testable import Lifecycle

/// A loaded version the loader can see end.
final class TrackedServable: LoadedServable {
    let base: AddVersionServable

    init(version: Int64) { base = AddVersionServable(version: version) }

    var signatures: [String: SignatureSpec] { base.signatures }

    func run(signature: String, inputs: [String: Tensor]) throws(ServingError) -> [String: Tensor] {
        try base.run(signature: signature, inputs: inputs)
    }
}

/// A loader that needs `saved_model.pb` and `variables/data` in a version directory (a stand-in for the
/// SavedModel check), fails on a file named `broken`, can hold loads until released, and counts
/// memory releases. `events` lists loads and releases in order, each release with the versions whose
/// servables still exist then.
final class RolloutLoader: ServableLoader {
    let loads = Mutex<[Int64]>([])
    let releases = Mutex(0)
    let events = Mutex<[String]>([])
    private let servables = Mutex<[(version: Int64, servable: Weak)]>([])

    struct Weak: @unchecked Sendable {
        weak var servable: TrackedServable?
    }
    let gate = Mutex<Set<Int64>>([])
    let held = DispatchSemaphore(value: 0)

    func missingPart(of directory: String) -> String? {
        for name in ["saved_model.pb", "variables/data"] where !FileManager.default.fileExists(atPath: directory + "/" + name) {
            return "waiting for \(name)"
        }
        return nil
    }

    func load(model: String, version: Int64, directory: String) throws(ServingError) -> any LoadedServable {
        loads.withLock { $0.append(version) }
        events.withLock { $0.append("load \(version)") }
        while gate.withLock({ $0.contains(version) }) { usleep(2_000) }
        if FileManager.default.fileExists(atPath: directory + "/broken") {
            throw .dataLoss("\(directory)/saved_model.pb is corrupt")
        }
        let servable = TrackedServable(version: version)
        servables.withLock { $0.append((version, Weak(servable: servable))) }
        return servable
    }

    func releaseUnusedMemory() {
        releases.withLock { $0 += 1 }
        let alive = servables.withLock { $0.filter { $0.servable.servable != nil }.map(\.version) }
        events.withLock { $0.append("release, alive: \(alive.sorted())") }
    }

    var loadCount: Int { loads.withLock { $0.count } }
}

extension ModelDirectory {
    /// Writes `relative` (creating directories) with `bytes` bytes.
    func write(_ relative: String, bytes: Int = 10) throws {
        let path = self.path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(repeating: 7, count: bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A complete version as `RolloutLoader` sees it.
    func addComplete(_ version: String, bytes: Int = 10) throws {
        try write(version + "/variables/data", bytes: bytes)
        try write(version + "/saved_model.pb", bytes: 1)
    }
}

/// Polls `condition` every 5 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

@Suite struct VersionLifecycleTests {
    let scheduler = BatchScheduler(threadCount: 1)

    func manager(_ directory: ModelDirectory, loader: RolloutLoader, labels: [String: Int64] = [:],
                 options: LifecycleOptions = LifecycleOptions(maxLoadRetries: 0)) -> ModelManager {
        ModelManager(configurations: [ModelConfiguration(name: "m", basePath: directory.path, versionLabels: labels)],
                     loader: loader, scheduler: scheduler, options: options)
    }

    @Test(arguments: [true, false])
    func aPartialCopyIsNotLoadedUntilComplete(variablesFirst: Bool) throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1")
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader)
        manager.pollOnce()
        try directory.write(variablesFirst ? "2/variables/data" : "2/saved_model.pb")
        manager.pollOnce()
        let waiting = try #require(try manager.status(model: "m", version: 2).first)
        #expect(waiting.state == .start)
        #expect(waiting.error == nil)
        #expect(waiting.detail == (variablesFirst ? "waiting for saved_model.pb" : "waiting for variables/data"))
        #expect(try predictOne(manager) == 1)
        #expect(loader.loads.withLock { $0 } == [1])

        try directory.write(variablesFirst ? "2/saved_model.pb" : "2/variables/data")
        manager.pollOnce()
        #expect(try predictOne(manager) == 2)
        #expect(loader.loads.withLock { $0 } == [1, 2])
    }

    @Test func aVersionWaitsForItsFilesToSettle() throws {
        let directory = try ModelDirectory()
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader,
                              options: LifecycleOptions(candidates: CandidateRules(settle: .milliseconds(400)), maxLoadRetries: 0))
        try directory.addComplete("1")
        manager.pollOnce()
        let waiting = try #require(try manager.status(model: "m").first)
        #expect(waiting.state == .start)
        #expect(waiting.detail?.contains("--version_settle_millis") == true)
        #expect(loader.loadCount == 0)
        usleep(450_000)
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)
    }

    @Test func theReadyMarkerGatesLoading() throws {
        let directory = try ModelDirectory()
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader,
                              options: LifecycleOptions(candidates: CandidateRules(readyMarker: "DONE"), maxLoadRetries: 0))
        try directory.addComplete("1")
        manager.pollOnce()
        #expect(try manager.status(model: "m").first?.detail == "waiting for the ready marker file DONE (--version_ready_marker)")
        try directory.write("1/DONE", bytes: 0)
        manager.pollOnce()
        #expect(try predictOne(manager) == 1)
    }

    @Test func aFailedVersionFixedInPlaceLoadsWithoutWaitingForTheRetryTimer() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1")
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader,
                              options: LifecycleOptions(maxLoadRetries: 3, loadRetryInterval: .seconds(3600)))
        manager.pollOnce()
        try directory.addComplete("2")
        try directory.write("2/broken", bytes: 0)
        manager.pollOnce()
        #expect(try manager.status(model: "m", version: 2).first?.error?.code == .dataLoss)
        manager.pollOnce()
        #expect(loader.loads.withLock { $0 } == [1, 2], "the retry timer has not run out")
        #expect(try predictOne(manager) == 1)

        try FileManager.default.removeItem(atPath: directory.path + "/2/broken")
        manager.pollOnce()
        #expect(loader.loads.withLock { $0 } == [1, 2, 2])
        #expect(try predictOne(manager) == 2)
    }

    @Test func retriesFollowTheTimerAndStopAfterTheLastOne() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1")
        try directory.write("1/broken", bytes: 0)
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader,
                              options: LifecycleOptions(maxLoadRetries: 2, loadRetryInterval: .milliseconds(30)))
        manager.start()
        defer { manager.stop() }
        #expect(eventually { loader.loadCount == 3 })
        usleep(200_000)
        #expect(loader.loadCount == 3)
        #expect(try manager.status(model: "m").first?.state == .end)
    }

    @Test func aServingVersionRewrittenInPlaceIsReloadedWhileTheOldCopyServes() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1")
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader)
        manager.pollOnce()
        let first = try manager.servable(model: "m", version: .latest)
        loader.gate.withLock { _ = $0.insert(1) }
        try directory.write("1/variables/data", bytes: 20)
        let poller = Thread { manager.pollOnce() }
        poller.start()
        #expect(eventually { loader.loadCount == 2 })
        #expect(try manager.servable(model: "m", version: .latest) === first)
        #expect(try predictOne(manager) == 1)
        loader.gate.withLock { $0.removeAll() }
        #expect(eventually { (try? manager.servable(model: "m", version: .latest)) !== first })
        #expect(try manager.status(model: "m") == [VersionStatus(version: 1, state: .available)])
    }

    @Test func aLabelOnAVersionStillLoadingAnswersUnavailable() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1")
        let loader = RolloutLoader()
        loader.gate.withLock { _ = $0.insert(1) }
        let manager = manager(directory, loader: loader, labels: ["canary": 1])
        manager.start()
        defer {
            loader.gate.withLock { $0.removeAll() }
            manager.stop()
        }
        #expect(eventually { loader.loadCount == 1 })
        #expect(throws: ServingError.unavailable(
            "Version 1 of model m, which label 'canary' points to, is not available yet (LOADING)")) {
            try manager.servable(model: "m", version: .label("canary"))
        }
        loader.gate.withLock { $0.removeAll() }
        #expect(eventually { (try? manager.servable(model: "m", version: .label("canary"))) != nil })
    }

    @Test func aSlowLoadDoesNotHoldUpAnotherModel() throws {
        let slow = try ModelDirectory(), quick = try ModelDirectory()
        try slow.addComplete("7")
        try quick.addComplete("1")
        let loader = RolloutLoader()
        loader.gate.withLock { _ = $0.insert(7) }
        let manager = ModelManager(
            configurations: [ModelConfiguration(name: "slow", basePath: slow.path), ModelConfiguration(name: "m", basePath: quick.path)],
            loader: loader, scheduler: scheduler)
        manager.start()
        defer {
            loader.gate.withLock { $0.removeAll() }
            manager.stop()
        }
        #expect(eventually { (try? predictOne(manager)) == 1 })
        #expect(try manager.status(model: "slow").first?.state == .loading)
        loader.gate.withLock { $0.removeAll() }
        #expect(eventually { manager.isReady })
    }

    @Test func theBudgetRefusesAVersionThatDoesNotFitAndTheOldOneServes() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1", bytes: 1000)
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader, options: LifecycleOptions(maxLoadRetries: 0, memoryBudgetBytes: 1500))
        manager.pollOnce()
        try directory.addComplete("2", bytes: 1000)
        manager.pollOnce()
        let refused = try #require(try manager.status(model: "m", version: 2).first)
        #expect(refused.state == .start)
        #expect(refused.detail?.contains("--memory_budget_bytes") == true)
        #expect(refused.detail?.contains("--memory_budget_overflow=unload_first") == true)
        #expect(try predictOne(manager) == 1)
        #expect(manager.loadedBytes == 1001)
    }

    @Test func theBudgetUnloadsTheReplacedVersionFirstWhenAsked() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1", bytes: 1000)
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader,
                              options: LifecycleOptions(maxLoadRetries: 0, memoryBudgetBytes: 1500, overBudget: .unloadFirst))
        manager.pollOnce()
        try directory.addComplete("2", bytes: 1000)
        manager.pollOnce()
        #expect(try predictOne(manager) == 2)
        #expect(throws: ServingError.self) { try manager.servable(model: "m", version: .specific(1)) }
        #expect(manager.loadedBytes == 1001)
        #expect(eventually { manager.pollOnce(); return loader.releases.withLock { $0 } > 0 })
    }

    /// Unload-first really frees the old version before the new one is read: the load waits for the
    /// requests still holding the old version, then hands its memory back, then loads.
    @Test func unloadFirstLoadsOnlyOnceTheReplacedVersionIsReleasedAndItsMemoryHandedBack() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1", bytes: 1000)
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader,
                              options: LifecycleOptions(maxLoadRetries: 0, memoryBudgetBytes: 1500, overBudget: .unloadFirst))
        manager.pollOnce()
        var request: ServableVersion? = try manager.servable(model: "m", version: .specific(1))
        try directory.addComplete("2", bytes: 1000)
        manager.start()
        defer { manager.stop() }
        #expect(eventually { (try? manager.status(model: "m", version: 2).first?.state) == .loading })
        let waiting = try #require(try manager.status(model: "m", version: 2).first)
        #expect(waiting.detail?.contains("waiting for the requests still using the versions it replaces") == true)
        #expect(throws: ServingError.self) { try manager.servable(model: "m", version: .specific(1)) }
        usleep(100_000)
        #expect(loader.loads.withLock { $0 } == [1])
        #expect(request?.version == 1)
        request = nil
        #expect(eventually { (try? predictOne(manager)) == 2 })
        #expect(try manager.status(model: "m", version: 2).first?.detail == nil)
        let events = loader.events.withLock { $0 }
        let secondLoad = try #require(events.firstIndex(of: "load 2"))
        let releases = events[..<secondLoad].filter { $0.hasPrefix("release") }
        #expect(!releases.isEmpty)
        #expect(releases.allSatisfy { $0 == "release, alive: []" })
    }

    @Test func aVersionIsSeenFromFileSystemEventsWithoutPolling() throws {
        let directory = try ModelDirectory()
        try directory.addComplete("1")
        let loader = RolloutLoader()
        let manager = manager(directory, loader: loader, options: LifecycleOptions(pollInterval: nil, maxLoadRetries: 0))
        manager.start()
        defer { manager.stop() }
        #expect(eventually { (try? predictOne(manager)) == 1 })
        try directory.write("2/variables/data")
        usleep(50_000)
        try directory.write("2/saved_model.pb")
        #expect(eventually { (try? predictOne(manager)) == 2 })
    }

    @Test func aDeletedBasePathKeepsServingAndIsPickedUpWhenItComesBack() throws {
        let parent = try ModelDirectory()
        let base = parent.path + "/model"
        try parent.addComplete("model/1")
        let loader = RolloutLoader()
        let manager = ModelManager(configurations: [ModelConfiguration(name: "m", basePath: base)],
                                   loader: loader, scheduler: scheduler, options: LifecycleOptions(pollInterval: nil))
        manager.start()
        defer { manager.stop() }
        #expect(eventually { (try? predictOne(manager)) == 1 })
        try FileManager.default.removeItem(atPath: base)
        usleep(100_000)
        #expect(try predictOne(manager) == 1)
        try parent.addComplete("staging/3")
        try FileManager.default.moveItem(atPath: parent.path + "/staging", toPath: base)
        #expect(eventually { (try? predictOne(manager)) == 3 })
    }

    @Test func aConfigReloadDuringALoadKeepsTheLoadAndAppliesTheNewLabels() throws {
        let directory = try ModelDirectory(), other = try ModelDirectory()
        try directory.addComplete("1")
        try other.addComplete("4")
        let loader = RolloutLoader()
        loader.gate.withLock { _ = $0.insert(1) }
        let manager = ModelManager(configurations: [ModelConfiguration(name: "m", basePath: directory.path)],
                                   loader: loader, scheduler: scheduler)
        manager.start()
        defer {
            loader.gate.withLock { $0.removeAll() }
            manager.stop()
        }
        #expect(eventually { loader.loadCount == 1 })
        manager.reconfigure([ModelConfiguration(name: "m", basePath: directory.path, versionLabels: ["stable": 1]),
                             ModelConfiguration(name: "gone", basePath: other.path)])
        #expect(eventually { (try? manager.servable(model: "gone", version: .latest)) != nil })
        manager.reconfigure([ModelConfiguration(name: "m", basePath: directory.path, versionLabels: ["stable": 1])])
        loader.gate.withLock { $0.removeAll() }
        #expect(eventually { (try? predictOne(manager, .label("stable"))) == 1 })
        #expect(loader.loads.withLock { $0 } == [1, 4], "the load under way was neither repeated nor dropped")
        #expect(throws: ServingError.self) { try manager.servable(model: "gone", version: .latest) }
    }
}
