//! Path validation tests: a CA hierarchy made with the `openssl` CLI at test
//! time (EC P-256 keys, explicit validity dates so that no test depends on
//! the clock), the RFC 9216 sample certificates, and the matching rules.

extern crate std;

use std::collections::HashMap;
use std::format;
use std::path::{Path as FsPath, PathBuf};
use std::process::Command;
use std::string::{String, ToString};
use std::sync::OnceLock;
use std::vec::Vec;

use super::*;
use crate::x509::crl::{CrlLimitation, reason};

// ---------------------------------------------------------------------------
// The generated hierarchy.

/// Validity of the generated certificates (YYYYMMDDHHMMSSZ):
/// root and CAs 2020–2050 / 2020–2045, leaves 2021–2031, CRLs 2024–2030.
const ROOT_START: &str = "20200101000000Z";
const ROOT_END: &str = "20500101000000Z";
const CA_START: &str = "20200101000000Z";
const CA_END: &str = "20450101000000Z";
const LEAF_START: &str = "20210101000000Z";
const LEAF_END: &str = "20310101000000Z";
const CRL_START: &str = "20240101000000Z";
const CRL_END: &str = "20300101000000Z";

fn at(y: i64, m: u8, d: u8) -> Time {
    Time::from_civil(y, m, d, 0, 0, 0).unwrap()
}

/// Inside every validity period and every CRL's.
fn now() -> Time {
    at(2025, 6, 1)
}

const CONFIG: &str = r#"
[ca]
default_ca = CA_default
[CA_default]
dir = $ENV::CADIR
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = yes
[policy_any]
commonName = optional
[req]
distinguished_name = req_dn
[req_dn]

