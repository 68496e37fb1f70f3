import Foundation
import Lifecycle
import Tensors

/// `--model_base_path_root`: the directory every model base path must lie under, symlinks resolved,
/// whether it comes from a flag, a config file or a `HandleReloadConfigRequest`.
struct ModelBasePathRoot: Sendable {
    /// The root with every symlink resolved.
    let resolvedPath: String

    /// Resolves `path`, which must be an existing directory.
    init(path: String) throws(ConfigFiles.Failure) {
        guard let resolved = Self.resolve(path) else {
            throw ConfigFiles.Failure(description: "--model_base_path_root \(path) could not be resolved")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConfigFiles.Failure(description: "--model_base_path_root \(path) is not a directory")
        }
        resolvedPath = resolved
    }

    /// Whether `basePath`, with its symlinks followed, is the root or lies under it. A base path that
    /// does not exist yet is judged by its nearest existing ancestor.
    func contains(_ basePath: String) -> Bool {
        guard let resolved = Self.resolve(basePath) else { return false }
        return resolved == resolvedPath || resolved.hasPrefix(resolvedPath == "/" ? "/" : resolvedPath + "/")
    }

    /// Refuses the first configuration whose base path is outside the root. The message names the
    /// model and the flag, never where the path leads.
    func confine(_ configurations: [ModelConfiguration]) throws(ConfigFiles.Failure) {
        for configuration in configurations where !contains(configuration.basePath) {
            throw ConfigFiles.Failure(
                description: "the base_path of model \(configuration.name) is not under --model_base_path_root")
        }
    }

    /// Refuses a version directory that leads outside the root, or holds a symlink that does: a base path
    /// under the root may still hold `1 -> /elsewhere/1`, or a shard linked to a file outside. The
    /// message names the entry inside the version directory, never where it leads.
    func checkVersionDirectory(_ directory: String) throws(ServingError) {
        guard contains(directory) else {
            throw ServingError(.permissionDenied, "the version directory leads outside --model_base_path_root")
        }
        guard let entries = FileManager.default.enumerator(atPath: directory) else { return }
        while let relative = entries.nextObject() as? String {
            var info = stat()
            let path = directory + "/" + relative
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { continue }
            guard contains(path) else {
                throw ServingError(.permissionDenied, "\(relative) in the version directory leads outside --model_base_path_root")
            }
        }
    }

    /// `realpath` of the longest existing prefix of the standardized absolute `path`, with the rest
    /// appended; nil when a component cannot be resolved (a symlink loop, a dangling symlink, no
    /// permission).
    private static func resolve(_ path: String) -> String? {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var existing = absolute
        var rest: [String] = []
        while true {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                let base = String(cString: real)
                guard !rest.isEmpty else { return base }
                return (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            var info = stat()
            guard errno == ENOENT, existing != "/", lstat(existing, &info) != 0 else { return nil }
            let url = URL(fileURLWithPath: existing)
            rest.append(url.lastPathComponent)
            existing = url.deletingLastPathComponent().path
        }
    }
}
