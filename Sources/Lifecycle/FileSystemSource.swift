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
    private struct Observation {
        var fingerprint: DirectoryFingerprint
        var firstSeenNanos: UInt64
        /// The loader's verdict for `fingerprint`, once asked: nil when complete, else what is missing.
        var missing: String??
    }

    private let loader: any ServableLoader
    private let rules: CandidateRules
    private var observations: [String: Observation] = [:]
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
    func endRound(scanned: Set<String>) {
        observations = observations.filter { scanned.contains($0.key) }
    }

    /// The aspired versions of `configuration`, newest first; nil when its base path is missing or
    /// not a directory. `scanned` collects every version directory looked at.
    func scan(_ configuration: ModelConfiguration, scanned: inout Set<String>) -> [VersionCandidate]? {
        let present: [Int64: String]
        do {
            present = try VersionDirectoryScanner.versions(in: configuration.basePath)
        } catch {
            watchedDirectories.insert(Self.nearestExistingAncestor(of: configuration.basePath))
            return nil
        }
        watchedDirectories.insert(configuration.basePath)
        var candidates: [VersionCandidate] = []
        for version in configuration.versionPolicy.aspired(from: Array(present.keys)) {
            guard let directory = present[version], let fingerprint = DirectoryFingerprint(directory: directory) else { continue }
            scanned.insert(directory)
            for relative in fingerprint.directories {
                watchedDirectories.insert(relative.isEmpty ? directory : directory + "/" + relative)
            }
            candidates.append(VersionCandidate(
                version: version, directory: directory, fingerprint: fingerprint,
                waitingFor: waitingReason(directory: directory, fingerprint: fingerprint)))
        }
        return candidates
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
