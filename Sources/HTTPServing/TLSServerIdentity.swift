import NIOConcurrencyHelpers
import NIOSSL

/// A TLS listener's identity, read from files: its certificate chain, its private key, and the CAs a
/// client certificate must chain to (none: clients are not asked for one). Loaded at start and again
/// on every reload; the listener keeps serving with whatever ``TLSContextHolder`` holds meanwhile.
public struct TLSServerIdentity: Sendable, Hashable {
    /// PEM: the server certificate first, then any intermediates.
    public var certificateFile: String
    /// PEM private key of the first certificate.
    public var keyFile: String
    /// PEM CA certificates; when set, every client must present a certificate signed by one of them.
    public var clientCAFile: String?

    public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }

    /// A server context from the files, as they are now.
    /// - Throws: ``TLSIdentityError`` naming the file that could not be used and why.
    public func makeContext() throws(TLSIdentityError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
            throw TLSIdentityError(file: certificateFile, reason: "cannot read a PEM certificate: \(error)")
        }
        guard !chain.isEmpty else { throw TLSIdentityError(file: certificateFile, reason: "holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw TLSIdentityError(file: keyFile, reason: "cannot read a PEM private key: \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(clientCAFile) } catch {
                throw TLSIdentityError(file: clientCAFile, reason: "cannot read PEM CA certificates: \(error)")
            }
            guard !roots.isEmpty else { throw TLSIdentityError(file: clientCAFile, reason: "holds no PEM certificate") }
            // Clients are machines (brothers), named by their CA, not by a host name.
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(roots)
            configuration.sendCANameList = true
        }
        do { return try NIOSSLContext(configuration: configuration) } catch {
            // BoringSSL refuses a key that is not the certificate's here.
            throw TLSIdentityError(file: keyFile, reason: "does not go with the certificate in \(certificateFile): \(error)")
        }
    }
}

/// Why a TLS identity could not be loaded: the file, and what is wrong with it.
public struct TLSIdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// The context new TLS connections get. A reload swaps it; connections already open keep theirs,
/// and the listening socket stays open throughout (no connection is refused during a reload).
public final class TLSContextHolder: Sendable {
    private let box: NIOLockedValueBox<NIOSSLContext>

    public init(_ context: NIOSSLContext) { box = NIOLockedValueBox(context) }

    public var current: NIOSSLContext { box.withLockedValue { $0 } }

    public func replace(with context: NIOSSLContext) { box.withLockedValue { $0 = context } }
}
