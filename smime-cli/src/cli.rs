//! Command-line arguments (clap derive). The flags are a contract: scripts and
//! other tools call them exactly so.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use smime_core::backend::HashAlgorithm;
use smime_core::cipher::ContentCipher;

/// Sign, verify, encrypt and decrypt S/MIME (CMS) messages.
#[derive(Debug, Parser)]
#[command(name = "smime", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt content to one or more recipient certificates (CMS EnvelopedData).
    Encrypt(EncryptArgs),
    /// Decrypt a CMS EnvelopedData message with one or more private keys.
    Decrypt(DecryptArgs),
    /// Sign content (CMS SignedData), attached or detached.
    Sign(SignArgs),
    /// Verify a CMS SignedData message and its signer certificates.
    Verify(VerifyArgs),
    /// Look at certificates: in certificate files, .p7b/.p7c bundles and
    /// signed messages.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Run the whole S/MIME workflow with throwaway identities.
    Demo(DemoArgs),
    /// List the slots, tokens, keys and certificates of a PKCS#11 module,
    /// each with the `pkcs11:` URI that names it.
    Tokens(TokensArgs),
    /// List the smart-card readers and the cards in them: profile, the
    /// signature and decryption certificates, PIN tries left, and the
    /// `card:` key name that uses each.
    Cards(CardsArgs),
    /// Import and back up private keys: a PKCS#12 file (.p12/.pfx) onto a
    /// token or into a key directory, and a key back into PKCS#12.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// Content-encryption cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CipherArg {
    /// AES-128 in CBC mode.
    #[value(name = "aes128-cbc")]
    Aes128Cbc,
    /// AES-192 in CBC mode.
    #[value(name = "aes192-cbc")]
    Aes192Cbc,
    /// AES-256 in CBC mode (default).
    #[value(name = "aes256-cbc")]
    Aes256Cbc,
    /// Three-key triple DES in CBC mode (legacy partners only).
    #[value(name = "des-ede3-cbc")]
    DesEde3Cbc,
    /// AES-128 in GCM mode: AuthEnvelopedData (RFC 5083/5084, S/MIME 4.0).
    #[value(name = "aes128-gcm")]
    Aes128Gcm,
    /// AES-192 in GCM mode: AuthEnvelopedData.
    #[value(name = "aes192-gcm")]
    Aes192Gcm,
    /// AES-256 in GCM mode: AuthEnvelopedData.
    #[value(name = "aes256-gcm")]
    Aes256Gcm,
    /// ChaCha20-Poly1305: AuthEnvelopedData (RFC 8103).
    #[value(name = "chacha20-poly1305")]
    ChaCha20Poly1305,
}

impl From<CipherArg> for ContentCipher {
    fn from(c: CipherArg) -> Self {
        match c {
            CipherArg::Aes128Cbc => ContentCipher::Aes128Cbc,
            CipherArg::Aes192Cbc => ContentCipher::Aes192Cbc,
            CipherArg::Aes256Cbc => ContentCipher::Aes256Cbc,
            CipherArg::DesEde3Cbc => ContentCipher::DesEde3Cbc,
            CipherArg::Aes128Gcm => ContentCipher::Aes128Gcm,
            CipherArg::Aes192Gcm => ContentCipher::Aes192Gcm,
            CipherArg::Aes256Gcm => ContentCipher::Aes256Gcm,
            CipherArg::ChaCha20Poly1305 => ContentCipher::ChaCha20Poly1305,
        }
    }
}

/// Hash function for RSA-OAEP (and its MGF1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HashArg {
    /// SHA-1 (the OAEP default parameters of RFC 3560).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl From<HashArg> for HashAlgorithm {
    fn from(h: HashArg) -> Self {
        match h {
            HashArg::Sha1 => HashAlgorithm::Sha1,
            HashArg::Sha256 => HashAlgorithm::Sha256,
            HashArg::Sha384 => HashAlgorithm::Sha384,
            HashArg::Sha512 => HashAlgorithm::Sha512,
        }
    }
}

