//! Input and output for the subcommands: chunked reading, and output that
//! only appears under its final name once it is complete.
//!
//! [`Output::open`] with a path writes to a temporary file in the same
//! directory; [`Output::commit`] renames it over the path. Dropping an
//! `Output` that was not committed removes the temporary file, so a failed
//! decryption never leaves a file behind that looks complete. A path that
//! names a device or a pipe (`/dev/null`, a FIFO) is written directly and
//! never replaced. Standard output
//! is buffered (64 KiB) and the buffer is thrown away on failure, so a small
//! message that fails to decrypt writes nothing; but what was already written
//! cannot be taken back: standard output is valid only if the tool exits with
//! status 0.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::progress::Progress;

/// Size of the chunks the tool reads its input in.
pub const CHUNK: usize = 64 * 1024;

/// Where the tool's input comes from, with a progress bar for large inputs
/// on a terminal (see [`crate::progress`]).
#[derive(Debug)]
pub struct Input {
    source: Source,
    progress: Option<Progress>,
}

/// The input's source.
#[derive(Debug)]
enum Source {
    /// Standard input.
    Stdin(io::Stdin),
    /// A file.
    File {
        /// The open file.
        file: File,
        /// Its path, for messages.
        path: PathBuf,
    },
}

impl Input {
    /// Opens `path`, or standard input when `None`.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        let source = match path {
            None => Source::Stdin(io::stdin()),
            Some(p) => {
                let file =
                    File::open(p).with_context(|| format!("cannot open '{}'", p.display()))?;
                Source::File {
                    file,
                    path: p.to_path_buf(),
                }
            }
        };
        Ok(Self {
            source,
            progress: None,
        })
    }

    /// Shows a progress bar labelled `what` while the input is read, when
    /// standard error is a terminal and the input is large.
    pub fn with_progress(mut self, what: &str) -> Self {
        let total = self.known_len().ok().flatten();
        self.progress = Some(Progress::new(what, total));
        self
    }

    fn advance(&self, n: usize) {
        if let Some(p) = &self.progress {
            p.inc(n as u64);
        }
    }

    /// The input's size when it is a regular file (known up front).
    pub fn known_len(&self) -> Result<Option<u64>> {
        match &self.source {
            Source::Stdin(_) => Ok(None),
            Source::File { file, path } => {
                let meta = file
                    .metadata()
                    .with_context(|| format!("'{}'", path.display()))?;
                Ok(meta.is_file().then_some(meta.len()))
            }
        }
    }

    /// A name for messages.
    pub fn name(&self) -> String {
        match &self.source {
            Source::Stdin(_) => "standard input".to_owned(),
            Source::File { path, .. } => format!("'{}'", path.display()),
        }
    }

    /// Reads what is there into `buf` (at least one byte unless the input
    /// is at its end, which gives 0).
    pub fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            let r = match &mut self.source {
                Source::Stdin(s) => s.lock().read(buf),
                Source::File { file, .. } => file.read(buf),
            };
            match r {
                Ok(n) => {
                    self.advance(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::msg(format_args!("reading {}: {e}", self.name())));
                }
            }
        }
    }

    /// Reads the whole input in [`CHUNK`]-sized pieces, handing each to `f`.
    /// Errors from `f` are passed on as they are; read errors get context.
    pub fn for_each_chunk<E: From<Error>>(
        &mut self,
        mut f: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let r = match &mut self.source {
                Source::Stdin(s) => s.lock().read(&mut buf),
                Source::File { file, .. } => file.read(&mut buf),
            };
            match r {
                Ok(0) => {
                    if let Some(p) = &self.progress {
                        p.finish();
                    }
                    return Ok(());
                }
                Ok(n) => {
                    self.advance(n);
                    f(&buf[..n])?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::msg(format_args!("reading {}: {e}", self.name())).into());
                }
            }
        }
    }
}

/// Where the tool's output goes (see the module documentation).
#[derive(Debug)]
pub struct Output {
    /// `None` once committed.
    target: Option<Target>,
    /// The first write error, kept so that the core's error (which only has
    /// an error kind) can be reported with the real cause.
    error: Option<String>,
}

#[derive(Debug)]
enum Target {
    Stdout(BufWriter<io::Stdout>),
    /// A device, pipe or socket given by name (`/dev/null`, a FIFO): written
    /// directly, never replaced.
    Special {
        file: BufWriter<File>,
        path: PathBuf,
    },
    File {
        tmp: BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
    },
}

