use clap::Parser;
use leakstop::cli::{Cli, Command, RulesCommand};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(4) } else { ExitCode::SUCCESS };
        }
    };
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Rules(RulesCommand::Check { files }) => match leakstop::commands::rules::check(&files, &mut stdout) {
            Ok(0) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(4),
            Err(e) => { eprintln!("error: {e:#}"); ExitCode::from(4) }
        },
        Command::Rules(RulesCommand::List { json }) => match leakstop::commands::rules::list(json, &mut stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => { eprintln!("error: {e:#}"); ExitCode::from(4) }
        },
        _ => ExitCode::from(4),
    }
}