[root_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[int_ext]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_nokeyid_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = none
authorityKeyIdentifier = none
[nc_email_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical,permitted;email:.example.com
[nc_dir_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical,permitted;dirName:nc_dir
[nc_dir]
O = Good
[noca_ext]
basicConstraints = critical,CA:false
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::EMAIL
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_noakid_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::EMAIL
subjectKeyIdentifier = none
authorityKeyIdentifier = none
[enc_ext]
basicConstraints = critical,CA:false
keyUsage = critical,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::EMAIL
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = email:$ENV::EMAIL
authorityKeyIdentifier = keyid
[crit_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::EMAIL
authorityKeyIdentifier = keyid
1.2.3.4 = critical,ASN1:NULL
[dp_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::EMAIL
crlDistributionPoints = URI:http://crl.example/int.crl
[crl_ext]
authorityKeyIdentifier = keyid
[crl_dp]
issuingDistributionPoint = critical,@idp_dp
[idp_dp]
fullname = URI:http://crl.example/int.crl
onlyuser = TRUE
[crl_indirect]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,@idp_indirect
[idp_indirect]
indirectCRL = TRUE
[crl_delta]
authorityKeyIdentifier = keyid
2.5.29.27 = critical,ASN1:INTEGER:1
[crl_unknown]
1.2.3.4 = critical,ASN1:NULL
[crl_only_ca]
issuingDistributionPoint = critical,@idp_only_ca
[idp_only_ca]
onlyCA = TRUE
"#;

/// Every certificate and CRL of the generated hierarchy, as DER, by name.
struct Pki {
    der: HashMap<String, Vec<u8>>,
}

impl Pki {
    fn cert(&self, name: &str) -> CertificateRef<'_> {
        let der = self.der.get(name).unwrap_or_else(|| panic!("no certificate {name}"));
        CertificateRef::from_der(der).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn crl(&self, name: &str) -> CrlRef<'_> {
        let der = self.der.get(name).unwrap_or_else(|| panic!("no CRL {name}"));
        CrlRef::from_der(der).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn certs(&self, names: &[&str]) -> Vec<CertificateRef<'_>> {
        names.iter().map(|n| self.cert(n)).collect()
    }
}

struct Gen {
    dir: PathBuf,
    der: HashMap<String, Vec<u8>>,
}

impl Gen {
    fn openssl(&self, ca: &str, email: &str, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .env("CADIR", self.dir.join(ca))
            .env("EMAIL", email)
            .output()
            .expect("openssl must be installed (scripts/test installs it)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A CA database directory for `ca`.
    fn ca_dir(&self, ca: &str) {
        let d = self.dir.join(ca);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("serial"), "1000\n").unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    }

    fn key(&self, name: &str) {
        let key = format!("{name}.key");
        self.openssl(
            "",
            "",
            &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &key],
        );
    }

    fn read_der(&mut self, name: &str, pem: &str, kind: &str) {
        let der = format!("{name}.der");
        self.openssl("", "", &[kind, "-in", pem, "-outform", "DER", "-out", &der]);
        let bytes = std::fs::read(self.dir.join(&der)).unwrap();
        self.der.insert(name.to_string(), bytes);
    }

    /// Issues certificate `name` (new key `key`, default `name`) with
    /// subject `subj` and extensions `ext`, by `issuer` (its CA database,
    /// certificate and key), or self-signed when `issuer` is `None`.
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &mut self,
        name: &str,
        key: Option<&str>,
        subj: &str,
        issuer: Option<(&str, &str)>,
        ext: &str,
        validity: (&str, &str),
        email: &str,
        md: &str,
    ) {
        let key = key.unwrap_or(name);
        if !self.dir.join(format!("{key}.key")).exists() {
            self.key(key);
        }
        self.ca_dir(name);
        let csr = format!("{name}.csr");
        let keyfile = format!("{key}.key");
        let config = "ca.cnf";
        self.openssl(
            "",
            email,
            &["req", "-new", "-config", config, "-key", &keyfile, "-subj", subj, "-out", &csr],
        );
        let pem = format!("{name}.pem");
        let mut args = std::vec![
            "ca",
            "-config",
            config,
            "-batch",
            "-notext",
            "-preserveDN",
            "-md",
            md,
            "-in",
            &csr,
            "-out",
            &pem,
            "-startdate",
            validity.0,
            "-enddate",
            validity.1,
            "-extensions",
            ext,
        ];
        let (ca, cert_arg, key_arg);
        match issuer {
            Some((cert, ikey)) => {
                ca = cert.to_string();
                cert_arg = format!("{cert}.pem");
                key_arg = format!("{ikey}.key");
                args.extend(["-cert", &cert_arg, "-keyfile", &key_arg]);
            }
            None => {
                ca = name.to_string();
                key_arg = keyfile.clone();
                args.extend(["-selfsign", "-keyfile", &key_arg]);
            }
        }
        self.openssl(&ca, email, &args);
        self.read_der(name, &pem, "x509");
    }

    fn revoke(&self, ca: &str, cert: &str, reason: &str) {
        let (c, k, p) = (format!("{ca}.pem"), format!("{ca}.key"), format!("{cert}.pem"));
        self.openssl(
            ca,
            "",
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-cert",
                &c,
                "-keyfile",
                &k,
                "-revoke",
                &p,
                "-crl_reason",
                reason,
            ],
        );
    }

    fn crl(&mut self, name: &str, ca: &str, exts: &str, validity: (&str, &str)) {
        let (c, k, p) = (format!("{ca}.pem"), format!("{ca}.key"), format!("{name}.pem"));
        self.openssl(
            ca,
            "",
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-cert",
                &c,
                "-keyfile",
                &k,
                "-gencrl",
                "-out",
                &p,
                "-crlexts",
                exts,
                "-crl_lastupdate",
                validity.0,
                "-crl_nextupdate",
                validity.1,
            ],
        );
        self.read_der(name, &p, "crl");
    }
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let mut g = Gen { dir: tmp.path().to_path_buf(), der: HashMap::new() };
        std::fs::write(g.dir.join("ca.cnf"), CONFIG).unwrap();
        let ca = (CA_START, CA_END);
        let leaf = (LEAF_START, LEAF_END);
        let sha256 = "sha256";

        g.issue(
            "root",
            None,
            "/CN=Test Root",
            None,
            "root_ext",
            (ROOT_START, ROOT_END),
            "",
            sha256,
        );
        g.issue("other-root", None, "/CN=Other Root", None, "root_ext", ca, "", sha256);
        // Intermediate with pathlen 0, and the usual leaves under it.
        g.issue(
            "int",
            None,
            "/O=Test/CN=Test Int",
            Some(("root", "root")),
            "int_ext",
            ca,
            "",
            sha256,
        );
        let int = Some(("int", "int"));
        let s = sha256;
        g.issue("alice", None, "/CN=Alice", int, "leaf_ext", leaf, "alice@example.com", s);
        g.issue("bob", None, "/CN=Bob", int, "leaf_ext", leaf, "bob@example.com", s);
        g.issue("enc", None, "/CN=Enc", int, "enc_ext", leaf, "enc@example.com", s);
        g.issue("client", None, "/CN=Client", int, "client_ext", leaf, "client@example.com", s);
        g.issue("crit", None, "/CN=Crit", int, "crit_ext", leaf, "crit@example.com", s);
        g.issue("dp", None, "/CN=DP", int, "dp_ext", leaf, "dp@example.com", s);
        g.issue("sha1", None, "/CN=Old", int, "leaf_ext", leaf, "old@example.com", "sha1");
        // pathlen 0 exceeded: int -> sub -> leaf.
        g.issue("sub", None, "/CN=Sub CA", int, "ca_ext", ca, "", s);
        g.issue(
            "deep",
            None,
            "/CN=Deep",
            Some(("sub", "sub")),
            "leaf_ext",
            leaf,
            "deep@example.com",
            s,
        );
        // Name constraints.
        let root = Some(("root", "root"));
        g.issue("nc-email", None, "/CN=NC Email", root, "nc_email_ext", ca, "", s);
        let nce = Some(("nc-email", "nc-email"));
        g.issue("carol", None, "/CN=Carol", nce, "leaf_ext", leaf, "carol@mail.example.com", s);
        g.issue("mallory", None, "/CN=Mallory", nce, "leaf_ext", leaf, "mallory@evil.test", s);
        g.issue(
            "dave",
            None,
            "/CN=Dave/emailAddress=dave@evil.test",
            nce,
            "leaf_ext",
            leaf,
            "dave@mail.example.com",
            s,
        );
        g.issue("nc-dir", None, "/O=Good/CN=NC Dir", root, "nc_dir_ext", ca, "", s);
        let ncd = Some(("nc-dir", "nc-dir"));
        g.issue("good", None, "/O=Good/CN=Gina", ncd, "leaf_ext", leaf, "gina@example.com", s);
        g.issue("bad", None, "/O=Bad/CN=Bart", ncd, "leaf_ext", leaf, "bart@example.com", s);
        // An intermediate that is not a CA.
        g.issue("noca", None, "/CN=Not A CA", root, "noca_ext", ca, "", s);
        g.issue(
            "under-noca",
            None,
            "/CN=Under",
            Some(("noca", "noca")),
            "leaf_ext",
            leaf,
            "u@example.com",
            s,
        );
        // Two CAs issuing each other: loop-a is issued by loop-b and
        // loop-b by loop-a (loop-b0 is a self-signed loop-b to start with).
        g.issue("loop-b0", Some("loop-b"), "/CN=Loop B", None, "ca_ext", ca, "", s);
        g.issue("loop-a", None, "/CN=Loop A", Some(("loop-b0", "loop-b")), "ca_ext", ca, "", s);
        g.issue(
            "loop-b",
            Some("loop-b"),
            "/CN=Loop B",
            Some(("loop-a", "loop-a")),
            "ca_ext",
            ca,
            "",
            s,
        );
        g.issue(
            "in-loop",
            None,
            "/CN=In Loop",
            Some(("loop-a", "loop-a")),
            "leaf_ext",
            leaf,
            "l@example.com",
            s,
        );
        // Two CAs with the same name and no key identifiers: the first one
        // listed did not sign the leaf.
        g.issue("twin1", None, "/CN=Twin", root, "ca_nokeyid_ext", ca, "", s);
        g.issue("twin2", None, "/CN=Twin", root, "ca_nokeyid_ext", ca, "", s);
        g.issue(
            "twin-leaf",
            None,
            "/CN=T",
            Some(("twin2", "twin2")),
            "leaf_noakid_ext",
            leaf,
            "t@example.com",
            s,
        );
        // A chain longer than MAX_CHAIN: root -> long1 -> ... -> long9 -> leaf.
        let mut parent = String::from("root");
        for i in 1..=9 {
            let name = format!("long{i}");
            let subj = format!("/CN=Long {i}");
            g.issue(
                &name,
                None,
                &subj,
                Some((&parent.clone(), &parent.clone())),
                "ca_ext",
                ca,
                "",
                s,
            );
            parent = name;
        }
        g.issue(
            "long-leaf",
            None,
            "/CN=Long",
            Some((&parent.clone(), &parent.clone())),
            "leaf_ext",
            leaf,
            "x@example.com",
            s,
        );

        // CRLs: bob revoked by int; an empty root CRL; variants.
        g.revoke("int", "bob", "keyCompromise");
        let crl = (CRL_START, CRL_END);
        g.crl("int-crl", "int", "crl_ext", crl);
        g.crl("int-crl-indirect", "int", "crl_indirect", crl);
        g.crl("int-crl-delta", "int", "crl_delta", crl);
        g.crl("int-crl-unknown", "int", "crl_unknown", crl);
        g.crl("int-crl-only-ca", "int", "crl_only_ca", crl);
        g.crl("int-crl-dp", "int", "crl_dp", crl);
        g.crl("root-crl", "root", "crl_ext", crl);
        let der = g.der;
        drop(tmp);
        Pki { der }
    })
}