impl Output {
    /// Output to `path` (through a temporary file when it is, or will be,
    /// a regular file; directly to a device or pipe), or standard output.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        let special = path
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| !m.is_file() && !m.is_dir());
        let target = match path {
            None => Target::Stdout(BufWriter::with_capacity(CHUNK, io::stdout())),
            Some(p) if special => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .with_context(|| format!("cannot open '{}'", p.display()))?;
                Target::Special {
                    file: BufWriter::with_capacity(CHUNK, file),
                    path: p.to_path_buf(),
                }
            }
            Some(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let tmp = tempfile::Builder::new()
                    .prefix(".smime-")
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .with_context(|| {
                        format!("cannot create a temporary file in '{}'", dir.display())
                    })?;
                Target::File {
                    tmp: BufWriter::with_capacity(CHUNK, tmp),
                    path: p.to_path_buf(),
                }
            }
        };
        Ok(Self {
            target: Some(target),
            error: None,
        })
    }

    /// The first write error seen, if any.
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }

    /// Makes the output final: flushes it, and for a file renames the
    /// temporary file to its name.
    pub fn commit(mut self) -> Result<()> {
        match self.target.take() {
            None => Ok(()),
            Some(Target::Stdout(mut w)) => w.flush().context("writing standard output"),
            Some(Target::Special { mut file, path }) => file
                .flush()
                .with_context(|| format!("writing '{}'", path.display())),
            Some(Target::File { tmp, path }) => {
                let tmp = tmp.into_inner().map_err(|e| {
                    Error::msg(format_args!("writing '{}': {}", path.display(), e.error()))
                })?;
                tmp.as_file()
                    .sync_all()
                    .with_context(|| format!("writing '{}'", path.display()))?;
                tmp.persist(&path).map_err(|e| {
                    Error::msg(format_args!(
                        "cannot write '{}': {}",
                        path.display(),
                        e.error
                    ))
                })?;
                Ok(())
            }
        }
    }

    /// Turns a failure of a pipeline writing here into the tool's error,
    /// with the real cause of an output failure when there was one (the core
    /// only passes on the kind of an I/O error).
    pub fn failure(&mut self, f: Failure) -> Error {
        match f {
            Failure::Core(e) => match (e.kind(), self.take_error()) {
                (smime_core::ErrorKind::Io(_), Some(cause)) => Error::msg(cause),
                _ => Error::from(e),
            },
            Failure::Tool(e) => self.take_error().map_or(e, Error::msg),
        }
    }

    fn describe(&self) -> String {
        match &self.target {
            Some(Target::File { path, .. } | Target::Special { path, .. }) => {
                format!("'{}'", path.display())
            }
            _ => "standard output".to_owned(),
        }
    }

    fn target(&mut self) -> io::Result<&mut Target> {
        self.target
            .as_mut()
            .ok_or_else(|| io::Error::other("output already committed"))
    }
}

impl Write for Output {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let r = match self.target()? {
            Target::Stdout(w) => w.write(data),
            Target::Special { file, .. } => file.write(data),
            Target::File { tmp, .. } => tmp.write(data),
        };
        if let Err(e) = &r
            && self.error.is_none()
        {
            self.error = Some(format!("writing {}: {e}", self.describe()));
        }
        r
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match self.target()? {
            Target::Stdout(w) => w.flush(),
            Target::Special { file, .. } => file.flush(),
            Target::File { tmp, .. } => tmp.flush(),
        };
        if let Err(e) = &r
            && self.error.is_none()
        {
            self.error = Some(format!("writing {}: {e}", self.describe()));
        }
        r
    }
}

impl Drop for Output {
    /// Not committed: what is still buffered is thrown away, not written (a
    /// failed decryption's last plaintext never reaches standard output), and
    /// the temporary file is removed.
    fn drop(&mut self) {
        match self.target.take() {
            None => {}
            Some(Target::Stdout(w)) => drop(w.into_parts()),
            Some(Target::Special { file, .. }) => drop(file.into_parts()),
            Some(Target::File { tmp, .. }) => drop(tmp.into_parts()),
        }
    }
}

/// Why a streaming pipeline stopped: an error of the core (whose I/O errors
/// only carry a kind) or one of the tool.
#[derive(Debug)]
pub enum Failure {
    /// From the core.
    Core(smime_core::Error),
    /// From the tool (reading input, PEM).
    Tool(Error),
}

impl From<smime_core::Error> for Failure {
    fn from(e: smime_core::Error) -> Self {
        Self::Core(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Tool(e)
    }
}

/// Reads a small file (certificate, key) whole.
pub fn read_small_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    const MAX: u64 = 1 << 20;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {what} '{}'", path.display()))?;
    if meta.is_file() && meta.len() > MAX {
        return Err(Error::msg(format_args!(
            "{what} '{}' is too large ({} bytes)",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).with_context(|| format!("cannot read {what} '{}'", path.display()))
}