/// Form of the content given to `sign` and `encrypt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ContentForm {
    /// An RFC 5322 mail message (default): its From, To, Subject, Date,
    /// Message-ID and other fields stay outside; its `Content-*` fields and
    /// body are what is signed or encrypted.
    #[default]
    Smime,
    /// Bytes as they are (no MIME, no canonicalisation).
    Binary,
}

/// Form of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum MessageForm {
    /// An S/MIME mail message (RFC 5322 with RFC 8551 MIME entities).
    #[default]
    Smime,
    /// BER/DER bytes of the CMS ContentInfo.
    Der,
    /// PEM text (`-----BEGIN CMS-----`).
    Pem,
}

/// Form of the content `decrypt` and `verify` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DecryptedForm {
    /// The content bytes as they are (default). For a mail message, the
    /// message with its outer header fields and the content entity.
    #[default]
    Binary,
    /// The same as `binary`: for a mail message, the mail message.
    Smime,
    /// Accepted for compatibility; the content is written as it is. Matters
    /// only for content types that are themselves CMS (later).
    Der,
    /// Accepted for compatibility; the content is written as it is. Matters
    /// only for content types that are themselves CMS (later).
    Pem,
}

/// `smime encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Recipient certificate (PEM or DER); repeat for several recipients.
    #[arg(
        long = "recipient",
        short = 'r',
        value_name = "CERT",
        required_unless_present = "to"
    )]
    pub recipients: Vec<PathBuf>,
    /// Recipient e-mail address, looked up in the certificate store
    /// (`--store`): its valid encryption certificate, the one the partner
    /// asked for if it did, else the newest; repeat for several.
    #[arg(long = "to", value_name = "ADDR", requires = "store")]
    pub to: Vec<String>,
    /// The certificate store for `--to` (see `smime certs harvest`).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Content-encryption cipher. Default: aes256-gcm when every recipient
    /// is given by --to and announced AES-GCM (SMIMECapabilities of a signed
    /// mail harvested into the store), else aes256-cbc.
    #[arg(long, value_enum)]
    pub cipher: Option<CipherArg>,
    /// Wrap the content key with RSA-OAEP (SHA-256 unless --oaep-hash says
    /// otherwise) instead of PKCS#1 v1.5.
    #[arg(long)]
    pub oaep: bool,
    /// Hash for RSA-OAEP and its MGF1 (implies --oaep).
    #[arg(long, value_enum, value_name = "HASH")]
    pub oaep_hash: Option<HashArg>,
    /// Name recipients by subject key identifier instead of issuer and serial.
    #[arg(long)]
    pub keyid: bool,
    /// Encrypt to certificates whose keyUsage lacks keyEncipherment.
    #[arg(long)]
    pub allow_any_key_usage: bool,
    /// Form of the input: `smime` (a mail message, default) or `binary`
    /// (bytes as they are).
    #[arg(long, value_enum, default_value = "smime")]
    pub inform: ContentForm,
    /// Form of the message written: `smime` (mail, default), `der` or `pem`.
    #[arg(long, value_enum, default_value = "smime")]
    pub outform: MessageForm,
    /// Content to encrypt (default: standard input, streamed with indefinite
    /// lengths; a file gives definite-length DER).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where to write the message (default: standard output). Written to a
    /// temporary file first and renamed on success.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report what was done on standard error.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// `smime decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Private key (PEM or DER, PKCS#8 or PKCS#1 RSA), a key on a PKCS#11
    /// token (an RFC 7512 `pkcs11:` URI; one naming only a token, such as
    /// `pkcs11:token=NAME`, gives every key there that has a certificate),
    /// or a key directory (`smime keys import --to-dir`: every key in it);
    /// repeat for a key history (older keys after a renewal).
    #[arg(long = "key", short = 'k', value_name = "KEY", required = true)]
    pub keys: Vec<PathBuf>,
    /// Certificate of one of the keys (PEM or DER): lets the key be matched
    /// to its recipient info instead of tried on every one.
    #[arg(long = "cert", short = 'c', value_name = "CERT")]
    pub certs: Vec<PathBuf>,
    /// Form of the message (default: detected: DER starts with a SEQUENCE,
    /// PEM with `-----BEGIN`, anything else is a mail message).
    #[arg(long, value_enum)]
    pub inform: Option<MessageForm>,
    /// For encrypted key files (a key directory made by `smime keys import
    /// --to-dir`): `file:FILE` or `env:VAR`; else asked for.
    #[arg(long, value_name = "SRC")]
    pub password_source: Option<String>,
    /// Form of the decrypted content; the content is written as it is.
    #[arg(long, value_enum, default_value = "binary")]
    pub outform: DecryptedForm,
    /// Message to decrypt (default: standard input).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where to write the content (default: standard output). Written to a
    /// temporary file first and renamed only if decryption succeeded.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report what was done on standard error.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// Digest algorithm for signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DigestArg {
    /// SHA-256 (default).
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl From<DigestArg> for HashAlgorithm {
    fn from(h: DigestArg) -> Self {
        match h {
            DigestArg::Sha256 => HashAlgorithm::Sha256,
            DigestArg::Sha384 => HashAlgorithm::Sha384,
            DigestArg::Sha512 => HashAlgorithm::Sha512,
        }
    }
}