fn has(report: &PathReport<'_>, index: usize, check: Check) -> bool {
    report.findings().iter().any(|f| f.cert_index == index && f.check == check)
}

fn failures(report: &PathReport<'_>) -> Vec<Finding> {
    report.failures().copied().collect()
}

fn describe(report: &PathReport<'_>) -> String {
    let mut s = format!("valid={} chain={} ", report.is_valid(), report.chain().len());
    for f in report.findings() {
        s += &format!("\n  {f}");
    }
    s
}

fn run<'a>(
    p: &'a Pki,
    leaf: &str,
    intermediates: &[&str],
    anchors: &[&str],
    options: &ValidationOptions<'_>,
) -> PathReport<'a> {
    let leaf = p.cert(leaf);
    let inter = p.certs(intermediates);
    let anchors = p.certs(anchors);
    validate(&leaf, &inter, &anchors, options)
}

// ---------------------------------------------------------------------------
// Cases.

#[test]
fn valid_chain() {
    let p = pki();
    let r = run(p, "alice", &["int"], &["root"], &ValidationOptions::new(now()));
    assert!(r.is_valid(), "{}", describe(&r));
    assert_eq!(r.chain().len(), 3);
    assert_eq!(r.chain()[1].der(), p.cert("int").der());
    assert_eq!(r.anchor().unwrap().der(), p.cert("root").der());
    assert_eq!(r.leaf().der(), p.cert("alice").der());
    // No CRLs given: a warning for each certificate below the anchor.
    let gap = RevocationGap::NoCrl;
    assert!(has(&r, 0, Check::RevocationNotChecked { required: false, gap }));
    assert!(has(&r, 1, Check::RevocationNotChecked { required: false, gap }));
    assert_eq!(r.findings().len(), 2, "{}", describe(&r));
    assert!(r.email_matches(b"alice@example.com"));
    assert!(r.email_matches(b"alice@EXAMPLE.com"));
    assert!(!r.email_matches(b"Alice@example.com"));
    assert!(!r.email_matches(b"bob@example.com"));
    assert!(!r.email_matches(b"alice"));
    // The order of the intermediates, and unrelated extra certificates, do
    // not matter; the leaf listed as an intermediate is not used twice.
    let r = run(
        p,
        "alice",
        &["alice", "other-root", "sub", "int", "bob"],
        &["other-root", "root"],
        &ValidationOptions::new(now()),
    );
    assert!(r.is_valid(), "{}", describe(&r));
    assert_eq!(r.chain().len(), 3);
    // Purpose Any and KeyTransport: alice's keyUsage is for signing only.
    let mut o = ValidationOptions::new(now());
    o.purpose = Purpose::Any;
    assert!(run(p, "alice", &["int"], &["root"], &o).is_valid());
    o.purpose = Purpose::KeyTransport;
    let r = run(p, "alice", &["int"], &["root"], &o);
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 0, check: Check::LeafKeyUsage { purpose: Purpose::KeyTransport } }]
    );
}

