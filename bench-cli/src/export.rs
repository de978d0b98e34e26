//! The files a run writes (`--output`, `--export-json`, `--export-csv`, `--export-markdown`),
//! each written atomically.
//!
//! Every file is opened before any work, so that one that cannot be written is refused at
//! once (exit code 2). A regular file is prepared as a temporary file in the same directory
//! (`tempfile`) and renamed over its path only when the report is complete: a rename within
//! one file system is atomic, so a reader, a crash or a signal sees the old file or the whole
//! new one, never an empty or a partial one. The temporaries are known to `interrupt.rs`, which
//! removes them if SIGINT or SIGTERM comes first.
//!
//! A path that is not a regular file (`/dev/null`, a FIFO) cannot be renamed over; it is
//! written in place, at the end.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::cli::Export;
use crate::format::Format;
use crate::interrupt;

/// A file opened for one report, before any work.
pub struct OutputFile {
    path: PathBuf,
    format: Format,
    target: Target,
}

enum Target {
    /// A regular file (or a new one): a temporary beside it, renamed at the end.
    Atomic(NamedTempFile),
    /// A device or a FIFO: written in place.
    InPlace(File),
}

impl OutputFile {
    /// Opens `export` for writing without touching an existing file; `flag` names the flag in
    /// the one-line reason if it cannot be written.
    pub fn open(export: &Export, flag: &str) -> Result<OutputFile, String> {
        let path = export.path.clone();
        let refuse = |why: String| format!("error: cannot write {flag} {}: {why}", path.display());
        let metadata = fs::metadata(&path).ok();
        let target = match &metadata {
            Some(meta) if meta.is_dir() => return Err(refuse("it is a directory".to_string())),
            Some(meta) if !meta.is_file() => OpenOptions::new()
                .write(true)
                .open(&path)
                .map(Target::InPlace)
                .map_err(|error| refuse(error.to_string()))?,
            Some(meta) if meta.permissions().readonly() => {
                return Err(refuse("it is read-only".to_string()));
            }
            _ => {
                let dir = match path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                let name = path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .ok_or_else(|| refuse("it names no file".to_string()))?;
                let temporary = tempfile::Builder::new()
                    .prefix(&format!(".{name}."))
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .map_err(|error| refuse(error.to_string()))?;
                interrupt::add_temporary(temporary.path());
                Target::Atomic(temporary)
            }
        };
        Ok(OutputFile {
            path,
            format: export.format,
            target,
        })
    }

    /// The report format this file gets.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Where it goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` and puts the file in place; the one-line reason if it fails (then the
    /// temporary is removed, and an existing file stays as it was). Also returns the temporary
    /// that is gone now, if there was one.
    fn finish(self, text: &str) -> (Result<(), String>, Option<PathBuf>) {
        let OutputFile { path, target, .. } = self;
        let fail =
            |error: std::io::Error| format!("error: cannot write {}: {error}", path.display());
        match target {
            Target::InPlace(mut file) => (
                file.write_all(text.as_bytes())
                    .and_then(|()| file.flush())
                    .map_err(fail),
                None,
            ),
            Target::Atomic(mut temporary) => {
                let temporary_path = temporary.path().to_path_buf();
                let written = temporary
                    .write_all(text.as_bytes())
                    .and_then(|()| temporary.as_file().sync_all())
                    .and_then(|()| set_usual_permissions(&temporary, &path));
                let result = match written {
                    Ok(()) => temporary
                        .persist(&path)
                        .map(drop)
                        .map_err(|e| fail(e.error)),
                    // Dropping the temporary removes it.
                    Err(error) => Err(fail(error)),
                };
                (result, Some(temporary_path))
            }
        }
    }

    /// Gives up on the file: the temporary is removed, an existing file stays as it was.
    pub fn abandon(self) {
        if let Target::Atomic(temporary) = self.target {
            let path = temporary.path().to_path_buf();
            drop(temporary);
            interrupt::remove_temporary(&path);
        }
    }
}

/// A temporary file is private to its owner (0600); the report gets the permissions of the
/// file it replaces, or the usual 0644 for a new one.
#[cfg(unix)]
fn set_usual_permissions(temporary: &NamedTempFile, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let permissions = fs::metadata(path)
        .map(|meta| meta.permissions())
        .unwrap_or_else(|_| fs::Permissions::from_mode(0o644));
    temporary.as_file().set_permissions(permissions)
}

#[cfg(not(unix))]
fn set_usual_permissions(_temporary: &NamedTempFile, _path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Finishes every file, with signals held back until all are in place (see `interrupt.rs`).
/// The first failure is returned, after every other file was still finished or abandoned.
pub fn finish_all(files: Vec<(OutputFile, String)>) -> Result<(), String> {
    interrupt::critical(|| {
        let mut first_error = None;
        let mut done = Vec::new();
        for (file, text) in files {
            let (result, temporary) = file.finish(&text);
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
            done.extend(temporary);
        }
        (first_error.map_or(Ok(()), Err), done)
    })
}
