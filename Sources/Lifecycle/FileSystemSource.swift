#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// Watches models' base paths and says, per model, which version directories are aspired (the
/// version policy applied to those present) and whether each can be loaded yet: complete as the
/// loader judges it, holding the ready marker when one is required, and unchanged for the settle window.
///
/// Used from one thread (the manager's reconcile thread).
final class FileSystemSource {
    /// What one look at a model's base path found.
    enum Scan {
        /// The base path is missing or not a directory: what serves keeps serving.
        case basePathMissing
        /// The base path holds no version directory, not yet for long: a recursive delete empties the
        /// base path before removing it, so what serves keeps serving until the emptiness lasts.
        case emptyForNow
        /// The aspired versions, newest first (empty when the base path has stayed empty).
        case candidates([VersionCandidate])

        var isBasePathMissing: Bool {
            if case .basePathMissing = self { return true }
            return false
        }
    }

    /// How long a base path must stay empty before its versions count as deleted, when the settle
    /// window is shorter.
    static let minimumEmptyGrace: UInt64 = 250_000_000

    private struct Observation {
        var fingerprint: DirectoryFingerprint
        var firstSeenNanos: UInt64
        /// The loader's verdict for `fingerprint`, once asked: nil when complete, else what is missing.
        var missing: String??
    }

    private let loader: any ServableLoader
    private let rules: CandidateRules
    private var observations: [String: Observation] = [:]
    /// Base paths found empty, with the monotonic time they were first seen so.
    private var emptySince: [String: UInt64] = [:]
    /// Earliest monotonic time a waiting candidate's settle window ends, from the last `scan` calls.
    private(set) var nextSettleNanos: UInt64?
    /// The directories worth watching for changes, from the last `scan` calls.
    private(set) var watchedDirectories: Set<String> = []

    init(loader: any ServableLoader, rules: CandidateRules) {
        self.loader = loader
        self.rules = rules
    }

    /// Starts a round of `scan` calls: deadlines and watched directories are gathered afresh.
    func beginRound() {
        nextSettleNanos = nil
        watchedDirectories = []
    }

    /// Forgets directories not scanned since `beginRound` (models removed, versions deleted).
    func endRound(scanned: Set<String>, basePaths: Set<String>) {
        observations = observations.filter { scanned.contains($0.key) }
        emptySince = emptySince.filter { basePaths.contains($0.key) }
    }

    /// What `configuration`'s base path holds now. `scanned` collects every version directory looked at.
    func scan(_ configuration: ModelConfiguration, scanned: inout Set<String>) -> Scan {
        let basePath = configuration.basePath
        var present: [Int64: String]
        do {
            present = try VersionDirectoryScanner.versions(in: basePath)
        } catch {
            emptySince[basePath] = nil
            watchedDirectories.insert(Self.nearestExistingAncestor(of: basePath))
            return .basePathMissing
        }
        watchedDirectories.insert(basePath)
        // A version directory deleted between the listing and its fingerprint is absent, as if not listed.
        var aspired: [(version: Int64, directory: String, fingerprint: DirectoryFingerprint)] = []
        listing: while true {
            aspired = []
            for version in configuration.versionPolicy.aspired(from: Array(present.keys)) {
                guard let directory = present[version] else { continue }
                guard let fingerprint = DirectoryFingerprint(directory: directory) else {
                    present[version] = nil
                    continue listing
                }
                aspired.append((version, directory, fingerprint))
            }
            break
        }
        if present.isEmpty {
            let now = DispatchTime.now().uptimeNanoseconds
            let since = emptySince[basePath] ?? now
            emptySince[basePath] = since
            let grace = max(rules.settle.nanoseconds, Self.minimumEmptyGrace)
            if now - since < grace {
                nextSettleNanos = min(nextSettleNanos ?? .max, since + grace)
                return .emptyForNow
            }
            return .candidates([])
        }
        emptySince[basePath] = nil
        var candidates: [VersionCandidate] = []
        for (version, directory, fingerprint) in aspired {
            scanned.insert(directory)
            for relative in fingerprint.directories {
                watchedDirectories.insert(relative.isEmpty ? directory : directory + "/" + relative)
            }
            candidates.append(VersionCandidate(
                version: version, directory: directory, fingerprint: fingerprint,
                waitingFor: waitingReason(directory: directory, fingerprint: fingerprint)))
        }
        return .candidates(candidates)
    }

    private func waitingReason(directory: String, fingerprint: DirectoryFingerprint) -> String? {
        let now = DispatchTime.now().uptimeNanoseconds
        var observation = observations[directory] ?? Observation(fingerprint: fingerprint, firstSeenNanos: now)
        if observation.fingerprint != fingerprint {
            observation = Observation(fingerprint: fingerprint, firstSeenNanos: now)
        }
        defer { observations[directory] = observation }

        let settle = rules.settle.nanoseconds
        if settle > 0 {
            // Settled when our own observation saw no change for the window, or when the newest change
            // time on disk is older than the window (so versions already in place at startup load at once).
            let unchangedFor = now - observation.firstSeenNanos
            let sinceNewestChange = Self.wallClockNanos() - fingerprint.newestChangeNanos
            if unchangedFor < settle && (sinceNewestChange < 0 || UInt64(sinceNewestChange) < settle) {
                let remaining = settle - max(unchangedFor, UInt64(max(0, sinceNewestChange)))
                nextSettleNanos = min(nextSettleNanos ?? .max, now + remaining)
                return "waiting for its files to stay unchanged for \(settle / 1_000_000) ms (--version_settle_millis)"
            }
        }
        if let marker = rules.readyMarker, access(directory + "/" + marker, F_OK) != 0 {
            return "waiting for the ready marker file \(marker) (--version_ready_marker)"
        }
        if let verdict = observation.missing { return verdict }
        let verdict = loader.missingPart(of: directory)
        observation.missing = .some(verdict)
        return verdict
    }

    private static func wallClockNanos() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// The closest existing directory above `path`, watched so a missing base path is seen when it appears.
    static func nearestExistingAncestor(of path: String) -> String {
        var current = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        while !current.isEmpty, current != "/" {
            if FileManager.default.fileExists(atPath: current, isDirectory: &isDirectory), isDirectory.boolValue { return current }
            current = (current as NSString).deletingLastPathComponent
        }
        return "/"
    }
}
