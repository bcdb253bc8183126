//! The whole S/MIME mail pipeline, ours against OpenSSL, in the same run.
//!
//! For each size (default 1 MiB, 64 MiB and 1 GiB of pseudo-random payload)
//! this writes an RFC 5322 mail whose body is that payload in base64 (76
//! columns, CRLF), then runs, as subprocesses:
//!
//! * ours, sign+encrypt: `smime sign --encrypt-to` (one streaming pass);
//! * ours, decrypt+verify: `smime decrypt | smime verify` (a pipe);
//! * OpenSSL, sign+encrypt: `openssl cms -sign -binary -stream |
//!   openssl cms -encrypt -binary -stream -aes256`;
//! * OpenSSL, decrypt+verify: `openssl cms -decrypt -binary |
//!   openssl cms -verify -binary`.
//!
//! Every round trip is checked: the base64 body of the output must decode to
//! the payload (same length, same SHA-256), else the run fails. Wall time is
//! that of the whole pipeline; peak RSS is each process's `ru_maxrss`,
//! collected with `wait4`. It builds nothing: it runs the release `smime`
//! binary (`SMIME_BIN`, default `target/release/smime`).
//!
//! Usage: `mail-pipeline [--runs N] [SIZE...]`, sizes like `1M 64M 1G`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use smime_benches::{Fixture, data};

type Res<T> = Result<T, String>;

const MIB: u64 = 1 << 20;
/// Our peak RSS counts as flat if the largest size is within this of the smallest.
const FLAT_SLACK: u64 = 4 * MIB;

const USAGE: &str = "\
usage: mail-pipeline [--runs N] [SIZE...]

  SIZE    payload size: a number with an optional K, M or G suffix (binary
          units), e.g. 1M 64M 1G (the default: all three)
  --runs  runs per size; the best wall time is kept and the highest peak RSS
          (default: 3 below 1 GiB, 1 from 1 GiB)

environment:
  SMIME_BIN          the smime binary (default: <workspace>/target/release/smime)
  MAIL_PIPELINE_DIR  where to write the mails (default: the temporary directory,
                     or <workspace>/target if that is a tmpfs)";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mail-pipeline: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Res<()> {
    let opts = parse_args(std::env::args().skip(1))?;
    let smime = smime_bin()?;
    let openssl_version = tool_version(Command::new("openssl").arg("version"))
        .map_err(|e| format!("openssl is needed: {e}"))?;
    let smime_version = tool_version(Command::new(&smime).arg("--version"))?;
    check_generator()?;

    let base = work_base()?;
    let work = tempfile::Builder::new()
        .prefix("mail-pipeline-")
        .tempdir_in(&base)
        .map_err(|e| format!("temporary directory in {}: {e}", base.display()))?;
    let signer = Fixture::new("digitalSignature");
    let recipient = Fixture::new("keyEncipherment");
    let keys = Keys {
        signer_key: signer.path("key.pem"),
        signer_cert: signer.path("cert.pem"),
        recip_key: recipient.path("key.pem"),
        recip_cert: recipient.path("cert.pem"),
    };

    let floor = run_pipeline(
        vec![("true".into(), Command::new("true"))],
        work.path(),
        None,
    )?;
    println!(
        "mail pipeline: ours ({smime_version}, {}) against {openssl_version}",
        smime.display()
    );
    println!("work directory: {}", work.path().display());
    println!(
        "RSS floor: a trivial child (`true`) measures {} peak RSS",
        mib(floor.procs.first().map_or(0, |p| p.1)),
    );
    println!(
        "OpenSSL gets -binary on every step: the input is already a canonical MIME entity \
         with CRLF lines, so both tools sign the same bytes unchanged."
    );
    println!();

    let mut rows = Vec::new();
    for &size in &opts.sizes {
        let runs = opts.runs.unwrap_or(if size >= 1 << 30 { 1 } else { 3 });
        rows.extend(bench_size(&smime, &keys, work.path(), size, runs)?);
    }

    print_table(&rows);
    print_flatness(&rows);
    Ok(())
}

// ---------------------------------------------------------------------------
// Arguments and set-up

