import Foundation
import Posix

/// Certificates made at test time with the `openssl` command (no private key is committed): a CA,
/// server certificates for 127.0.0.1 and localhost (two, so a reload can be seen), one signed by
/// another CA, one expired, one for another name, and a client certificate. P-256 keys: fast to make.
public final class TestCertificates: Sendable {
    public let directory: TemporaryDirectory
    public var path: String { directory.path }

    public var caFile: String { "\(path)/ca.crt" }
    public var otherCAFile: String { "\(path)/other-ca.crt" }
    public var serverKey: String { "\(path)/server.key" }
    /// CN litmus-a, IP 127.0.0.1 and DNS localhost, by the CA.
    public var serverCertificate: String { "\(path)/server.crt" }
    /// CN litmus-b, same names, same key: what a reload swaps in.
    public var renewedServerCertificate: String { "\(path)/renewed.crt" }
    /// Same names, signed by the other CA.
    public var wrongCACertificate: String { "\(path)/wrong-ca.crt" }
    /// By the CA, valid only in January 2020.
    public var expiredCertificate: String { "\(path)/expired.crt" }
    /// By the CA, for other.example only.
    public var wrongNameCertificate: String { "\(path)/wrong-name.crt" }
    /// CN brother, by the CA, for client authentication.
    public var clientCertificate: String { "\(path)/client.crt" }
    public var clientKey: String { "\(path)/client.key" }

    public init() throws {
        directory = TemporaryDirectory()
        let dir = directory.path
        directory.write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        directory.write("other.ext", "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n")
        directory.write("client.ext", "extendedKeyUsage=clientAuth\n")
        directory.write("index.txt", "")
        directory.write("serial", "1000\n")
        directory.write(
            "ca.cnf",
            """
            [ ca ]
            default_ca = test
            [ test ]
            database = \(dir)/index.txt
            new_certs_dir = \(dir)
            serial = \(dir)/serial
            default_md = sha256
            policy = any
            unique_subject = no
            [ any ]
            commonName = supplied

            """)
        for key in ["ca", "other-ca", "server", "client"] {
            try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(dir)/\(key).key"])
        }
        for (ca, name) in [("ca", "Plimsoll test CA"), ("other-ca", "Someone else's CA")] {
            try Self.openssl([
                "req", "-x509", "-new", "-key", "\(dir)/\(ca).key", "-subj", "/CN=\(name)", "-days", "30", "-out", "\(dir)/\(ca).crt",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        for (name, key, commonName) in [
            ("server", "server", "litmus-a"), ("renewed", "server", "litmus-b"), ("wrong-ca", "server", "litmus-a"),
            ("expired", "server", "litmus-a"), ("wrong-name", "server", "litmus-a"), ("client", "client", "brother"),
        ] {
            try Self.openssl(["req", "-new", "-key", "\(dir)/\(key).key", "-subj", "/CN=\(commonName)", "-out", "\(dir)/\(name).csr"])
        }
        func sign(_ name: String, by ca: String, extensions: String) throws {
            try Self.openssl([
                "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(ca).crt", "-CAkey", "\(dir)/\(ca).key", "-set_serial",
                "\(Int.random(in: 1000...1_000_000))", "-days", "30", "-extfile", "\(dir)/\(extensions).ext", "-out", "\(dir)/\(name).crt",
            ])
        }
        try sign("server", by: "ca", extensions: "server")
        try sign("renewed", by: "ca", extensions: "server")
        try sign("wrong-ca", by: "other-ca", extensions: "server")
        try sign("wrong-name", by: "ca", extensions: "other")
        try sign("client", by: "ca", extensions: "client")
        // `openssl x509` cannot date a certificate in the past; `openssl ca` can.
        try Self.openssl([
            "ca", "-batch", "-config", "\(dir)/ca.cnf", "-cert", "\(dir)/ca.crt", "-keyfile", "\(dir)/ca.key", "-startdate", "20200101000000Z",
            "-enddate", "20200201000000Z", "-extfile", "\(dir)/server.ext", "-notext", "-in", "\(dir)/expired.csr", "-out", "\(dir)/expired.crt",
        ])
    }

    private static func openssl(_ arguments: [String]) throws {
        let result = try ProcessRunner.run(["/usr/bin/openssl"] + arguments, deadline: .after(.seconds(60)))
        guard case .exited(0) = result.termination else {
            throw TestCertificateError(description: "openssl \(arguments.joined(separator: " ")): \(result.termination) \(result.standardError)")
        }
    }
}

public struct TestCertificateError: Error, CustomStringConvertible {
    public var description: String
}
