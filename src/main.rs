//! The binary: parse arguments, call the library, map the outcome to an exit code.

use clap::Parser;
use leakstop::cli::{
    AuditCommand, BaselineCommand, BotCommand, Cli, Command, HookCommand, ReportCommand,
    RulesCommand,
};
use leakstop::commands;
use leakstop::exit::{self, Outcome};
use leakstop::text::escape_control;
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
    let verbose = matches!(&cli.command, Command::Scan(args) if args.verbose);
    leakstop::logging::init(verbose);
    match run(cli.command) {
        Ok(outcome) => ExitCode::from(exit::code(outcome)),
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::from(exit::USAGE_ERROR);
            }
            // Messages name paths and config values: no control character
            // reaches the terminal (line breaks of multi-line messages stay).
            let message = format!("{error:#}");
            let lines: Vec<_> = message.lines().map(escape_control).collect();
            eprintln!("leakstop: error: {}", lines.join("\n"));
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
        Command::Report(ReportCommand::Merge {
            reports,
            output,
            format,
        }) => {
            drop(stdout);
            commands::report::merge(&reports, output.as_deref(), format)
        }
        Command::Report(ReportCommand::Html { reports, output }) => {
            drop(stdout);
            commands::report::html(&reports, output.as_deref())
        }
        Command::Bot(BotCommand::Run(args)) => {
            drop(stdout);
            commands::bot::run(&args)
        }
        Command::Bot(BotCommand::Revoke(args)) => {
            drop(stdout);
            commands::bot::revoke(&args)
        }
        Command::Serve(args) => {
            drop(stdout);
            commands::serve::run(&args)
        }
        Command::Bot(BotCommand::Drill) => commands::bot::drill(&mut stdout),
        Command::Bot(BotCommand::Status { store }) => commands::bot::status(&store, &mut stdout),
        Command::Audit(AuditCommand::Verify { file }) => {
            commands::bot::audit_verify(&file, &mut stdout)
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
