//! `smime certs lookup` against a real OpenLDAP `slapd`, started on a
//! loopback port from a configuration in a temporary directory (mdb
//! backend, Debian's core, cosine and inetOrgPerson schemas; no system
//! configuration touched). Entries hold certificates in each attribute form:
//! `userSMIMECertificate` (a PKCS#7 certs-only message) and
//! `userCertificate;binary` (OpenLDAP accepts and returns `userCertificate`
//! only with `;binary`). Also: a miss, a closed port and a server that
//! accepts and never answers.
//!
//! Needs `slapd` and `slapadd` (Debian's slapd package; scripts/test
//! installs it): with CI=true a missing tool fails the tests, elsewhere they
//! are skipped with a note.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{openssl, run, run_ok};

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SCHEMA: &str = "/etc/ldap/schema";
const BASE: &str = "dc=example,dc=com";

/// Whether the LDAP tools are here; in CI (CI=true) their absence fails.
fn have_slapd() -> bool {
    let ok = Path::new(SLAPD).exists()
        && Path::new(SLAPADD).exists()
        && Path::new(SCHEMA).join("inetorgperson.schema").exists();
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "slapd, slapadd and {SCHEMA} are needed (Debian: slapd): run scripts/test, which installs them"
        );
        eprintln!("skipped: slapd is not installed (Debian: apt-get install slapd ldap-utils)");
    }
    ok
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A certificate made by OpenSSL for `email` (self-signed), PEM and DER.
struct Cert {
    pem: PathBuf,
    der: Vec<u8>,
}

fn make_cert(dir: &Path, name: &str, email: &str, exts: &[&str]) -> Cert {
    let pem = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let mut cmd = openssl();
    cmd.args([
        "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "365",
    ])
    .args(["-keyout", s(&key), "-out", s(&pem)])
    .args(["-subj", &format!("/CN={name}/O=ldap test")])
    .args(["-addext", &format!("subjectAltName=email:{email}")])
    .args(["-addext", "basicConstraints=critical,CA:FALSE"]);
    for e in exts {
        cmd.args(["-addext", e]);
    }
    run_ok(&mut cmd, b"");
    let der = run_ok(
        openssl().args(["x509", "-in", s(&pem), "-outform", "DER"]),
        b"",
    );
    Cert { pem, der }
}

