#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SavedModelBundle {
    /// What a version directory still lacks before it can load: `saved_model.pb`, the checkpoint index a
    /// graph with a saver needs, or a data shard missing or shorter than the index says; nil when every
    /// file is in place. A file that is present but does not parse is not "missing": the load reports it.
    public static func missingFile(directory: String) -> String? {
        let graphPath = directory + "/saved_model.pb"
        guard access(graphPath, F_OK) == 0 else {
            return access(directory + "/saved_model.pbtxt", F_OK) == 0 ? nil : "waiting for saved_model.pb"
        }
        let indexPath = directory + "/variables/variables.index"
        guard access(indexPath, F_OK) == 0 else {
            guard let metaGraphs = try? readSavedModel(directory: directory) else { return nil }
            let restores = metaGraphs.contains { !$0.metaGraph.saverDef.restoreOpName.isEmpty }
            return restores ? "waiting for variables/variables.index" : nil
        }
        guard let shards = try? CheckpointReader.incompleteShards(prefix: directory + "/variables/variables"),
              let first = shards.first
        else { return nil }
        let more = shards.count > 1 ? " and \(shards.count - 1) more data shard(s)" : ""
        guard let present = first.present else { return "waiting for variables/\(first.name)\(more)" }
        return "waiting for variables/\(first.name) (\(present) of the \(first.needed) bytes the index needs)\(more)"
    }
}
