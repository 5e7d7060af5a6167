//! The command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Building a site allocates millions of small strings from several threads
// at once; glibc's malloc took a quarter of a 10,000-article build.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use dossier::diagnostics::Diagnostic;

/// A build frees and reallocates large buffers (pages, exports, search
/// shards) all the time; mimalloc's default of giving freed memory back to
/// the OS after 10 ms made the kernel zero the same pages again and again
/// (at 100,000 articles, 1-2 s of system time, for ~3 % more peak memory).
/// `serve` keeps it too: each rebuild faulted its working set in afresh
/// (one new article at 10,000: 0.58-0.65 s with the default, 0.42-0.45 s
/// without, for ~100 MB more held between rebuilds: BENCHMARKS.md).
fn keep_freed_memory() {
    // `mi_option_purge_delay` in mimalloc.h (v2 and v3): milliseconds
    // before freed memory is returned, -1 for never.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets one of mimalloc's options; any value is valid, and it is
    // read atomically by the allocator.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
}

#[derive(Parser)]
#[command(
    name = "dossier",
    version,
    about = "Static site generator for annotated news dossiers"
)]
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
        /// Print the time spent in each stage.
        #[arg(long)]
        timings: bool,
        /// Build the events marked `draft = true` too.
        #[arg(long)]
        drafts: bool,
    },
    /// Check everything a build checks; write nothing.
    Check {
        /// Check the events marked `draft = true` too.
        #[arg(long)]
        drafts: bool,
    },
    /// Build, serve on loopback, rebuild and reload on every save.
    Serve {
        #[arg(long, default_value_t = 8000)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Write the site into the output folder, as `build` does, and
        /// serve it from there; without it the site is kept in memory.
        #[arg(long)]
        render_to_disk: bool,
        /// Output folder when rendering to disk [default: ROOT/public];
        /// giving it renders to disk.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Open the site in the default browser.
        #[arg(long)]
        open: bool,
        /// Print the time of each stage after every rebuild.
        #[arg(long)]
        timings: bool,
        /// Show the events marked `draft = true` too.
        #[arg(long)]
        drafts: bool,
    },
    /// Copy clippings into content/articles/ with a sidecar, and report what
    /// normalization finds.
    Add {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// YYYY-MM-DD or YYYY-MM
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        outlet: Option<String>,
        #[arg(long)]
        url: Option<String>,
        /// ISO 639-1 code, e.g. da, nb, sv, de, en
        #[arg(long)]
        language: Option<String>,
    },
    /// Start a new dossier in DIR with an example article and event.
    Init {
        /// Folder to create (must be empty or absent).
        dir: PathBuf,
    },
}

/// Progress for builds that take more than a moment; silent when stderr is
/// not a terminal (CI logs stay clean).
struct Spinner {
    bar: indicatif::ProgressBar,
    shown: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Spinner {
    fn start(message: &'static str) -> Spinner {
        use std::sync::atomic::{AtomicBool, Ordering};
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        let shown = std::sync::Arc::new(AtomicBool::new(true));
        let (delayed, flag) = (bar.clone(), shown.clone());
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1000));
            if flag.load(Ordering::Relaxed) {
                delayed.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                delayed.enable_steady_tick(std::time::Duration::from_millis(120));
            }
        });
        Spinner { bar, shown }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.shown
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.bar.finish_and_clear();
    }
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
        Command::Build {
            output,
            base_url,
            timings,
            drafts,
        } => {
            let options = dossier::BuildOptions {
                root: cli.root,
                output,
                base_url,
                drafts,
            };
            keep_freed_memory();
            let spinner = Spinner::start("building");
            let result = dossier::build(&options);
            drop(spinner);
            match result {
                Ok(report) => {
                    print_diagnostics(&report.diagnostics);
                    println!("{}", report.summary("built"));
                    if timings {
                        print!("{}", report.timings);
                    }
                    ExitCode::SUCCESS
                }
                Err(diagnostics) => fail(diagnostics),
            }
        }
        Command::Check { drafts } => match dossier::check(&dossier::BuildOptions {
            root: cli.root,
            output: None,
            base_url: None,
            drafts,
        }) {
            Ok(report) => {
                print_diagnostics(&report.diagnostics);
                println!(
                    "ok: {} articles, {} events{}, {} pages would be written, {} warnings",
                    report.articles,
                    report.events,
                    report.drafts_note(),
                    report.files,
                    report.warnings()
                );
                ExitCode::SUCCESS
            }
            Err(diagnostics) => fail(diagnostics),
        },
        Command::Serve {
            port,
            bind,
            render_to_disk,
            output,
            open,
            timings,
            drafts,
        } => {
            keep_freed_memory();
            let options = dossier::serve::ServeOptions {
                root: cli.root,
                render_to_disk: render_to_disk || output.is_some(),
                output,
                bind,
                port,
                open,
                timings,
                drafts,
            };
            match dossier::serve::serve(options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(d) => fail(vec![d]),
            }
        }
        Command::Add {
            files,
            date,
            title,
            outlet,
            url,
            language,
        } => {
            let options = dossier::add::AddOptions {
                root: cli.root,
                files,
                date,
                title,
                outlet,
                url,
                language,
                today: chrono::Local::now().format("%Y-%m-%d").to_string(),
            };
            match dossier::add::add(&options) {
                Ok(added) => {
                    for a in added {
                        for line in &a.lines {
                            println!("{line}");
                        }
                        print_diagnostics(&a.diagnostics);
                    }
                    ExitCode::SUCCESS
                }
                Err(diagnostics) => fail(diagnostics),
            }
        }
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
