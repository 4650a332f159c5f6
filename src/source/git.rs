//! Running git's plumbing: one-shot commands and a `cat-file --batch` reader.
//! Shared by the staged, range and history sources.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("running git {args}: {source}")]
    Spawn {
        args: String,
        source: std::io::Error,
    },
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("reading git output: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected output from git cat-file: {0}")]
    CatFile(String),
}

/// git, run in one repository, with paths printed unquoted where possible.
pub struct Git {
    dir: PathBuf,
}

impl Git {
    pub fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
        }
    }

    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(&self.dir)
            .args(["-c", "core.quotePath=false"])
            .args(args);
        command
    }

    /// Runs git to completion; its stdout, or its stderr as the error.
    pub fn output<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<Vec<u8>, GitError> {
        let describe = || {
            args.iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| GitError::Spawn {
                args: describe(),
                source,
            })?;
        if !output.status.success() {
            return Err(GitError::Git {
                args: describe(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output.stdout)
    }
}

/// Objects read in request order from one `git cat-file --batch`.
pub struct CatFile {
    child: Child,
    reader: BufReader<ChildStdout>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    /// For on-demand lookups: requests are written one at a time.
    stdin: Option<ChildStdin>,
    header: String,
}

impl CatFile {
    /// Starts cat-file and writes all `ids` to it from a thread (so a full
    /// output pipe can never deadlock the request writer).
    pub fn start(git: &Git, ids: Vec<String>) -> Result<CatFile, GitError> {
        let mut cat = CatFile::spawn(git)?;
        let mut stdin = cat
            .stdin
            .take()
            .ok_or_else(|| GitError::CatFile("no stdin".into()))?;
        let requests: String = ids.iter().map(|id| format!("{id}\n")).collect();
        cat.writer = Some(std::thread::spawn(move || {
            stdin.write_all(requests.as_bytes())
        }));
        Ok(cat)
    }

    /// Starts cat-file for on-demand lookups with [`CatFile::get`].
    pub fn on_demand(git: &Git) -> Result<CatFile, GitError> {
        CatFile::spawn(git)
    }

    /// Looks one blob up; `None` if git reports it missing.
    pub fn get(&mut self, id: &str) -> Result<Option<Vec<u8>>, GitError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| GitError::CatFile("not an on-demand reader".into()))?;
        stdin.write_all(format!("{id}\n").as_bytes())?;
        stdin.flush()?;
        let mut data = Vec::new();
        Ok(self.next_blob(&mut data)?.map(|()| data))
    }

    fn spawn(git: &Git) -> Result<CatFile, GitError> {
        let args = ["cat-file", "--batch"];
        let mut child = git
            .command(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| GitError::Spawn {
                args: args.join(" "),
                source,
            })?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| GitError::CatFile("no stdout".into()))?;
        Ok(CatFile {
            child,
            reader: BufReader::with_capacity(1 << 20, stdout),
            writer: None,
            stdin,
            header: String::new(),
        })
    }

    /// Reads the next requested object into `into`: `Some(())` for a blob,
    /// `None` if git reports it missing.
    pub fn next_blob(&mut self, into: &mut Vec<u8>) -> Result<Option<()>, GitError> {
        self.header.clear();
        self.reader.read_line(&mut self.header)?;
        let fields: Vec<&str> = self.header.split_whitespace().collect();
        match fields[..] {
            [_, "blob", size] => {
                let size: u64 = size
                    .parse()
                    .map_err(|_| GitError::CatFile(self.header.trim().to_string()))?;
                into.clear();
                (&mut self.reader).take(size + 1).read_to_end(into)?;
                into.pop(); // the newline after the content
                Ok(Some(()))
            }
            [_, "missing"] => Ok(None),
            _ => Err(GitError::CatFile(self.header.trim().to_string())),
        }
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Paths git prints in double quotes with C escapes (tabs, newlines, quotes).
pub fn unquote(raw: &[u8]) -> String {
    let raw = match raw {
        [b'"', inner @ .., b'"'] => inner,
        _ => return String::from_utf8_lossy(raw).into_owned(),
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'"') => out.push(b'"'),
            Some(b'\\') => out.push(b'\\'),
            Some(d @ b'0'..=b'7') => {
                let mut value = (d - b'0') as u32;
                for _ in 0..2 {
                    if let Some(next @ b'0'..=b'7') = bytes.next() {
                        value = value * 8 + (next - b'0') as u32;
                    }
                }
                out.push(value as u8);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