struct Opts {
    sizes: Vec<u64>,
    runs: Option<usize>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Res<Opts> {
    let mut sizes = Vec::new();
    let mut runs = None;
    let mut args = args;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--runs" => {
                let n = args.next().ok_or("--runs needs a number")?;
                runs = Some(parse_runs(&n)?);
            }
            _ if a.starts_with("--runs=") => runs = Some(parse_runs(&a["--runs=".len()..])?),
            _ if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}")),
            _ => sizes.push(parse_size(&a)?),
        }
    }
    if sizes.is_empty() {
        sizes = vec![MIB, 64 * MIB, 1024 * MIB];
    }
    Ok(Opts { sizes, runs })
}

fn parse_runs(s: &str) -> Res<usize> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("--runs: not a positive number: {s}")),
    }
}

fn parse_size(s: &str) -> Res<u64> {
    let t = s
        .trim()
        .trim_end_matches(['B', 'b'])
        .trim_end_matches(['i', 'I']);
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1 << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], MIB),
        Some('g' | 'G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("not a size: {s} (e.g. 1M, 64M, 1G)\n{USAGE}")),
    }
}

fn smime_bin() -> Res<PathBuf> {
    let path = match std::env::var_os("SMIME_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/smime"),
    };
    if !path.is_file() {
        return Err(format!(
            "the smime binary is missing: {}\nbuild it first: cargo build --release -p smime-cli \
             (or point SMIME_BIN at one)",
            path.display()
        ));
    }
    Ok(path)
}

fn tool_version(cmd: &mut Command) -> Res<String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?}: {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The mail's payload generator must be the sequence of `smime_benches::data`.
fn check_generator() -> Res<()> {
    let mut g = XorShift::new();
    let mut buf = vec![0; 4096];
    g.fill(&mut buf);
    if buf == data(4096) {
        Ok(())
    } else {
        Err("payload generator differs from data()".into())
    }
}

/// The temporary directory unless it is in memory, else `target/`.
fn work_base() -> Res<PathBuf> {
    if let Some(d) = std::env::var_os("MAIL_PIPELINE_DIR") {
        return Ok(PathBuf::from(d));
    }
    let tmp = std::env::temp_dir();
    if in_memory_fs(&tmp) {
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
        eprintln!(
            "{} is a tmpfs: writing the mails under {}",
            tmp.display(),
            target.display()
        );
        return Ok(target);
    }
    Ok(tmp)
}

/// Whether `dir` is on a tmpfs/ramfs (by the longest mount point in /proc/self/mounts).
fn in_memory_fs(dir: &Path) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let _dev = f.next()?;
            Some((f.next()?, f.next()?))
        })
        .filter(|(mp, _)| dir.starts_with(mp))
        .max_by_key(|(mp, _)| mp.len())
        .is_some_and(|(_, fs)| fs == "tmpfs" || fs == "ramfs")
}

// ---------------------------------------------------------------------------
// The mail

/// xorshift32, one byte a step: the same sequence as `smime_benches::data`,
/// without holding it all in memory.
struct XorShift(u32);