/// `smime sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signer's private key, PEM or DER: RSA (PKCS#8 or PKCS#1), EC
    /// P-256/P-384 or Ed25519 (PKCS#8); or a key on a PKCS#11 token, named by
    /// an RFC 7512 URI (`pkcs11:token=...;object=...?pin-source=FILE`).
    #[arg(long = "key", short = 'k', value_name = "KEY")]
    pub key: PathBuf,
    /// The signer's certificate (PEM or DER); for a token key, taken from the
    /// token when left out.
    #[arg(long = "cert", short = 'c', value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Further certificates to include (intermediate CAs); repeat or give a
    /// PEM bundle.
    #[arg(long = "chain", value_name = "CERT")]
    pub chain: Vec<PathBuf>,
    /// Leave the content out of the message (detached signature, as in
    /// multipart/signed).
    #[arg(long)]
    pub detached: bool,
    /// Digest algorithm (Ed25519 always uses SHA-512 for the attributes).
    #[arg(long, value_enum, default_value = "sha256")]
    pub digest: DigestArg,
    /// Sign with RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    #[arg(long)]
    pub pss: bool,
    /// Name the signer by subject key identifier instead of issuer and serial.
    #[arg(long)]
    pub keyid: bool,
    /// Sign without signed attributes (no signing time, no capabilities).
    #[arg(long)]
    pub no_attributes: bool,
    /// With mail output: an opaque `application/pkcs7-mime; smime-type=signed-data`
    /// message instead of a clear-signed multipart/signed one.
    #[arg(long)]
    pub opaque: bool,
    /// Then encrypt the signed message to this certificate (PEM or DER), in
    /// the same pass; repeat for several recipients.
    #[arg(long = "encrypt-to", value_name = "CERT")]
    pub encrypt_to: Vec<PathBuf>,
    /// Content-encryption cipher for `--encrypt-to`.
    #[arg(long, value_enum, default_value = "aes256-cbc")]
    pub cipher: CipherArg,
    /// Form of the input: `smime` (a mail message, default) or `binary`
    /// (bytes as they are).
    #[arg(long, value_enum, default_value = "smime")]
    pub inform: ContentForm,
    /// Form of the message written: `smime` (mail, default), `der` or `pem`.
    #[arg(long, value_enum, default_value = "smime")]
    pub outform: MessageForm,
    /// Content to sign (default: standard input).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where to write the message (default: standard output). Written to a
    /// temporary file first and renamed on success.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report what was done on standard error.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// `smime verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trusted certificate (trust anchor): PEM (bundles too), DER or
    /// .p7b/.p7c; repeat for several.
    #[arg(long = "trust", value_name = "CERT")]
    pub trust: Vec<PathBuf>,
    /// Extra certificates to find signers and intermediate CAs in (PEM
    /// bundles too, DER, .p7b/.p7c); repeat for several.
    #[arg(long = "cert", value_name = "CERT")]
    pub certs: Vec<PathBuf>,
    /// CRL (PEM or DER) to check revocation with; repeat for several.
    #[arg(long = "crl", value_name = "FILE")]
    pub crls: Vec<PathBuf>,
    /// Check the signatures only, not the signer certificates' chains.
    #[arg(long)]
    pub no_chain_check: bool,
    /// The content of a detached signature.
    #[arg(long, value_name = "FILE")]
    pub content: Option<PathBuf>,
    /// Validate the certificates at this time (RFC 3339, e.g.
    /// 2030-01-01T00:00:00Z) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Require every signer's certificate to hold this e-mail address.
    #[arg(long, value_name = "ADDR")]
    pub email: Option<String>,
    /// For a mail message: report a From address that is not in the signer's
    /// certificate as a warning instead of a failure.
    #[arg(long)]
    pub ignore_from: bool,
    /// Form of the message (default: detected: DER starts with a SEQUENCE,
    /// PEM with `-----BEGIN`, anything else is a mail message).
    #[arg(long, value_enum)]
    pub inform: Option<MessageForm>,
    /// Form of the content written; the content is written as it is.
    #[arg(long, value_enum, default_value = "binary")]
    pub outform: DecryptedForm,
    /// Message to verify (default: standard input).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where to write the content (default: standard output). Written to a
    /// temporary file first and renamed only if verification succeeded.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print only failures (no report when everything is valid).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `smime certs ...`.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Print each certificate's subject, issuer, serial, validity, key
    /// usage, e-mail addresses and fingerprints.
    Show(CertsFileArgs),
    /// One line per certificate: `SHA256 <hex>  SHA1 <hex>  <subject>`.
    Fingerprint(CertsFileArgs),
    /// Write every certificate as a PEM file named after its subject.
    Extract(CertsExtractArgs),
    /// Put the certificates of one or more files into a certs-only
    /// SignedData (`.p7b`): sorted, each once.
    Bundle(CertsBundleArgs),
    /// Add the certificates of a signed mail's signer to a store, keyed by
    /// e-mail address (for `smime encrypt --to`). The signature must verify.
    Harvest(CertsHarvestArgs),
    /// Look up a partner's certificates in an LDAP directory (`(mail=ADDR)`):
    /// print those usable for S/MIME with their fingerprints, and add them
    /// to a store with --store.
    Lookup(CertsLookupArgs),
    /// Add the certificates of files to a store: .cer/.crt (DER or PEM), PEM
    /// bundles, .p7b/.p7c certificates-only messages, signed messages.
    Import(CertsImportArgs),
    /// Show a store: per address, each certificate's validity and
    /// fingerprint, and which one `smime encrypt --to` would use.
    List(CertsListArgs),
}