fn b64(data: &[u8]) -> String {
    use std::fmt::Write as _;
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = write!(out, "{}", T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A running slapd and the certificates in it.
struct Directory {
    _dir: PathBuf,
    child: Child,
    port: u16,
    /// The LDAPS port.
    tls_port: u16,
    /// The CA of the server's TLS certificate (PEM).
    tls_ca: PathBuf,
    smime: Cert,
    binary: Cert,
    plain: Cert,
    mixed_good: Cert,
    mixed_server: Cert,
}

impl Drop for Directory {
    fn drop(&mut self) {
        // Closing the watchdog's input stops slapd.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const USUAL: [&str; 2] = [
    "keyUsage=critical,keyEncipherment,digitalSignature",
    "extendedKeyUsage=emailProtection",
];

fn start() -> Directory {
    let dir = tempfile::Builder::new()
        .prefix("slapd-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    // TLS: a CA and a server certificate for 127.0.0.1 (StartTLS, LDAPS).
    let tls_ca = dir.join("tls-ca.pem");
    let tls_ca_key = dir.join("tls-ca.key");
    run_ok(
        openssl()
            .args([
                "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "30",
            ])
            .args(["-keyout", s(&tls_ca_key), "-out", s(&tls_ca)])
            .args(["-subj", "/CN=LDAP test CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign"]),
        b"",
    );
    let server_key = dir.join("server.key");
    let server_csr = dir.join("server.csr");
    let server_cert = dir.join("server.pem");
    let server_ext = dir.join("server.ext");
    std::fs::write(
        &server_ext,
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run_ok(
        openssl()
            .args([
                "req",
                "-new",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .args(["-keyout", s(&server_key), "-out", s(&server_csr)]),
        b"",
    );
    run_ok(
        openssl()
            .args(["x509", "-req", "-in", s(&server_csr), "-CA", s(&tls_ca)])
            .args(["-CAkey", s(&tls_ca_key), "-set_serial", "7", "-days", "30"])
            .args(["-extfile", s(&server_ext), "-out", s(&server_cert)]),
        b"",
    );
    let conf = dir.join("slapd.conf");
    std::fs::write(
        &conf,
        format!(
            "include {SCHEMA}/core.schema\ninclude {SCHEMA}/cosine.schema\n\
             TLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n\
             include {SCHEMA}/inetorgperson.schema\n\
             pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             database mdb\nmaxsize 10485760\nsuffix \"{BASE}\"\n\
             rootdn \"cn=admin,{BASE}\"\nrootpw secret\ndirectory {db}\n\
             access to * by * read\n",
            d = s(&dir),
            db = s(&db),
            cert = s(&server_cert),
            key = s(&server_key)
        ),
    )
    .unwrap();
    let smime = make_cert(&dir, "smime", "smime@example.com", &USUAL);
    let binary = make_cert(&dir, "binary", "binary@example.com", &USUAL);
    let plain = make_cert(&dir, "plain", "Plain@Example.com", &USUAL);
    let mixed_good = make_cert(&dir, "mixed-good", "mixed@example.com", &USUAL);
    let mixed_server = make_cert(
        &dir,
        "mixed-server",
        "mixed@example.com",
        &["extendedKeyUsage=serverAuth"],
    );
    let p7 = run_ok(
        openssl().args([
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            s(&smime.pem),
            "-outform",
            "DER",
        ]),
        b"",
    );
    let person = |uid: &str, mail: &str, attrs: &str| {
        format!(
            "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n\
             sn: {uid}\nmail: {mail}\n{attrs}\n"
        )
    };
    let ldif = [
        format!("dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n"),
        format!("dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n"),
        person(
            "smime",
            "smime@example.com",
            &format!("userSMIMECertificate:: {}", b64(&p7)),
        ),
        person(
            "binary",
            "binary@example.com",
            &format!("userCertificate;binary:: {}", b64(&binary.der)),
        ),
        person(
            "plain",
            "PLAIN@example.com",
            // OpenLDAP takes this syntax only with ';binary' (and returns it so,
            // however asked for); the address is in another case here.
            &format!("userCertificate;binary:: {}", b64(&plain.der)),
        ),
        person(
            "mixed",
            "mixed@example.com",
            &format!(
                "userCertificate;binary:: {}\nuserCertificate;binary:: {}",
                b64(&mixed_good.der),
                b64(&mixed_server.der)
            ),
        ),
        person("nocert", "nocert@example.com", ""),
    ]
    .join("\n");
    let ldif_path = dir.join("data.ldif");
    std::fs::write(&ldif_path, ldif).unwrap();
    run_ok(
        Command::new(SLAPADD).args(["-f", s(&conf), "-l", s(&ldif_path)]),
        b"",
    );
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let tls_port = free_port();
        // slapd in the foreground (-d 0) under a watchdog shell that stops
        // it when this process's end of its standard input closes: when
        // the Directory is dropped, and also if the test process dies.
        let log = dir.join("slapd.log");
        let mut child = Command::new("sh")
            .args([
                "-c",
                "\"$0\" \"$@\" 2>\"$LOG\" & p=$!; cat >/dev/null; kill \"$p\" 2>/dev/null; wait \"$p\"",
                SLAPD,
                "-f",
                s(&conf),
                "-h",
                &format!("ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"),
                "-d",
                "0",
            ])
            .env("LOG", &log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok()
            {
                return Directory {
                    _dir: dir,
                    child,
                    port,
                    tls_port,
                    tls_ca,
                    smime,
                    binary,
                    plain,
                    mixed_good,
                    mixed_server,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        last = std::fs::read_to_string(&log).unwrap_or_default();
        drop(child.stdin.take());
        let _ = child.wait();
    }
    panic!("slapd did not start: {last}");
}

/// A directory for one test (stopped when dropped), if slapd is here.
fn directory() -> Option<Directory> {
    have_slapd().then(start)
}

fn url(d: &Directory) -> String {
    format!("ldap://127.0.0.1:{}/{BASE}", d.port)
}

fn sha256_hex(der: &[u8]) -> String {
    let out = run_ok(openssl().args(["dgst", "-sha256", "-r"]), der);
    String::from_utf8(out).unwrap()[..64].to_owned()
}

/// `smime certs lookup ARGS`, trusting the directory's TLS CA (rustls
/// reads SSL_CERT_FILE).
fn lookup_in(d: &Directory, args: &[&str]) -> std::process::Output {
    run(
        common::smime()
            .env("SSL_CERT_FILE", &d.tls_ca)
            .args(["certs", "lookup"])
            .args(args),
        b"",
    )
}

/// [`lookup_in`], which must fail with one line `smime: error: ...`.
fn lookup_fails(d: &Directory, args: &[&str]) -> String {
    let out = lookup_in(d, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    let last = err.lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("smime: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    last
}

#[test]
fn finds_certificates_in_each_attribute_form() {
    let Some(d) = directory() else { return };
    let d = &d;
    for (addr, cert) in [
        ("smime@example.com", &d.smime),
        ("binary@example.com", &d.binary),
        ("plain@example.com", &d.plain),
    ] {
        let out = lookup_in(d, &[addr, "--ldap", &url(d)]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{addr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.starts_with(&format!(
                "1 certificate(s) for {addr} from 127.0.0.1:{}",
                d.port
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("SHA256 {}", sha256_hex(&cert.der))),
            "{addr}: {stdout}"
        );
        assert!(stdout.contains("for encryption and signing"), "{stdout}");
    }
}

#[test]
fn keeps_only_smime_certificates_and_fills_the_store() {
    let Some(d) = directory() else { return };
    let d = &d;
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = lookup_in(
        d,
        &["MIXED@example.com", "--ldap", &url(d), "--store", s(&store)],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(&sha256_hex(&d.mixed_good.der)), "{stdout}");
    assert!(
        !stdout.contains(&sha256_hex(&d.mixed_server.der)),
        "{stdout}"
    );
    assert!(stdout.contains("added to the store"), "{stdout}");
    assert!(
        stderr.contains("is not for e-mail protection"),
        "the refused certificate is named: {stderr}"
    );
    // The store is the one `smime encrypt --to` reads: OpenSSL decrypts.
    let key = d.mixed_good.pem.with_extension("key");
    let msg = run_ok(
        &mut common::smime_cms(&["encrypt", "--to", "mixed@example.com", "--store", s(&store)]),
        b"to the directory's certificate",
    );
    let plain = run_ok(
        openssl()
            .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-inkey"])
            .arg(&key),
        &msg,
    );
    assert_eq!(plain, b"to the directory's certificate");
    // Again: already there.
    let out = lookup_in(
        d,
        &["mixed@example.com", "--ldap", &url(d), "--store", s(&store)],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("already in the store"));
}

#[test]
fn a_miss_and_an_entry_without_certificates_fail_clearly() {
    let Some(d) = directory() else { return };
    let d = &d;
    let e = lookup_fails(d, &["nobody@example.com", "--ldap", &url(d)]);
    assert!(
        e.contains("no entry with mail=nobody@example.com in LDAP directory 127.0.0.1:"),
        "{e}"
    );
    let out = lookup_in(d, &["nocert@example.com", "--ldap", &url(d)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no certificate usable for S/MIME"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A filter injection is only an address that matches nothing.
    let e = lookup_fails(d, &["*)(mail=*@example.com", "--ldap", &url(d)]);
    assert!(e.contains("no entry with mail="), "{e}");
    // A base that does not exist.
    let e = lookup_fails(
        d,
        &[
            "smime@example.com",
            "--ldap",
            &format!("ldap://127.0.0.1:{}/dc=nowhere", d.port),
        ],
    );
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn an_unreachable_server_is_named() {
    // A port nothing listens on (bound, then closed).
    let port = free_port();
    let start = Instant::now();
    let e = common::smime_fails(
        &[
            "certs",
            "lookup",
            "a@example.com",
            "--ldap",
            &format!("ldap://127.0.0.1:{port}/{BASE}"),
        ],
        b"",
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        e.contains(&format!("cannot reach LDAP directory 127.0.0.1:{port}")),
        "{e}"
    );
    assert!(
        e.contains("Firewalls often block LDAP (port 389, LDAPS 636)"),
        "{e}"
    );
    let e = common::smime_fails(
        &["certs", "lookup", "a@example.com", "--ldap", "http://x/"],
        b"",
    );
    assert!(e.contains("expected ldap://HOST[:PORT]/BASE"), "{e}");
}

#[test]
fn a_silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20)
            && !stop2.load(std::sync::atomic::Ordering::Relaxed)
        {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        conns.len()
    });
    let start = Instant::now();
    let e = common::smime_fails(
        &[
            "certs",
            "lookup",
            "a@example.com",
            "--ldap",
            &format!("ldap://127.0.0.1:{port}/{BASE}"),
            "--timeout",
            "2",
        ],
        b"",
    );
    let took = start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(10), "bounded: {took:?}");
    assert!(
        e.contains(&format!(
            "LDAP directory 127.0.0.1:{port} did not answer within 2 s"
        )),
        "{e}"
    );
    assert!(e.contains("Firewalls"), "{e}");
    assert!(held.join().unwrap() >= 1, "the tool connected");
}

#[test]
fn starttls_and_ldaps_when_offered() {
    let Some(d) = directory() else { return };
    let d = &d;
    // The server offers StartTLS: it is used.
    let out = lookup_in(d, &["binary@example.com", "--ldap", &url(d)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("(LDAP with StartTLS)"), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // LDAPS.
    let ldaps = format!("ldaps://127.0.0.1:{}/{BASE}", d.tls_port);
    let out = lookup_in(d, &["binary@example.com", "--ldap", &ldaps]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("(LDAPS)"), "{stdout}");
    assert!(stdout.contains(&sha256_hex(&d.binary.der)), "{stdout}");
    // A server certificate nobody vouches for: LDAPS fails, naming the
    // server; StartTLS goes on in the clear with a warning (certificates
    // are public, and checked here).
    let empty_ca = d._dir.join("no-ca.pem");
    std::fs::write(&empty_ca, "").unwrap();
    let out = run(
        common::smime().env("SSL_CERT_FILE", &empty_ca).args([
            "certs",
            "lookup",
            "binary@example.com",
            "--ldap",
            &ldaps,
        ]),
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("LDAP directory 127.0.0.1:{}", d.tls_port)),
        "{err}"
    );
    assert!(err.contains("TLS with LDAP directory"), "{err}");
    assert!(err.contains("not trusted"), "{err}");
    let out = run(
        common::smime().env("SSL_CERT_FILE", &empty_ca).args([
            "certs",
            "lookup",
            "binary@example.com",
            "--ldap",
            &url(d),
        ]),
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning: StartTLS with 127.0.0.1:"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("StartTLS failed"));
}