#[test]
fn trusted_leaf_alone() {
    let p = pki();
    let r = run(p, "alice", &[], &["alice"], &ValidationOptions::new(now()));
    assert!(r.is_valid(), "{}", describe(&r));
    assert_eq!(r.chain().len(), 1);
    assert_eq!(r.anchor().unwrap().der(), p.cert("alice").der());
    assert!(r.findings().is_empty(), "{}", describe(&r));
    // Still checked: its validity and its key usage.
    let r = run(p, "alice", &[], &["alice"], &ValidationOptions::new(at(2032, 1, 1)));
    assert!(!r.is_valid());
    assert!(has(&r, 0, Check::Expired { not_after: p.cert("alice").not_after() }));
    let r = run(p, "crit", &[], &["crit"], &ValidationOptions::new(now()));
    assert!(has(&r, 0, Check::UnknownCriticalExtension), "{}", describe(&r));
}

#[test]
fn expired_and_not_yet_valid() {
    let p = pki();
    let alice = p.cert("alice");
    let r = run(p, "alice", &["int"], &["root"], &ValidationOptions::new(at(2032, 1, 1)));
    assert!(!r.is_valid());
    assert_eq!(r.chain().len(), 3, "the chain is still reported");
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 0, check: Check::Expired { not_after: alice.not_after() } }]
    );
    assert_eq!(alice.not_after().to_string(), "2031-01-01T00:00:00Z");
    let r = run(p, "alice", &["int"], &["root"], &ValidationOptions::new(at(2020, 6, 1)));
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 0, check: Check::NotYetValid { not_before: alice.not_before() } }]
    );
    // The anchor's validity counts too.
    let r = run(p, "alice", &["int"], &["root"], &ValidationOptions::new(at(2047, 1, 1)));
    let root = p.cert("root");
    assert!(!has(&r, 2, Check::Expired { not_after: root.not_after() }));
    assert!(has(&r, 1, Check::Expired { not_after: p.cert("int").not_after() }));
    let r = run(p, "alice", &["int"], &["root"], &ValidationOptions::new(at(2051, 1, 1)));
    assert!(has(&r, 2, Check::Expired { not_after: root.not_after() }), "{}", describe(&r));
    assert!(
        r.findings()[0].to_string().contains("expired at 2031-01-01T00:00:00Z"),
        "{}",
        r.findings()[0]
    );
}

#[test]
fn wrong_key_usage_and_missing_email_protection() {
    let p = pki();
    let o = ValidationOptions::new(now());
    let r = run(p, "enc", &["int"], &["root"], &o);
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 0, check: Check::LeafKeyUsage { purpose: Purpose::Signing } }]
    );
    let mut kt = o;
    kt.purpose = Purpose::KeyTransport;
    assert!(run(p, "enc", &["int"], &["root"], &kt).is_valid());

    let r = run(p, "client", &["int"], &["root"], &o);
    assert_eq!(failures(&r), [Finding { cert_index: 0, check: Check::MissingEmailProtection }]);
    let mut lax = o;
    lax.require_email_protection_eku_when_present = false;
    assert!(run(p, "client", &["int"], &["root"], &lax).is_valid());
}