impl XorShift {
    fn new() -> Self {
        XorShift(0x1234_5678)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        let mut x = self.0;
        for b in buf {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x.to_le_bytes()[0];
        }
        self.0 = x;
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 of `bin` as 76-column CRLF lines (`bin` a multiple of 57 bytes
/// except for the last chunk).
fn base64_lines(bin: &[u8], out: &mut Vec<u8>) {
    for line in bin.chunks(57) {
        for g in line.chunks(3) {
            let b = [
                g[0],
                g.get(1).copied().unwrap_or(0),
                g.get(2).copied().unwrap_or(0),
            ];
            let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
            let c = |shift: u32| B64[usize::from(((n >> shift) & 63).to_le_bytes()[0])];
            out.extend_from_slice(&[
                c(18),
                c(12),
                if g.len() > 1 { c(6) } else { b'=' },
                if g.len() > 2 { c(0) } else { b'=' },
            ]);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes the mail; returns its length and the payload's SHA-256.
fn write_mail(path: &Path, size: u64) -> Res<(u64, [u8; 32])> {
    let err = |e: std::io::Error| format!("writing {}: {e}", path.display());
    let file = File::create(path).map_err(err)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let header = format!(
        "From: Alice <alice@example.com>\r\n\
         To: Bob <bob@example.com>\r\n\
         Subject: mail pipeline benchmark, {size} bytes\r\n\
         Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n\
         Message-ID: <mail-pipeline-{size}@example.com>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n"
    );
    w.write_all(header.as_bytes()).map_err(err)?;
    let mut gen_ = XorShift::new();
    let mut hash = Sha256::new();
    let mut bin = vec![0u8; 57 * 8192];
    let mut text = Vec::with_capacity(78 * 8192);
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(bin.len() as u64)).map_err(|e| e.to_string())?;
        let chunk = &mut bin[..n];
        gen_.fill(chunk);
        hash.update(&*chunk);
        text.clear();
        base64_lines(chunk, &mut text);
        w.write_all(&text).map_err(err)?;
        left -= n as u64;
    }
    w.flush().map_err(err)?;
    drop(w);
    let len = std::fs::metadata(path).map_err(err)?.len();
    Ok((len, hash.finalize().into()))
}

/// Checks that the mail at `path` has a base64 body decoding to `len` bytes
/// with SHA-256 `sha`.
fn check_roundtrip(path: &Path, len: u64, sha: &[u8; 32], who: &str) -> Res<()> {
    let fail = |what: String| format!("{who}: round trip is WRONG ({}): {what}", path.display());
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    // Header fields, up to the empty line.
    let mut line = Vec::new();
    let mut octet_stream = false;
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            return Err(fail("no body".into()));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let l = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if l.starts_with("content-type:") && l.contains("application/octet-stream") {
            octet_stream = true;
        }
    }
    if !octet_stream {
        return Err(fail("no Content-Type: application/octet-stream".into()));
    }
    // The body: base64 to the end.
    let mut dec = Base64Decoder::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(e.to_string())),
        };
        dec.update(&buf[..n]).map_err(fail)?;
    }
    let (got_len, got_sha) = dec.finish().map_err(fail)?;
    if got_len != len {
        return Err(fail(format!("body decodes to {got_len} bytes, not {len}")));
    }
    if &got_sha != sha {
        return Err(fail("the body's SHA-256 differs from the payload's".into()));
    }
    Ok(())
}

#[derive(Default)]
struct Base64Decoder {
    quad: [u8; 4],
    have: usize,
    pad: usize,
    len: u64,
    out: Vec<u8>,
    hash: Sha256,
}

impl Base64Decoder {
    fn update(&mut self, text: &[u8]) -> Result<(), String> {
        self.out.clear();
        for &c in text {
            let v = match c {
                b'\r' | b'\n' => continue,
                b'=' => {
                    self.pad += 1;
                    0
                }
                _ if self.pad > 0 => return Err("base64 text after padding".into()),
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return Err(format!("not base64: byte {c:#04x}")),
            };
            self.quad[self.have] = v;
            self.have += 1;
            if self.have == 4 {
                let q = self.quad;
                let bytes = [
                    q[0] << 2 | q[1] >> 4,
                    q[1] << 4 | q[2] >> 2,
                    q[2] << 6 | q[3],
                ];
                if self.pad > 2 {
                    return Err("bad base64 padding".into());
                }
                self.out.extend_from_slice(&bytes[..3 - self.pad]);
                self.have = 0;
            }
        }
        self.hash.update(&self.out);
        self.len += self.out.len() as u64;
        Ok(())
    }

    fn finish(self) -> Result<(u64, [u8; 32]), String> {
        if self.have != 0 {
            return Err("base64 body ends mid-group".into());
        }
        Ok((self.len, self.hash.finalize().into()))
    }
}

// ---------------------------------------------------------------------------
// Running and measuring

struct Keys {
    signer_key: PathBuf,
    signer_cert: PathBuf,
    recip_key: PathBuf,
    recip_cert: PathBuf,
}

