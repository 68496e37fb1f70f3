#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for a change under a set of directories (inotify on Linux: entries created, moved in or
/// out, written and closed, deleted, attributes changed; the directory itself deleted or moved), for
/// a deadline, or for `wake()`. Where inotify is unavailable, or a watch cannot be added, waiting falls
/// back to the deadline alone, so the caller's polling stays the safety net.
final class FileSystemWatcher: @unchecked Sendable {
    private let notifier: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// Path → watch descriptor; touched only by the thread that calls `watch` and `wait`.
    private var watches: [String: Int32] = [:]

    init() {
        #if os(Linux)
        notifier = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        #else
        notifier = -1
        #endif
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        wakeRead = ends[0]
        wakeWrite = ends[1]
    }

    deinit {
        if notifier >= 0 { close(notifier) }
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }

    /// Whether changes are reported as they happen (inotify is available).
    var isEventDriven: Bool { notifier >= 0 }

    /// Watches exactly `directories` from now on: new ones are added, ones no longer listed removed.
    func watch(_ directories: Set<String>) {
        #if os(Linux)
        guard notifier >= 0 else { return }
        for (path, descriptor) in watches where !directories.contains(path) {
            inotify_rm_watch(notifier, descriptor)
            watches.removeValue(forKey: path)
        }
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF
            | IN_MOVE_SELF | IN_ATTRIB | IN_MODIFY)
        // Adding a watch again is cheap and returns the same descriptor; a directory deleted and made
        // again needs the new watch, so every listed directory is added on every call.
        for path in directories {
            let descriptor = inotify_add_watch(notifier, path, mask)
            if descriptor >= 0 { watches[path] = descriptor }
        }
        #endif
    }

    /// Ends a `wait` under way, or the next one, at once. Safe from any thread.
    func wake() {
        guard wakeWrite >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Blocks until a watched directory changes, `wake()` is called, or `timeoutNanos` pass (nil: no
    /// timeout). Returns true when it was woken by a change or `wake()`.
    @discardableResult
    func wait(timeoutNanos: UInt64?) -> Bool {
        var descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        if notifier >= 0 { descriptors.append(pollfd(fd: notifier, events: Int16(POLLIN), revents: 0)) }
        let timeout = timeoutNanos.map { Int32(clamping: ($0 + 999_999) / 1_000_000) } ?? -1
        let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
        guard ready > 0 else { return false }
        drain(wakeRead)
        if notifier >= 0 { drain(notifier) }
        return true
    }

    private func drain(_ descriptor: Int32) {
        guard descriptor >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
    }
}