#[test]
fn unknown_critical_extension() {
    let p = pki();
    let r = run(p, "crit", &["int"], &["root"], &ValidationOptions::new(now()));
    assert_eq!(failures(&r), [Finding { cert_index: 0, check: Check::UnknownCriticalExtension }]);
}

#[test]
fn sha1_signature_is_a_warning() {
    let p = pki();
    let r = run(p, "sha1", &["int"], &["root"], &ValidationOptions::new(now()));
    assert!(r.is_valid(), "{}", describe(&r));
    assert!(has(&r, 0, Check::WeakSignatureAlgorithm), "{}", describe(&r));
    assert!(!Check::WeakSignatureAlgorithm.is_failure());
}

#[test]
fn revoked_by_crl() {
    let p = pki();
    let crls = [p.crl("int-crl"), p.crl("root-crl")];
    let mut o = ValidationOptions::new(now());
    o.crls = &crls;
    let r = run(p, "bob", &["int"], &["root"], &o);
    assert!(!r.is_valid());
    let bob_entry = crls[0].is_revoked(p.cert("bob").serial()).unwrap();
    assert_eq!(bob_entry.reason, Some(reason::KEY_COMPROMISE));
    assert_eq!(
        failures(&r),
        [Finding {
            cert_index: 0,
            check: Check::Revoked { date: bob_entry.revocation_date, reason: Some(1) }
        }]
    );
    assert!(r.findings()[0].to_string().contains("(reason: keyCompromise)"), "{}", describe(&r));
    // alice is not revoked, and with both CRLs revocation was checked
    // everywhere: no findings at all, even when revocation information is
    // required.
    o.require_revocation_info = true;
    let r = run(p, "alice", &["int"], &["root"], &o);
    assert!(r.is_valid(), "{}", describe(&r));
    assert!(r.findings().is_empty(), "{}", describe(&r));
    // Without the root's CRL, the intermediate's status is unknown: a
    // failure when required, a warning otherwise.
    let only_int = [p.crl("int-crl")];
    o.crls = &only_int;
    let r = run(p, "alice", &["int"], &["root"], &o);
    assert_eq!(
        failures(&r),
        [Finding {
            cert_index: 1,
            check: Check::RevocationNotChecked { required: true, gap: RevocationGap::NoCrl }
        }]
    );
    o.require_revocation_info = false;
    assert!(run(p, "alice", &["int"], &["root"], &o).is_valid());
}

