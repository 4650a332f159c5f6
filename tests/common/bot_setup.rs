//! The bot tests' shared setup: a tree with leaked keys scanned by the real
//! binary, the fakes (bot_fakes.rs), and the bot run as a user runs it,
//! with every output checked for secrets.
#![allow(dead_code)]

use crate::bot_fakes::{FakeGithub, FakeProviders};
use crate::common::{Output, Tree};
use std::path::PathBuf;

pub const GITLAB: &str = "glpat-3GLziBYV9CCKn8Tk4JO2";
pub const SLACK: &str = "xoxb-8294364837568-4485813728360-Y0F1Z0y9Cofi1n09zRPmBtRy";
pub const NPM: &str = "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";
pub const GHS: &str = "ghs_vYCygWr8fFGMTxfR7RuEFqzqmgDycA2diZTl";
pub const STRIPE: &str = "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";

/// A repository with leaked keys, the fakes, and where the bot keeps state.
pub struct Setup {
    pub tree: Tree,
    pub providers: FakeProviders,
    pub github: FakeGithub,
    pub state: tempfile::TempDir,
    pub secrets: Vec<&'static str>,
}

impl Setup {
    /// `files` are (path, contents); `live` the tokens the fake provider knows.
    pub fn new(files: &[(&str, String)], live: &[&'static str]) -> Setup {
        let tree = Tree::new();
        for (path, contents) in files {
            tree.write(path, contents);
        }
        Setup {
            tree,
            providers: FakeProviders::start(live),
            github: FakeGithub::start(),
            state: tempfile::tempdir().expect("temp dir"),
            secrets: live.to_vec(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.state.path().join(name)
    }

    /// Scans the tree into a JSONL report with the secrets (outside the tree).
    pub fn scan(&self) -> PathBuf {
        let out = self
            .tree
            .leakstop(&["scan", "--format", "jsonl", "--show-secrets", "."]);
        assert!(out.code == 1 || out.code == 0, "scan: {}", out.stderr);
        let path = self.path("findings.jsonl");
        std::fs::write(&path, &out.stdout).expect("write findings");
        path
    }

    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.providers.env();
        env.extend(self.github.env());
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// `leakstop bot <command> --findings … --repo acme/app --store … --execute <extra>`.
    pub fn bot_with(
        &self,
        command: &str,
        store: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Output {
        let findings = self.path("findings.jsonl");
        if !findings.exists() {
            self.scan();
        }
        let head = [
            "bot",
            command,
            "--findings",
            findings.to_str().expect("utf-8 path"),
        ];
        self.bot(&head, store, extra, env)
    }

    /// `leakstop <head> --repo acme/app --store … --audit-log … --timeout 2
    /// <extra>`, with `env` on top of the fakes'; its output is checked for secrets.
    fn bot(&self, head: &[&str], store: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let store = self.path(store);
        let audit = self.path("audit.jsonl");
        let mut args = head.to_vec();
        args.extend_from_slice(&[
            "--repo",
            "acme/app",
            "--store",
            store.to_str().expect("utf-8 path"),
            "--audit-log",
            audit.to_str().expect("utf-8 path"),
            "--timeout",
            "2",
        ]);
        args.extend_from_slice(extra);
        let output = self.tree.leakstop_env(&args, &self.env(env));
        self.assert_no_secret(&output);
        output
    }

    pub fn run(&self) -> Output {
        self.bot_with("run", "bot.sqlite", &["--execute"], &[])
    }

    /// No secret in the bot's output, issues, comments or audit log, and
    /// none in any provider request but the ones to its own endpoints.
    pub fn assert_no_secret(&self, output: &Output) {
        let audit = std::fs::read_to_string(self.path("audit.jsonl")).unwrap_or_default();
        let issues: Vec<String> = self
            .github
            .issues()
            .iter()
            .flat_map(|i| {
                [i.title.clone(), i.body.clone()]
                    .into_iter()
                    .chain(i.comments.clone())
            })
            .collect();
        for secret in &self.secrets {
            assert!(
                !output.stdout.contains(secret),
                "secret in stdout: {}",
                output.stdout
            );
            assert!(
                !output.stderr.contains(secret),
                "secret in stderr: {}",
                output.stderr
            );
            assert!(!audit.contains(secret), "secret in the audit log");
            for text in &issues {
                assert!(!text.contains(secret), "secret on GitHub: {text}");
            }
            for request in self.github.server.requests() {
                assert!(!request.body.contains(secret) && !request.url.contains(secret));
            }
        }
    }

    /// `Action (signer key id)` of every AWS call, in order; other calls
    /// as `METHOD path`.
    pub fn aws_calls(&self) -> Vec<String> {
        self.providers
            .server
            .requests()
            .iter()
            .map(|r| {
                let form: std::collections::HashMap<String, String> =
                    form_urlencoded::parse(r.body.as_bytes())
                        .into_owned()
                        .collect();
                match form.get("Action") {
                    Some(action) => {
                        let signer = r
                            .header("authorization")
                            .unwrap_or_default()
                            .split("Credential=")
                            .nth(1)
                            .and_then(|s| s.split('/').next())
                            .unwrap_or_default()
                            .to_string();
                        format!("{action} ({signer})")
                    }
                    None => format!("{} {}", r.method, r.path()),
                }
            })
            .collect()
    }

    /// `leakstop bot run --scan . <extra> --repo acme/app --execute` in the
    /// tree, with `env` on top of the fakes'.
    pub fn bot_scan(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut extra = extra.to_vec();
        extra.push("--execute");
        self.bot(&["bot", "run", "--scan", "."], "bot.sqlite", &extra, env)
    }

    pub fn status(&self, store: &str) -> String {
        let store = self.path(store);
        let out = self
            .tree
            .leakstop(&["bot", "status", "--store", store.to_str().expect("utf-8")]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    }

    pub fn audit_verify(&self) -> Output {
        let audit = self.path("audit.jsonl");
        self.tree
            .leakstop(&["audit", "verify", audit.to_str().expect("utf-8")])
    }
}