/// One timed pipeline: its wall time and each process's peak RSS (bytes).
struct Measured {
    wall: Duration,
    procs: Vec<(String, u64)>,
}

/// Runs `stages` as a pipe (each one's stdout into the next one's stdin; the
/// first reads nothing, the last's stdout is discarded) and waits for all of
/// them. Fails, with each failing command and its standard error, unless every
/// process succeeds.
fn run_pipeline(stages: Vec<(String, Command)>, dir: &Path, out: Option<&Path>) -> Res<Measured> {
    let count = stages.len();
    let mut children: Vec<(String, String, PathBuf, Child)> = Vec::with_capacity(count);
    let start = Instant::now();
    let mut prev: Option<ChildStdout> = None;
    for (i, (name, mut cmd)) in stages.into_iter().enumerate() {
        let err_path = dir.join(format!("stderr-{i}.txt"));
        let err_file =
            File::create(&err_path).map_err(|e| format!("{}: {e}", err_path.display()))?;
        cmd.stdin(prev.take().map_or_else(Stdio::null, Stdio::from));
        cmd.stdout(if i + 1 < count {
            Stdio::piped()
        } else if let Some(path) = out {
            Stdio::from(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
        } else {
            Stdio::null()
        });
        cmd.stderr(err_file);
        let shown = format!("{cmd:?}");
        let spawned = cmd.spawn();
        drop(cmd); // closes our copy of the pipe's read end
        match spawned {
            Ok(mut child) => {
                prev = child.stdout.take();
                children.push((name, shown, err_path, child));
            }
            Err(e) => {
                for (_, _, _, mut c) in children {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(format!("cannot run {shown}: {e}"));
            }
        }
    }
    drop(prev);
    let mut results = Vec::with_capacity(count);
    for (name, shown, err_path, child) in children {
        let (status, rss) = wait_rusage(child.id())?;
        drop(child); // already reaped by wait4
        results.push((name, shown, err_path, status, rss));
    }
    let wall = start.elapsed();

    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.3.success())
        .map(|(_, shown, err_path, status, _)| {
            let stderr = std::fs::read_to_string(err_path).unwrap_or_default();
            format!("  {shown}\n    {status}\n    stderr: {}", stderr.trim())
        })
        .collect();
    if !failures.is_empty() {
        return Err(format!("pipeline failed:\n{}", failures.join("\n")));
    }
    Ok(Measured {
        wall,
        procs: results.into_iter().map(|r| (r.0, r.4)).collect(),
    })
}

/// Reaps child `pid` with `wait4`: its exit status and peak RSS in bytes.
#[allow(unsafe_code)]
fn wait_rusage(pid: u32) -> Res<(ExitStatus, u64)> {
    let pid = libc::pid_t::try_from(pid).map_err(|e| e.to_string())?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a C struct of integers, for which all zeroes is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals; `pid` is our own child,
        // which nothing else waits for.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != ErrorKind::Interrupted {
            return Err(format!("wait4({pid}): {e}"));
        }
    }
    let kib = u64::try_from(ru.ru_maxrss).unwrap_or(0);
    Ok((ExitStatus::from_raw(status), kib * 1024))
}

