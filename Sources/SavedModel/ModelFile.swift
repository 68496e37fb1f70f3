#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// A file of a model version opened for reading with `pread`, never mapped: a file truncated or
/// rewritten while a version loads makes that load fail with a clear error instead of a SIGBUS.
///
/// Opening never blocks (a FIFO where a model file should be is refused, not waited on), and only
/// regular files are accepted; symlinks are followed, and a symlink loop is reported as such.
final class ModelFile: @unchecked Sendable {
    let path: String
    /// The size when the file was opened.
    let size: Int
    private let descriptor: Int32

    /// Opens `path`; a missing file is `.notFound`, anything else that cannot be read `.dataLoss`.
    init(path: String) throws(ServingError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw .notFound("\(path) does not exist") }
            if code == ELOOP { throw .dataLoss("cannot open \(path): too many levels of symbolic links") }
            throw .dataLoss("cannot open \(path): \(Self.describe(code))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = Self.describe(errno)
            close(descriptor)
            throw .dataLoss("cannot stat \(path): \(reason)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw .dataLoss("\(path) is not a regular file (it is \(Self.kind(of: info.st_mode)))")
        }
        self.descriptor = descriptor
        self.size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// The whole file, refused when it is larger than `limit` bytes.
    func readAll(limit: Int) throws(ServingError) -> [UInt8] {
        guard size <= limit else {
            throw .resourceExhausted("\(path) is \(size) bytes, over the limit of \(limit) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let failure = bytes.withUnsafeMutableBytes { buffer -> ServingError? in
            do throws(ServingError) {
                try read(into: buffer, at: 0)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Fills `buffer` from `offset`; a file that ends before the buffer is full is `.dataLoss`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(ServingError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let count = pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            if count > 0 {
                done += count
            } else if count == 0 {
                throw .dataLoss(
                    "\(path) is truncated: needed bytes \(offset)..<\(offset + buffer.count), the file ends at \(offset + done)")
            } else if errno != EINTR {
                throw .dataLoss("cannot read \(path) at offset \(offset + done): \(Self.describe(errno))")
            }
        }
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    private static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
