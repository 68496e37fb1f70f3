#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a version directory holds, as `stat` sees it: every entry's relative path, type, size,
/// inode and modification and change times. Two equal fingerprints mean nothing under the
/// directory was written, replaced, renamed or removed in between.
public struct DirectoryFingerprint: Sendable, Hashable {
    struct Entry: Sendable, Hashable {
        var path: String
        var mode: UInt32
        var size: Int64
        var inode: UInt64
        var modified: Int64
        var changed: Int64
    }

    private(set) var entries: [Entry] = []
    /// The latest change time (`st_ctime`, which no program can set back) of any entry, in wall-clock nanoseconds.
    public private(set) var newestChangeNanos: Int64 = 0
    /// Total size of the regular files, in bytes.
    public private(set) var totalFileBytes: Int64 = 0

    /// Entries deeper than this are not looked at (a symlinked directory cycle stops here).
    static let maximumDepth = 16
    /// Directories with more entries than this are fingerprinted by their first entries only.
    static let maximumEntries = 100_000

    /// The fingerprint of `directory`, or nil when it is not a directory (any more).
    public init?(directory: String) {
        var info = stat()
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        record("", info)
        walk(directory, relative: "", depth: 0)
        entries.sort { $0.path < $1.path }
    }

    private mutating func record(_ path: String, _ info: stat) {
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        entries.append(Entry(path: path, mode: UInt32(info.st_mode), size: Int64(info.st_size),
                             inode: UInt64(info.st_ino), modified: modified, changed: changed))
        newestChangeNanos = max(newestChangeNanos, changed, modified)
        if (info.st_mode & S_IFMT) == S_IFREG { totalFileBytes += Int64(info.st_size) }
    }

    private mutating func walk(_ directory: String, relative: String, depth: Int) {
        guard depth < Self.maximumDepth, let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        while entries.count < Self.maximumEntries, let item = readdir(handle) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = directory + "/" + name
            let child = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else {
                // A dangling or looping symlink: recorded by its own metadata.
                if lstat(path, &info) == 0 { record(child, info) }
                continue
            }
            record(child, info)
            if (info.st_mode & S_IFMT) == S_IFDIR { walk(path, relative: child, depth: depth + 1) }
        }
    }

    /// The relative paths of the directories inside (the version directory itself is "").
    public var directories: [String] {
        entries.filter { ($0.mode & UInt32(S_IFMT)) == UInt32(S_IFDIR) }.map(\.path)
    }
}