fn cmd(program: impl AsRef<std::ffi::OsStr>, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Command {
    let mut c = Command::new(program);
    for a in args {
        c.arg(a);
    }
    c
}

/// Best wall time and highest peak RSS per process over the runs of one step.
#[derive(Default)]
struct Acc {
    best: Option<Duration>,
    procs: Vec<(String, u64)>,
}

impl Acc {
    fn add(&mut self, m: &Measured) {
        self.best = Some(self.best.map_or(m.wall, |b| b.min(m.wall)));
        for (name, rss) in &m.procs {
            match self.procs.iter_mut().find(|p| &p.0 == name) {
                Some(p) => p.1 = p.1.max(*rss),
                None => self.procs.push((name.clone(), *rss)),
            }
        }
    }
    fn peak(&self) -> u64 {
        self.procs.iter().map(|p| p.1).max().unwrap_or(0)
    }
}

struct Row {
    size: u64,
    mail_len: u64,
    step: &'static str,
    ours: Acc,
    openssl: Acc,
}

fn bench_size(smime: &Path, k: &Keys, dir: &Path, size: u64, runs: usize) -> Res<Vec<Row>> {
    let label = size_label(size);
    let mail = dir.join("mail.eml");
    let out = dir.join("out.eml");
    let plain = dir.join("plain.eml");
    let t = Instant::now();
    let (mail_len, sha) = write_mail(&mail, size)?;
    eprintln!(
        "[{label}] wrote the mail: {} ({:.1} s); {runs} run(s)",
        mib(mail_len),
        t.elapsed().as_secs_f64()
    );

    let ours_enc = || {
        let c = cmd(
            smime,
            &[
                &"sign",
                &"--key",
                &k.signer_key,
                &"--cert",
                &k.signer_cert,
                &"--encrypt-to",
                &k.recip_cert,
                &"--in",
                &mail,
            ],
        );
        vec![("smime sign --encrypt-to".to_owned(), c)]
    };
    let ours_dec = || {
        let d = cmd(
            smime,
            &[
                &"decrypt",
                &"--key",
                &k.recip_key,
                &"--cert",
                &k.recip_cert,
                &"--in",
                &out,
            ],
        );
        let v = cmd(
            smime,
            &[
                &"verify",
                &"--trust",
                &k.signer_cert,
                &"--ignore-from",
                &"--quiet",
            ],
        );
        vec![
            ("smime decrypt".to_owned(), d),
            ("smime verify".to_owned(), v),
        ]
    };
    let ossl_enc = || {
        let s = cmd(
            "openssl",
            &[
                &"cms",
                &"-sign",
                &"-binary",
                &"-stream",
                &"-signer",
                &k.signer_cert,
                &"-inkey",
                &k.signer_key,
                &"-in",
                &mail,
            ],
        );
        let e = cmd(
            "openssl",
            &[
                &"cms",
                &"-encrypt",
                &"-binary",
                &"-stream",
                &"-aes256",
                &"-out",
                &out,
                &k.recip_cert,
            ],
        );
        vec![
            ("openssl cms -sign".to_owned(), s),
            ("openssl cms -encrypt".to_owned(), e),
        ]
    };
    let ossl_dec = || {
        let d = cmd(
            "openssl",
            &[
                &"cms",
                &"-decrypt",
                &"-binary",
                &"-inkey",
                &k.recip_key,
                &"-recip",
                &k.recip_cert,
                &"-in",
                &out,
            ],
        );
        let v = cmd(
            "openssl",
            &[
                &"cms",
                &"-verify",
                &"-binary",
                &"-CAfile",
                &k.signer_cert,
                &"-out",
                &plain,
            ],
        );
        vec![
            ("openssl cms -decrypt".to_owned(), d),
            ("openssl cms -verify".to_owned(), v),
        ]
    };

    let mut enc = Row {
        size,
        mail_len,
        step: "sign+encrypt",
        ours: Acc::default(),
        openssl: Acc::default(),
    };
    let mut dec = Row {
        size,
        mail_len,
        step: "decrypt+verify",
        ours: Acc::default(),
        openssl: Acc::default(),
    };
    let secs = |m: &Measured| m.wall.as_secs_f64();
    for run in 1..=runs {
        for ours in [true, false] {
            let who = if ours { "ours" } else { "OpenSSL" };
            let (e, d) = if ours {
                (ours_enc(), ours_dec())
            } else {
                (ossl_enc(), ossl_dec())
            };
            // Ours writes to standard output, redirected to the file, as
            // `openssl -out` does: with `--out`, smime also syncs the file to
            // disk before renaming it, which OpenSSL does not do.
            let (o1, o2) = if ours {
                (Some(out.as_path()), Some(plain.as_path()))
            } else {
                (None, None)
            };
            let m1 = run_pipeline(e, dir, o1)
                .map_err(|e| format!("[{label}] {who} sign+encrypt: {e}"))?;
            let m2 = run_pipeline(d, dir, o2)
                .map_err(|e| format!("[{label}] {who} decrypt+verify: {e}"))?;
            check_roundtrip(&plain, size, &sha, who)?;
            let _ = std::fs::remove_file(&out);
            let _ = std::fs::remove_file(&plain);
            eprintln!(
                "[{label}] run {run}/{runs} {who:7}: sign+encrypt {:.3} s, decrypt+verify {:.3} s, round trip OK",
                secs(&m1),
                secs(&m2)
            );
            let (e_acc, d_acc) = if ours {
                (&mut enc.ours, &mut dec.ours)
            } else {
                (&mut enc.openssl, &mut dec.openssl)
            };
            e_acc.add(&m1);
            d_acc.add(&m2);
        }
    }
    let _ = std::fs::remove_file(&mail);
    Ok(vec![enc, dec])
}

// ---------------------------------------------------------------------------
// Report

fn size_label(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n >> 20)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

#[allow(clippy::cast_precision_loss)]
fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / MIB as f64)
}