#[test]
fn tampered_crl_is_not_usable() {
    let p = pki();
    let mut der = p.der["int-crl"].clone();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = CrlRef::from_der(&der).unwrap();
    assert!(tampered.is_revoked(p.cert("bob").serial()).is_some());
    assert_eq!(
        tampered.verify_issued_by(&p.cert("int")).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
    let crls = [tampered];
    let mut o = ValidationOptions::new(now());
    o.crls = &crls;
    let r = run(p, "bob", &["int"], &["root"], &o);
    let gap = RevocationGap::CrlSignatureInvalid;
    assert!(has(&r, 0, Check::RevocationNotChecked { required: false, gap }), "{}", describe(&r));
    assert!(!r.findings().iter().any(|f| matches!(f.check, Check::Revoked { .. })));
    // Not "clean": with revocation information required, it fails.
    o.require_revocation_info = true;
    let r = run(p, "bob", &["int"], &["root"], &o);
    assert!(!r.is_valid());
    assert!(has(&r, 0, Check::RevocationNotChecked { required: true, gap }));
    // A CRL of another issuer is not considered at all.
    let root_crl = [p.crl("root-crl")];
    o.crls = &root_crl;
    let r = run(p, "bob", &["int"], &["root"], &o);
    assert!(has(&r, 0, Check::RevocationNotChecked { required: true, gap: RevocationGap::NoCrl }));
}

#[test]
fn stale_and_unsupported_crls() {
    let p = pki();
    // After nextUpdate (2030) but within the leaf's validity (2031).
    let crls = [p.crl("int-crl")];
    let mut o = ValidationOptions::new(at(2030, 6, 1));
    o.crls = &crls;
    let r = run(p, "bob", &["int"], &["root"], &o);
    let gap = RevocationGap::CrlNotCurrent;
    assert!(has(&r, 0, Check::RevocationNotChecked { required: false, gap }), "{}", describe(&r));
    // Before thisUpdate.
    o.at = at(2023, 6, 1);
    let r = run(p, "bob", &["int"], &["root"], &o);
    assert!(has(&r, 0, Check::RevocationNotChecked { required: false, gap }), "{}", describe(&r));

    // Indirect, delta, unknown critical extension: parsed, flagged, not used.
    for (name, limitation) in [
        ("int-crl-indirect", CrlLimitation::IndirectCrl),
        ("int-crl-delta", CrlLimitation::DeltaCrl),
        ("int-crl-unknown", CrlLimitation::UnknownCriticalExtension),
    ] {
        let crl = p.crl(name);
        assert_eq!(crl.limitation(), Some(limitation), "{name}");
        assert!(crl.verify_issued_by(&p.cert("int")).is_ok(), "{name}");
        assert!(crl.is_revoked(p.cert("bob").serial()).is_some(), "{name}");
        assert!(!crl.covers(&p.cert("bob")), "{name}");
        let crls = [crl];
        let mut o = ValidationOptions::new(now());
        o.crls = &crls;
        let r = run(p, "bob", &["int"], &["root"], &o);
        let gap = RevocationGap::CrlNotApplicable;
        assert!(has(&r, 0, Check::RevocationNotChecked { required: false, gap }), "{name}");
        assert!(!r.findings().iter().any(|f| matches!(f.check, Check::Revoked { .. })));
    }
    // A CRL only for CA certificates covers the intermediate, not bob.
    let crl = p.crl("int-crl-only-ca");
    assert_eq!(crl.limitation(), None);
    assert!(!crl.covers(&p.cert("bob")));
    assert!(crl.covers(&p.cert("sub")));
    // A distribution point CRL covers the certificates that name it.
    let crl = p.crl("int-crl-dp");
    assert_eq!(crl.limitation(), None);
    assert!(crl.covers(&p.cert("dp")));
    assert!(!crl.covers(&p.cert("alice")));
    assert!(!crl.covers(&p.cert("sub")));
    let crls = [crl];
    let mut o = ValidationOptions::new(now());
    o.crls = &crls;
    let r = run(p, "dp", &["int"], &["root"], &o);
    assert!(!r.findings().iter().any(|f| f.cert_index == 0), "{}", describe(&r));
    let r = run(p, "alice", &["int"], &["root"], &o);
    let gap = RevocationGap::CrlNotApplicable;
    assert!(has(&r, 0, Check::RevocationNotChecked { required: false, gap }), "{}", describe(&r));
}

#[test]
fn unknown_root() {
    let p = pki();
    let r = run(p, "alice", &["int"], &["other-root"], &ValidationOptions::new(now()));
    assert!(!r.is_valid());
    assert!(r.anchor().is_none());
    assert_eq!(r.chain().len(), 2);
    assert_eq!(failures(&r), [Finding { cert_index: 1, check: Check::NoPathToAnchor }]);
    let r = run(p, "alice", &[], &[], &ValidationOptions::new(now()));
    assert_eq!(failures(&r), [Finding { cert_index: 0, check: Check::NoPathToAnchor }]);
    assert!(r.findings()[0].to_string().starts_with("leaf certificate: no chain"));
}

#[test]
fn bad_certificate_signature() {
    let p = pki();
    let mut der = p.der["alice"].clone();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let leaf = CertificateRef::from_der(&der).unwrap();
    let (int, root) = (p.cert("int"), p.cert("root"));
    let r = validate(&leaf, &[int], &[root], &ValidationOptions::new(now()));
    assert!(!r.is_valid());
    assert_eq!(r.chain().len(), 2);
    assert!(has(&r, 0, Check::BadSignature), "{}", describe(&r));
    assert!(has(&r, 1, Check::NoPathToAnchor), "{}", describe(&r));
    // Signed directly by an anchor: the chain reaches it, the link is bad.
    let mut der = p.der["int"].clone();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let int = CertificateRef::from_der(&der).unwrap();
    let mut any = ValidationOptions::new(now());
    any.purpose = Purpose::Any;
    let r = validate(&int, &[], &[root], &any);
    assert_eq!(r.anchor().map(|a| a.der()), Some(root.der()));
    assert_eq!(failures(&r), [Finding { cert_index: 0, check: Check::BadSignature }]);
}

#[test]
fn name_constraints_email() {
    let p = pki();
    let o = ValidationOptions::new(now());
    let r = run(p, "carol", &["nc-email"], &["root"], &o);
    assert!(r.is_valid(), "{}", describe(&r));
    let r = run(p, "mallory", &["nc-email"], &["root"], &o);
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 0, check: Check::NameConstraintViolation { constrained_by: 1 } }]
    );
    // The subject's emailAddress attribute is constrained too.
    let r = run(p, "dave", &["nc-email"], &["root"], &o);
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 0, check: Check::NameConstraintViolation { constrained_by: 1 } }]
    );
    assert!(r.email_matches(b"dave@evil.test") && r.email_matches(b"dave@mail.example.com"));
    // The constraints of an anchor apply too.
    let r = run(p, "mallory", &[], &["nc-email"], &o);
    assert!(has(&r, 0, Check::NameConstraintViolation { constrained_by: 1 }));
}

#[test]
fn name_constraints_directory() {
    let p = pki();
    let o = ValidationOptions::new(now());
    let r = run(p, "good", &["nc-dir"], &["root"], &o);
    assert!(r.is_valid(), "{}", describe(&r));
    let r = run(p, "bad", &["nc-dir"], &["root"], &o);
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 0, check: Check::NameConstraintViolation { constrained_by: 1 } }]
    );
}

#[test]
fn intermediate_not_a_ca() {
    let p = pki();
    let r = run(p, "under-noca", &["noca"], &["root"], &ValidationOptions::new(now()));
    assert_eq!(failures(&r), [Finding { cert_index: 1, check: Check::NotCa }]);
}

