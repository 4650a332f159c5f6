//! Shared helpers: temp trees and running the real binary.
#![allow(dead_code)]

pub mod fake;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A fake classic GitHub PAT with a valid checksum (random; no one's token).
pub const GITHUB_PAT: &str = "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";
/// A second one.
pub const GITHUB_PAT_2: &str = "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";
/// A fake OAuth token with a valid checksum.
pub const GITHUB_OAUTH: &str = "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";

pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Self {
        Tree {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        self
    }

    /// `leakstop <args>` run with the tree as working directory.
    pub fn leakstop(&self, args: &[&str]) -> Output {
        self.leakstop_env(args, &[])
    }

    /// The same with extra environment variables.
    pub fn leakstop_env(&self, args: &[&str], env: &[(String, String)]) -> Output {
        let mut command = Command::cargo_bin("leakstop").expect("binary");
        command
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            // No user-level config from the machine running the tests.
            .env("LEAKSTOP_USER_CONFIG", "")
            .env_remove("LEAKSTOP_LOG");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.args(args).output().expect("run leakstop");
        Output {
            code: output.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs git in the tree with a fixed identity; the output, success or not.
    pub fn git_output(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("git")
            .current_dir(self.path())
            .args([
                "-c",
                "user.name=Ada Lovelace",
                "-c",
                "user.email=ada@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .expect("git runs")
    }

    /// Runs git in the tree, which must succeed; its trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let output = self.git_output(args);
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// A new repository on branch main.
    pub fn repo() -> Self {
        let tree = Tree::new();
        tree.git(&["init", "-q", "-b", "main"]);
        tree
    }

    /// `leakstop scan --format json <extra> .` and the parsed report.
    pub fn scan_json(&self, extra: &[&str]) -> (Output, serde_json::Value) {
        let mut args = vec!["scan", "--format", "json"];
        args.extend_from_slice(extra);
        args.push(".");
        let output = self.leakstop(&args);
        let json = serde_json::from_str(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "json report: {e}\nstdout: {}\nstderr: {}",
                output.stdout, output.stderr
            )
        });
        (output, json)
    }
}

#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `(rule_id, path, line, column)` of every finding in a JSON report.
pub fn locations(report: &serde_json::Value) -> Vec<(String, String, u64, u64)> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().expect("rule_id").to_string(),
                f["path"].as_str().expect("path").to_string(),
                f["line"].as_u64().expect("line"),
                f["column"].as_u64().expect("column"),
            )
        })
        .collect()
}

pub fn loc(rule: &str, path: &str, line: u64, column: u64) -> (String, String, u64, u64) {
    (rule.to_string(), path.to_string(), line, column)
}

/// The base64 alphabet, also the source-map VLQ digits.
const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 (standard, padded).
pub fn b64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| acc << 8 | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
    }
    out
}

/// One source-map VLQ value.
pub fn vlq(value: i64) -> String {
    let mut v = if value < 0 {
        (-value << 1) | 1
    } else {
        value << 1
    } as u64;
    let mut out = String::new();
    loop {
        let mut digit = v & 31;
        v >>= 5;
        if v > 0 {
            digit |= 32;
        }
        out.push(A[digit as usize] as char);
        if v == 0 {
            return out;
        }
    }
}
