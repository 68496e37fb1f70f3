import Foundation
import Logging
import NIOCore
import Synchronization
import Transport

/// Re-reads `--ssl_config_file` and, when its text changed and still makes valid settings, gives
/// them to the server for new connections (a renewed certificate needs no restart); a file that
/// does not parse is logged and the current certificate stays.
final class TLSConfigReloader: Sendable {
    private let path: String
    private let handshakeTimeout: TimeAmount
    private let server: HTTPServer
    private let logger: Logger
    private let lastText: Mutex<Data?>

    init(path: String, handshakeTimeout: TimeAmount, server: HTTPServer, logger: Logger) {
        self.path = path
        self.handshakeTimeout = handshakeTimeout
        self.server = server
        self.logger = logger
        lastText = Mutex(FileManager.default.contents(atPath: path))
    }

    /// Applies the file when its text differs from the last one applied.
    func reloadIfChanged() {
        guard let text = FileManager.default.contents(atPath: path) else {
            logger.error("Keeping the current TLS certificate: could not read SSL config file \(path)")
            return
        }
        guard lastText.withLock({ $0 != text }) else { return }
        do {
            var settings = try ConfigFiles.tlsSettings(path: path)
            settings.handshakeTimeout = handshakeTimeout
            server.replaceTLS(settings)
            lastText.withLock { $0 = text }
            logger.info("New TLS connections use the certificate now in \(path)")
        } catch {
            logger.error("Keeping the current TLS certificate: \(error)")
        }
    }

    /// Calls `reloadIfChanged` every `interval` until the task is cancelled.
    func poll(every interval: Duration) -> Task<Void, Never> {
        Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                reloadIfChanged()
            }
        }
    }
}