#[test]
fn path_length_exceeded() {
    let p = pki();
    let r = run(p, "deep", &["sub", "int"], &["root"], &ValidationOptions::new(now()));
    assert_eq!(r.chain().len(), 4);
    assert_eq!(
        failures(&r),
        [Finding { cert_index: 2, check: Check::PathLenExceeded { path_len: 0 } }]
    );
}

#[test]
fn loop_terminates() {
    let p = pki();
    let r = run(
        p,
        "in-loop",
        &["loop-a", "loop-b", "loop-b0"],
        &["root"],
        &ValidationOptions::new(now()),
    );
    assert!(!r.is_valid());
    assert!(r.anchor().is_none());
    assert!(r.failures().any(|f| f.check == Check::NoPathToAnchor), "{}", describe(&r));
    // The certificates are pairwise distinct.
    let chain = r.chain();
    for (i, a) in chain.iter().enumerate() {
        for b in &chain[i + 1..] {
            assert_ne!(a.der(), b.der());
        }
    }
    // And loop-a is reachable as an anchor through the loop.
    let r = run(p, "in-loop", &["loop-b", "loop-b0"], &["loop-a"], &ValidationOptions::new(now()));
    assert!(r.is_valid(), "{}", describe(&r));
}

#[test]
fn backtracks_over_same_name_issuers() {
    let p = pki();
    let o = ValidationOptions::new(now());
    let r = run(p, "twin-leaf", &["twin1", "twin2"], &["root"], &o);
    assert!(r.is_valid(), "{}", describe(&r));
    assert_eq!(r.chain()[1].der(), p.cert("twin2").der());
    // With only the wrong twin: the bad link is reported.
    let r = run(p, "twin-leaf", &["twin1"], &["root"], &o);
    assert!(has(&r, 0, Check::BadSignature), "{}", describe(&r));
}

#[test]
fn chain_too_long() {
    let p = pki();
    let longs: Vec<String> = (1..=9).map(|i| format!("long{i}")).collect();
    let names: Vec<&str> = longs.iter().map(String::as_str).collect();
    let r = run(p, "long-leaf", &names, &["root"], &ValidationOptions::new(now()));
    assert!(!r.is_valid());
    assert_eq!(r.chain().len(), MAX_CHAIN - 1);
    assert!(has(&r, MAX_CHAIN - 2, Check::ChainTooLong), "{}", describe(&r));
    // Trusting long3 shortens it to 8 (leaf, long9..long3): valid.
    let r = run(p, "long-leaf", &names, &["long3"], &ValidationOptions::new(now()));
    assert!(r.is_valid(), "{}", describe(&r));
    assert_eq!(r.chain().len(), MAX_CHAIN);
}

// ---------------------------------------------------------------------------
// RFC 9216 samples.

fn rfc9216(name: &str) -> Vec<u8> {
    let path = FsPath::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/interop/rfc9216-certs-wbond-certvalidator/tests/fixtures/rfc9216")
        .join(name);
    let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The files hold the certificate first, then the key and RFC text.
    let text = String::from_utf8_lossy(&pem);
    const END: &str = "-----END CERTIFICATE-----";
    let end = text.find(END).unwrap() + END.len();
    let (_, der) = pem_rfc7468::decode_vec(text[..end].as_bytes()).unwrap();
    der
}

#[test]
fn rfc9216_alice() {
    let alice = rfc9216("alice@smime.example.sig.pem");
    let ca = rfc9216("Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem");
    let (alice, ca) =
        (CertificateRef::from_der(&alice).unwrap(), CertificateRef::from_der(&ca).unwrap());
    let r = validate(&alice, &[], &[ca], &ValidationOptions::new(at(2025, 1, 1)));
    assert!(r.is_valid(), "{}", describe(&r));
    assert_eq!(r.chain().len(), 2);
    assert!(r.email_matches(b"alice@smime.example"));
    assert!(!r.email_matches(b"bob@smime.example"));
    // Before the samples were made (2019-11-20).
    let r = validate(&alice, &[], &[ca], &ValidationOptions::new(at(2019, 1, 1)));
    assert!(has(&r, 0, Check::NotYetValid { not_before: alice.not_before() }));
    // For key transport the signing certificate does not do.
    let mut o = ValidationOptions::new(at(2025, 1, 1));
    o.purpose = Purpose::KeyTransport;
    assert!(!validate(&alice, &[], &[ca], &o).is_valid());
    let enc = rfc9216("alice@smime.example.enc.pem");
    let enc = CertificateRef::from_der(&enc).unwrap();
    assert!(validate(&enc, &[], &[ca], &o).is_valid());
}

