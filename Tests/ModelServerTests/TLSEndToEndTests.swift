import Foundation
import Testing

/// A test CA, a server certificate for 127.0.0.1 and a client certificate, made with `openssl`.
private struct EndToEndPKI {
    let directory: URL

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func text(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path(name))), as: UTF8.self)
    }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=e2e test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
        try issue("server", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try issue("client", extensions: "extendedKeyUsage=clientAuth\n")
    }

    func issue(_ stem: String, extensions: String) throws {
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", path("\(stem).key"), "-out", path("\(stem).csr"), "-subj", "/CN=\(stem)"])
        try extensions.write(toFile: path("\(stem).ext"), atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", path("\(stem).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                     "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "2",
                     "-extfile", path("\(stem).ext"), "-out", path("\(stem).pem")])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EndToEndPKIError.openssl(arguments.joined(separator: " "))
        }
    }

    /// Writes an `SSLConfig` text proto with the given field values and returns its path.
    func sslConfig(_ fields: [(String, String)], clientVerify: Bool) throws -> String {
        func quoted(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        var text = fields.map { "\($0.0): \(quoted($0.1))" }.joined(separator: "\n")
        text += "\nclient_verify: \(clientVerify)\n"
        let file = path("ssl-\(UUID().uuidString).config")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

private enum EndToEndPKIError: Error { case openssl(String) }

private func curlTLS(_ arguments: [String]) throws -> (output: String, status: Int32) {
    try runTool("/usr/bin/curl", ["-s", "--max-time", "20"] + arguments)
}

/// Runs `executable` and returns its standard output and exit status (standard error is dropped).
private func runTool(_ executable: String, _ arguments: [String]) throws -> (output: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
}

@Suite(.serialized) struct TLSEndToEndTests {
    @Test func digitsPredictOverH2WithMutualTLS() throws {
        let pki = try EndToEndPKI()
        defer { pki.remove() }
        let config = try pki.sslConfig([
            ("server_key", try pki.text("server.key")),
            ("server_cert", try pki.text("server.pem")),
            ("custom_ca", try pki.text("ca.pem")),
        ], clientVerify: true)
        let modelConfig = ServerProcess.packageRoot.appendingPathComponent("config/models.config").path
        let request = ServerProcess.packageRoot.appendingPathComponent("examples/requests/digits.json").path
        let server = try ServerProcess(arguments: ["--model_config_file=\(modelConfig)", "--ssl_config_file=\(config)"])
        defer { _ = server.stop() }
        let base = "https://127.0.0.1:\(server.port)"
        let client = ["--cacert", pki.path("ca.pem"), "--cert", pki.path("client.pem"), "--key", pki.path("client.key")]

        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let status = try curlTLS(client + ["\(base)/v1/models/digits"])
            if status.output.contains("AVAILABLE") { break }
            usleep(100_000)
        }
        let predicted = try curlTLS(client + [
            "--http2", "-w", "\n%{http_code} %{http_version}", "-X", "POST",
            "-H", "content-type: application/json", "--data-binary", "@\(request)",
            "\(base)/v1/models/digits:predict",
        ])
        #expect(predicted.status == 0)
        #expect(predicted.output.hasSuffix("\n200 2"), "\(predicted.output)")
        let body = predicted.output.split(separator: "\n").first.map(String.init) ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let predictions = try #require(json?["predictions"] as? [[Double]])
        #expect(predictions.count == 2)
        #expect(predictions.first?.firstIndex(of: predictions[0].max() ?? 0) == 5)

        let anonymous = try curlTLS(["--cacert", pki.path("ca.pem"), "--http2", "\(base)/v1/models/digits"])
        #expect(anonymous.status != 0)
    }

    @Test func pathInsteadOfPEMStopsStartupNamingTheField() throws {
        let pki = try EndToEndPKI()
        defer { pki.remove() }
        let config = try pki.sslConfig([
            ("server_key", try pki.text("server.key")),
            ("server_cert", pki.path("server.pem")),
        ], clientVerify: false)
        let modelConfig = ServerProcess.packageRoot.appendingPathComponent("config/models.config").path
        do {
            let server = try ServerProcess(arguments: ["--model_config_file=\(modelConfig)", "--ssl_config_file=\(config)"])
            _ = server.stop()
            Issue.record("the server started with a path in server_cert")
        } catch ServerProcess.ServerError.didNotStart(let output) {
            #expect(output.contains("server_cert"), "\(output)")
            #expect(output.contains("file path"), "\(output)")
        }
    }

    @Test func keyOfAnotherCertificateStopsStartup() throws {
        let pki = try EndToEndPKI()
        defer { pki.remove() }
        let config = try pki.sslConfig([
            ("server_key", try pki.text("client.key")),
            ("server_cert", try pki.text("server.pem")),
        ], clientVerify: false)
        let modelConfig = ServerProcess.packageRoot.appendingPathComponent("config/models.config").path
        do {
            let server = try ServerProcess(arguments: ["--model_config_file=\(modelConfig)", "--ssl_config_file=\(config)"])
            _ = server.stop()
            Issue.record("the server started with a mismatched key")
        } catch ServerProcess.ServerError.didNotStart(let output) {
            #expect(output.contains("server_key"), "\(output)")
        }
    }

    @Test func handshakeTimeoutFlagDisconnectsSilentClients() throws {
        let pki = try EndToEndPKI()
        defer { pki.remove() }
        let config = try pki.sslConfig([
            ("server_key", try pki.text("server.key")),
            ("server_cert", try pki.text("server.pem")),
        ], clientVerify: false)
        let modelConfig = ServerProcess.packageRoot.appendingPathComponent("config/models.config").path
        let server = try ServerProcess(arguments: [
            "--model_config_file=\(modelConfig)", "--ssl_config_file=\(config)", "--ssl_handshake_timeout_seconds=1",
        ])
        defer { _ = server.stop() }

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 8, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        let start = Date()
        var byte: UInt8 = 0
        let received = recv(fd, &byte, 1, 0)
        let elapsed = Date().timeIntervalSince(start)
        #expect(received == 0, "the server should close a silent connection")
        #expect(elapsed > 0.5 && elapsed < 6, "closed after \(elapsed) s")
    }

    /// The subject of the certificate a new TLS connection to `port` is given.
    private func servedSubject(port: Int) throws -> String {
        let command = "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -subject"
        return try runTool("/bin/sh", ["-c", command]).output.filter { !$0.isWhitespace }
    }

    /// Waits up to 10 s for new connections to be given a certificate whose subject contains `name`.
    private func waitForSubject(_ name: String, port: Int) throws -> String {
        let deadline = Date().addingTimeInterval(10)
        var subject = ""
        while Date() < deadline {
            subject = try servedSubject(port: port)
            if subject.contains(name) { break }
            usleep(100_000)
        }
        return subject
    }

    /// A PKI with a second server certificate ("renewed"), an SSL config file with the first one,
    /// and a server reading it with `--ssl_config_file_poll_wait_seconds=pollSeconds`.
    private func startRotatingServer(pollSeconds: Int) throws -> (pki: EndToEndPKI, config: String, server: ServerProcess) {
        let pki = try EndToEndPKI()
        try pki.issue("renewed", extensions: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        let config = try pki.sslConfig([
            ("server_key", try pki.text("server.key")),
            ("server_cert", try pki.text("server.pem")),
        ], clientVerify: false)
        let modelConfig = ServerProcess.packageRoot.appendingPathComponent("config/models.config").path
        let server = try ServerProcess(arguments: [
            "--model_config_file=\(modelConfig)", "--ssl_config_file=\(config)",
            "--ssl_config_file_poll_wait_seconds=\(pollSeconds)",
        ])
        return (pki, config, server)
    }

    /// Replaces the SSL config file at `config` in one rename, as a secret update does.
    private func rewrite(_ config: String, pki: EndToEndPKI, key: String, certificate: String) throws {
        let replacement = try pki.sslConfig([
            ("server_key", try pki.text(key)), ("server_cert", try pki.text(certificate)),
        ], clientVerify: false)
        try FileManager.default.removeItem(atPath: config)
        try FileManager.default.moveItem(atPath: replacement, toPath: config)
    }

    @Test func renewedCertificateIsServedWithoutRestart() throws {
        let (pki, config, server) = try startRotatingServer(pollSeconds: 1)
        defer { _ = server.stop(); pki.remove() }
        #expect(try servedSubject(port: server.port).contains("CN=server"))

        try rewrite(config, pki: pki, key: "renewed.key", certificate: "renewed.pem")
        #expect(try waitForSubject("CN=renewed", port: server.port).contains("CN=renewed"))
        let answered = try curlTLS(["--cacert", pki.path("ca.pem"), "--http2", "https://127.0.0.1:\(server.port)/v1/models/digits"])
        #expect(answered.status == 0)
        #expect(answered.output.contains("model_version_status"), "\(answered.output)")

        // A key that does not match its certificate is refused and the renewed certificate stays.
        try rewrite(config, pki: pki, key: "client.key", certificate: "server.pem")
        let logDeadline = Date().addingTimeInterval(10)
        while !server.log.contains("Keeping the current TLS certificate"), Date() < logDeadline { usleep(100_000) }
        #expect(server.log.contains("Keeping the current TLS certificate"), "\(server.log)")
        #expect(try servedSubject(port: server.port).contains("CN=renewed"))
    }

    @Test func sighupRereadsTheCertificate() throws {
        let (pki, config, server) = try startRotatingServer(pollSeconds: 0)
        defer { _ = server.stop(); pki.remove() }
        try rewrite(config, pki: pki, key: "renewed.key", certificate: "renewed.pem")
        usleep(1_500_000)
        #expect(try servedSubject(port: server.port).contains("CN=server"), "without polling nothing changes before SIGHUP")
        kill(server.process.processIdentifier, SIGHUP)
        #expect(try waitForSubject("CN=renewed", port: server.port).contains("CN=renewed"))
    }
}