/// `smime certs lookup`.
#[derive(Debug, Args)]
pub struct CertsLookupArgs {
    /// The partner's e-mail address.
    #[arg(value_name = "ADDR")]
    pub address: String,
    /// The directory: `ldap://HOST[:PORT]/BASE` (StartTLS when the server
    /// offers it) or `ldaps://HOST[:PORT]/BASE`.
    #[arg(long, value_name = "URL")]
    pub ldap: String,
    /// Add the certificates found to this store (for `smime encrypt --to`).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Give up on the directory after this many seconds (connecting and
    /// searching each).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
}

/// `smime certs import`.
#[derive(Debug, Args)]
pub struct CertsImportArgs {
    /// Files holding certificates.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The store directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
}

/// `smime certs list`.
#[derive(Debug, Args)]
pub struct CertsListArgs {
    /// The store directory.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
}

/// `smime keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Import a PKCS#12 file (.p12/.pfx; also legacy 3DES/RC2 ones): its
    /// private key and certificate chain onto a token (--to), or into a
    /// directory of encrypted software keys (--to-dir).
    Import(KeysImportArgs),
    /// Back up a software key and its certificates as PKCS#12 (PBES2 with
    /// AES-256-CBC and PBKDF2-SHA256, MAC HMAC-SHA256).
    Export(KeysExportArgs),
}

/// Where a password comes from.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// The password itself (visible to other users of the machine: prefer
    /// --password-source).
    #[arg(long, value_name = "P")]
    pub password: Option<String>,
    /// `file:FILE` (its first line) or `env:VAR`. Without this or
    /// --password, the password is asked for on the terminal.
    #[arg(long, value_name = "SRC", conflicts_with = "password")]
    pub password_source: Option<String>,
}