#[test]
fn rfc9216_cross_signed() {
    // alice <- RSA CA (cross-signed by the Ed25519 CA) <- Ed25519 CA.
    let alice = rfc9216("alice@smime.example.sig.pem");
    let cross = rfc9216("Sample_LAMPS_RSA_Certification_Authority.crosssigned.pem");
    let ed = rfc9216("Sample_LAMPS_Ed25519_Certification_Authority.selfsigned.pem");
    let alice = CertificateRef::from_der(&alice).unwrap();
    let cross = CertificateRef::from_der(&cross).unwrap();
    let ed = CertificateRef::from_der(&ed).unwrap();
    let r = validate(&alice, &[cross], &[ed], &ValidationOptions::new(at(2025, 1, 1)));
    assert!(r.is_valid(), "{}", describe(&r));
    assert_eq!(r.chain().len(), 3);
    assert_eq!(r.anchor().map(|a| a.der()), Some(ed.der()));
}

// ---------------------------------------------------------------------------
// Matching rules and the findings list.

#[test]
fn rfc822_forms() {
    let cases: &[(&[u8], &[u8], Option<bool>)] = &[
        (b"alice@example.com", b"alice@example.com", Some(true)),
        (b"alice@example.com", b"alice@EXAMPLE.com", Some(true)),
        (b"alice@example.com", b"Alice@example.com", Some(false)),
        (b"example.com", b"bob@example.com", Some(true)),
        (b"example.com", b"bob@Example.COM", Some(true)),
        (b"example.com", b"bob@mail.example.com", Some(false)),
        (b".example.com", b"bob@mail.example.com", Some(true)),
        (b".example.com", b"bob@example.com", Some(false)),
        (b".example.com", b"bob@badexample.com", Some(false)),
        (b"example.com", b"no-at-sign", None),
        (b"example.com", b"@example.com", None),
    ];
    for (base, mailbox, want) in cases {
        assert_eq!(rfc822_matches(base, mailbox), *want, "{base:?} {mailbox:?}");
    }
}

#[test]
fn dns_and_ip_forms() {
    assert!(dns_matches(b"example.com", b"example.com"));
    assert!(dns_matches(b"example.com", b"www.Example.com"));
    assert!(!dns_matches(b"example.com", b"badexample.com"));
    assert!(dns_matches(b".example.com", b"www.example.com"));
    assert!(!dns_matches(b".example.com", b"example.com"));
    assert!(dns_matches(b"", b"anything"));
    let net = [192, 168, 0, 0, 255, 255, 0, 0];
    assert_eq!(ip_matches(&net, &[192, 168, 7, 1]), Some(true));
    assert_eq!(ip_matches(&net, &[192, 169, 7, 1]), Some(false));
    assert_eq!(ip_matches(&net, &[0; 16]), Some(false));
    assert_eq!(ip_matches(&[1, 2, 3], &[1, 2, 3, 4]), None);
}

#[test]
fn findings_keep_failures_when_full() {
    let mut f = Findings {
        list: [Finding { cert_index: 0, check: Check::NoPathToAnchor }; MAX_FINDINGS],
        len: 0,
        dropped: 0,
        dropped_failure: false,
    };
    for i in 0..MAX_FINDINGS {
        f.push(i, Check::WeakSignatureAlgorithm);
    }
    f.push(99, Check::NotCa);
    assert_eq!(f.dropped, 1);
    assert!(!f.dropped_failure);
    assert_eq!(f.as_slice().len(), MAX_FINDINGS);
    assert_eq!(f.as_slice()[MAX_FINDINGS - 1], Finding { cert_index: 99, check: Check::NotCa });
    for i in 0..MAX_FINDINGS {
        f.push(i, Check::BadSignature);
    }
    assert!(f.dropped_failure);
    assert!(f.as_slice().iter().all(|x| x.check.is_failure()));
    f.push(0, Check::WeakSignatureAlgorithm);
    assert_eq!(f.dropped, MAX_FINDINGS + 2);
}

#[test]
fn every_check_displays() {
    let t = Time::from_unix(0);
    let checks = [
        Check::NoPathToAnchor,
        Check::ChainTooLong,
        Check::BadSignature,
        Check::UnsupportedAlgorithm,
        Check::WeakSignatureAlgorithm,
        Check::Expired { not_after: t },
        Check::NotYetValid { not_before: t },
        Check::NotCa,
        Check::IssuerKeyUsage,
        Check::PathLenExceeded { path_len: 1 },
        Check::LeafKeyUsage { purpose: Purpose::Signing },
        Check::LeafKeyUsage { purpose: Purpose::KeyTransport },
        Check::MissingEmailProtection,
        Check::NameConstraintViolation { constrained_by: 2 },
        Check::InvalidNameConstraints,
        Check::UnknownCriticalExtension,
        Check::Revoked { date: t, reason: Some(1) },
        Check::Revoked { date: t, reason: Some(77) },
        Check::Revoked { date: t, reason: None },
        Check::RevocationNotChecked { required: true, gap: RevocationGap::NoCrl },
        Check::RevocationNotChecked { required: false, gap: RevocationGap::CrlNotCurrent },
    ];
    for c in checks {
        let s = Finding { cert_index: 1, check: c }.to_string();
        assert!(s.starts_with("certificate 1 of the chain: ") && s.len() > 40, "{s}");
    }
}