#[allow(clippy::cast_precision_loss)]
fn mb_s(bytes: u64, d: Option<Duration>) -> Option<f64> {
    let s = d?.as_secs_f64();
    (s > 0.0).then(|| bytes as f64 / MIB as f64 / s)
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "MB/s = MiB of the input mail (payload in base64, ~1.35x) / wall seconds of the whole pipeline;"
    );
    println!(
        "best wall time of the runs; ratio = ours MB/s / OpenSSL MB/s (above 1: ours is faster);"
    );
    println!("peak RSS = highest ru_maxrss of the step's processes over the runs.");
    println!();
    println!(
        "{:>8} | {:>10} | {:<14} | {:>9} | {:>12} | {:>6} | {:>14} | {:>16}",
        "size",
        "mail",
        "step",
        "ours MB/s",
        "OpenSSL MB/s",
        "ratio",
        "ours peak RSS",
        "OpenSSL peak RSS"
    );
    println!("{}", "-".repeat(8 + 10 + 14 + 9 + 12 + 6 + 14 + 16 + 7 * 3));
    for r in rows {
        let ours = mb_s(r.mail_len, r.ours.best);
        let theirs = mb_s(r.mail_len, r.openssl.best);
        let ratio = match (ours, theirs) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
            _ => "-".into(),
        };
        let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        println!(
            "{:>8} | {:>10} | {:<14} | {:>9} | {:>12} | {:>6} | {:>14} | {:>16}",
            size_label(r.size),
            mib(r.mail_len),
            r.step,
            f(ours),
            f(theirs),
            ratio,
            mib(r.ours.peak()),
            mib(r.openssl.peak())
        );
    }
    println!();
    println!("peak RSS of each process:");
    for r in rows {
        for (who, acc) in [("ours", &r.ours), ("OpenSSL", &r.openssl)] {
            let each: Vec<String> = acc
                .procs
                .iter()
                .map(|(n, rss)| format!("{n}: {}", mib(*rss)))
                .collect();
            println!(
                "  {:>8} {:<14} {:<7} {}",
                size_label(r.size),
                r.step,
                who,
                each.join(", ")
            );
        }
    }
}

fn print_flatness(rows: &[Row]) {
    println!();
    for step in ["sign+encrypt", "decrypt+verify"] {
        let of_step: Vec<&Row> = rows.iter().filter(|r| r.step == step).collect();
        let (Some(small), Some(big)) = (
            of_step.iter().min_by_key(|r| r.size),
            of_step.iter().max_by_key(|r| r.size),
        ) else {
            continue;
        };
        if small.size == big.size {
            println!("ours {step}: one size only, nothing to compare the peak RSS with");
            continue;
        }
        let (a, b) = (small.ours.peak(), big.ours.peak());
        let delta = b.abs_diff(a);
        let verdict = if delta <= FLAT_SLACK {
            "FLAT"
        } else {
            "NOT flat"
        };
        println!(
            "ours {step}: peak RSS {} at {} vs {} at {}: {}{} -> {verdict} (slack {})",
            mib(b),
            size_label(big.size),
            mib(a),
            size_label(small.size),
            if b >= a { "+" } else { "-" },
            mib(delta),
            mib(FLAT_SLACK)
        );
    }
}