/// `smime keys import`.
#[derive(Debug, Args)]
pub struct KeysImportArgs {
    /// The PKCS#12 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The password of the file.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// The token: a `pkcs11:` URI (`pkcs11:token=NAME?pin-source=FILE`).
    #[arg(long, value_name = "URI", required_unless_present = "to_dir")]
    pub to: Option<String>,
    /// A key directory: the key is stored there encrypted (PKCS#8, PBES2
    /// AES-256-CBC, PBKDF2-SHA256) under the file's password, with its
    /// certificates.
    #[arg(long, value_name = "DIR", conflicts_with = "to")]
    pub to_dir: Option<PathBuf>,
}

/// `smime keys export`.
#[derive(Debug, Args)]
pub struct KeysExportArgs {
    /// The private key (PEM or DER PKCS#8, PKCS#1 RSA; an encrypted PKCS#8
    /// key is opened with the new password if it fits, else asked for).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Its certificate (PEM or DER); more certificates in the file, or in
    /// more --cert files, go in as the chain.
    #[arg(long, value_name = "CERT", required = true)]
    pub cert: Vec<PathBuf>,
    /// The PKCS#12 file to write.
    #[arg(long, value_name = "FILE")]
    pub p12: PathBuf,
    /// The password to protect the file with (asked for twice when not given).
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// `smime certs harvest`.
#[derive(Debug, Args)]
pub struct CertsHarvestArgs {
    /// A signed mail message (multipart/signed or pkcs7-mime signed-data),
    /// or a bare CMS signed message (DER or PEM).
    #[arg(value_name = "MAIL")]
    pub mail: PathBuf,
    /// The store directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
}

/// `smime certs bundle`.
#[derive(Debug, Args)]
pub struct CertsBundleArgs {
    /// Files holding certificates (certificates, PEM bundles, .p7b, signed messages).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Output form: `der`, `pem` (`-----BEGIN PKCS7-----`) or `smime` (an
    /// `application/pkcs7-mime; smime-type=certs-only` entity).
    #[arg(long, value_enum, default_value_t = MessageForm::Der)]
    pub outform: MessageForm,
    /// Output file (default: standard output); written to a temporary file
    /// and renamed on success.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A file holding certificates.
#[derive(Debug, Args)]
pub struct CertsFileArgs {
    /// A certificate (PEM, also bundles, or DER), a .p7b/.p7c
    /// certificates-only message or a signed message (DER or PEM).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `smime certs extract`.
#[derive(Debug, Args)]
pub struct CertsExtractArgs {
    /// A certificate (PEM, also bundles, or DER), a .p7b/.p7c
    /// certificates-only message or a signed message (DER or PEM).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Directory to write the PEM files to (default: the current one).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,
}

/// `smime tokens`.
#[derive(Debug, Args)]
pub struct TokensArgs {
    /// The PKCS#11 module (default: $SMIME_PKCS11_MODULE, else SoftHSM or
    /// OpenSC where installed).
    #[arg(long, value_name = "PATH")]
    pub module: Option<PathBuf>,
    /// Log in with this PIN to list private objects too (keys are private on
    /// most tokens); prefer --pin-source.
    #[arg(long, value_name = "PIN")]
    pub pin: Option<String>,
    /// Read the PIN from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "pin")]
    pub pin_source: Option<PathBuf>,
}

/// `smime cards`.
#[derive(Debug, Args)]
pub struct CardsArgs {
    /// Only readers whose name contains this.
    #[arg(long, value_name = "SUBSTR", default_value = "")]
    pub reader: String,
    /// The card's profile (auto: the OpenPGP application when present, else
    /// ISO 7816-8).
    #[arg(long, value_name = "PROFILE", default_value = "auto")]
    pub profile: String,
    /// The ISO 7816-8 application to select (hex).
    #[arg(long, value_name = "HEX")]
    pub aid: Option<String>,
}

/// `smime demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The message to encrypt.
    #[arg(
        long,
        default_value = "Hello Bob, this message is for you and for me. -- Alice"
    )]
    pub message: String,
}
