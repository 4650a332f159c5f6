//! The binary: parse arguments, call the library, map the outcome to an exit code.

use clap::Parser;
use leakstop::cli::{BaselineCommand, Cli, Command, HookCommand, RulesCommand};
use leakstop::commands;
use leakstop::exit::{self, Outcome};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(exit::USAGE_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli.command) {
        Ok(outcome) => ExitCode::from(exit::code(outcome)),
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::from(exit::USAGE_ERROR);
            }
            eprintln!("leakstop: error: {error:#}");
            ExitCode::from(exit::USAGE_ERROR)
        }
    }
}

fn run(command: Command) -> anyhow::Result<Outcome> {
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Scan(args) => {
            drop(stdout);
            commands::scan::scan(&args)
        }
        Command::Baseline(BaselineCommand::Create { scan, output }) => {
            drop(stdout);
            commands::scan::create_baseline(&scan, &output)
        }
        Command::Hook(HookCommand::Install {
            path,
            force,
            chain,
            pre_push,
        }) => {
            let kind = if pre_push {
                commands::hook::HookKind::PrePush
            } else {
                commands::hook::HookKind::PreCommit
            };
            let existing = match (force, chain) {
                (true, _) => commands::hook::Existing::Replace,
                (_, true) => commands::hook::Existing::Chain,
                _ => commands::hook::Existing::Refuse,
            };
            let hook = commands::hook::install(&path, kind, existing)?;
            eprintln!("leakstop: installed {}", hook.display());
            Ok(Outcome::default())
        }
        Command::Action(args) => {
            drop(stdout);
            commands::action::run(&args)
        }
        Command::Rules(RulesCommand::List { json }) => {
            commands::rules::list(json, &mut stdout)?;
            Ok(Outcome::default())
        }
        Command::Rules(RulesCommand::Check { files }) => {
            let problems = commands::rules::check(&files, &mut stdout)?;
            if problems > 0 {
                anyhow::bail!("{problems} problem(s) in rule files");
            }
            Ok(Outcome::default())
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
