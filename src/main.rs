//! The command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dossier::diagnostics::Diagnostic;

#[derive(Parser)]
#[command(name = "dossier", version, about = "Static site generator for annotated news dossiers")]
struct Cli {
    /// The dossier's folder (holding dossier.toml and content/).
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the site into the output folder (atomically).
    Build {
        /// Output folder [default: ROOT/public]
        #[arg(long)]
        output: Option<PathBuf>,
        /// Publish under this URL, e.g. https://user.github.io/repo/
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Check everything a build checks; write nothing.
    Check,
    /// Start a new dossier in DIR with an example article and event.
    Init {
        /// Folder to create (must be empty or absent).
        dir: PathBuf,
    },
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

fn fail(diagnostics: Vec<Diagnostic>) -> ExitCode {
    print_diagnostics(&diagnostics);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    eprintln!("failed: {errors} errors, {warnings} warnings");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build { output, base_url } => {
            let options = dossier::BuildOptions {
                root: cli.root,
                output,
                base_url,
            };
            match dossier::build(&options) {
                Ok(report) => {
                    print_diagnostics(&report.diagnostics);
                    println!("{}", report.summary("built"));
                    ExitCode::SUCCESS
                }
                Err(diagnostics) => fail(diagnostics),
            }
        }
        Command::Check => match dossier::check(&cli.root) {
            Ok(report) => {
                print_diagnostics(&report.diagnostics);
                println!(
                    "ok: {} articles, {} events, {} pages would be written, {} warnings",
                    report.articles,
                    report.events,
                    report.files,
                    report.warnings()
                );
                ExitCode::SUCCESS
            }
            Err(diagnostics) => fail(diagnostics),
        },
        Command::Init { dir } => match dossier::init::init(&dir) {
            Ok(()) => {
                println!("created a dossier in {}", dir.display());
                println!("next: dossier --root {} build", dir.display());
                ExitCode::SUCCESS
            }
            Err(d) => fail(vec![d]),
        },
    }
}
