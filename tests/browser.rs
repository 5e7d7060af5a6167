//! The example dossier in a real browser, and through the Nu HTML Checker.
//!
//! Builds the example site (the repository root) with the `dossier` binary
//! under a GitHub Pages project base URL, then
//! - `browser_suite`: runs `node tests/browser/run.mjs SITE` (headless Chromium
//!   through playwright-core, axe-core; see tests/browser/README.md);
//! - `search_and_filters`: runs `node tests/browser/search.mjs SITE` (search
//!   in five languages and the list filters, under a Content-Security-Policy);
//! - `hostile_pages_are_inert`: builds tests/fixtures/hostile the same way and
//!   runs `node tests/browser/hostile.mjs SITE` (no payload runs: no dialog,
//!   no request to another host, nothing live in any page);
//! - `live_reload`: `dossier serve` and an open page (tests/browser/reload.mjs);
//! - `html_is_valid`: runs `java -jar vnu.jar --errors-only --skip-non-html SITE`.
//!
//! Needs node and npm, Chromium at /usr/bin/chromium (or $CHROMIUM) and java;
//! `npm ci` in tests/browser is run here when node_modules is missing or stale.
//! Missing tools fail the tests with how to install them, unless
//! DOSSIER_SKIP_BROWSER=1 is set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BASE_URL: &str = "https://example.github.io/dossier-demo/";
const INSTALL_HINT: &str = "install the browser-test tools (Debian, as root: `apt-get update && apt-get install -y chromium nodejs npm default-jre-headless`; `bash .ci/run` does this), or set DOSSIER_SKIP_BROWSER=1 to skip the browser tests";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn browser_dir() -> PathBuf {
    repo().join("tests/browser")
}

/// True when the browser tests are to be skipped (DOSSIER_SKIP_BROWSER=1).
fn skipped(test: &str) -> bool {
    let skip = std::env::var("DOSSIER_SKIP_BROWSER").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("{test}: skipped (DOSSIER_SKIP_BROWSER=1)");
    }
    skip
}

/// Runs `program --version`-style probe; panics with an install hint if absent.
fn require_tool(program: &str, args: &[&str]) {
    let found = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{program}` was not found or does not run: {INSTALL_HINT}"
    );
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium not found at {}: {INSTALL_HINT}",
        path.display()
    );
    path
}

/// `npm ci` in tests/browser, once per test run, when node_modules is missing
/// or older than package-lock.json. Scripts are not run: vnu-jar's would try
/// to download a JDK, and the system's java is used instead.
fn npm_ci() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let dir = browser_dir();
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let fresh = match (
        modified(&installed),
        modified(&dir.join("package-lock.json")),
    ) {
        (Some(have), Some(want)) => have >= want,
        _ => false,
    };
    if !fresh {
        require_tool("npm", &["--version"]);
        eprintln!("running npm ci in {}", dir.display());
        let out = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm ci could not start");
        assert!(
            out.status.success(),
            "npm ci in {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    *done = true;
}

/// Builds the example dossier into a fresh temporary folder.
fn build_site() -> tempfile::TempDir {
    build_site_of(&repo())
}

/// Builds the dossier at `root` into `site/` of a fresh temporary folder.
fn build_site_of(root: &Path) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let site = out.path().join("site");
    let result = Command::new(env!("CARGO_BIN_EXE_dossier"))
        .arg("build")
        .arg("--root")
        .arg(root)
        .arg("--output")
        .arg(&site)
        .args(["--base-url", BASE_URL])
        .output()
        .expect("run dossier build");
    assert!(
        result.status.success(),
        "dossier build failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        site.join("index.html").is_file(),
        "the build wrote no index.html"
    );
    out
}

/// Runs a command with a time limit, returning its output.
fn run_with_limit(mut cmd: Command, limit: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap_or_else(|e| panic!("{shown}: {e}")),
        Err(_) => {
            // SAFETY: kill(2) on the child's pid, which we started and still own.
            unsafe { libc::kill(id as i32, libc::SIGKILL) };
            panic!("{shown} did not finish within {}s", limit.as_secs());
        }
    }
}

#[test]
fn browser_suite() {
    if skipped("browser_suite") {
        return;
    }
    run_script("run.mjs", "the browser suite");
}

/// Search in every language and the list filters, under a strict
/// Content-Security-Policy (tests/browser/search.mjs).
#[test]
fn search_and_filters() {
    if skipped("search_and_filters") {
        return;
    }
    run_script("search.mjs", "the search and filter suite");
}

/// The hostile fixture (tests/fixtures/hostile, as tests/hostile.rs builds
/// it) in Chromium: on every page, under the site's CSP and with it
/// bypassed, no dialog, no request to another host, no script run, nothing
/// live in the DOM, also when hovered and clicked, searched and filtered
/// (tests/browser/hostile.mjs).
#[test]
fn hostile_pages_are_inert() {
    if skipped("hostile_pages_are_inert") {
        return;
    }
    let _alone = one_at_a_time();
    let out = build_site_of(&repo().join("tests/fixtures/hostile"));
    run_on_site(
        "hostile.mjs",
        "the hostile-page suite",
        &out.path().join("site"),
    );
}

/// `dossier serve` with a page open in Chromium: saving a sidecar shows in
/// the page within a second; a misquote shows its error in the page; fixing
/// it recovers (tests/browser/reload.mjs).
#[test]
fn live_reload() {
    if skipped("live_reload") {
        return;
    }
    let _alone = one_at_a_time();
    require_tool("node", &["--version"]);
    let chromium = chromium();
    npm_ci();
    // A scratch copy of the example dossier: the script edits it.
    let (_scratch, root) = scratch_example();
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("reload.mjs"))
        .arg(env!("CARGO_BIN_EXE_dossier"))
        .arg(&root)
        .env("CHROMIUM", &chromium)
        .current_dir(repo());
    let result = run_with_limit(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&result.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&result.stderr));
    assert!(result.status.success(), "live reload failed:\n{stdout}");
}

/// An article moved to a new slug keeps a page at its old one
/// (`aliases`): in Chromium, the old address with `#p3` lands on the new
/// page at paragraph 3, and without scripts the refresh still lands there
/// (tests/browser/forward.mjs).
#[test]
fn a_former_url_forwards_to_the_same_paragraph() {
    if skipped("a_former_url_forwards_to_the_same_paragraph") {
        return;
    }
    let _alone = one_at_a_time();
    let (_scratch, root) = scratch_example();
    let sidecar = root.join("content/articles/001_9b10334a7624b0a2.toml");
    let meta = std::fs::read_to_string(&sidecar).expect("read sidecar");
    std::fs::write(
        &sidecar,
        format!("slug = \"ntb-iskander\"\naliases = [\"001-9b10334a7624b0a2\"]\n{meta}"),
    )
    .expect("write sidecar");
    let out = build_site_of(&root);
    run_on_site_with(
        "forward.mjs",
        "the forwarding suite",
        &out.path().join("site"),
        &["001-9b10334a7624b0a2", "ntb-iskander"],
    );
}

/// A copy of the example dossier (`content/`, `dossier.toml`) at
/// `TMP/dossier`, for a test that changes it.
fn scratch_example() -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let root = scratch.path().join("dossier");
    copy_tree(&repo().join("content"), &root.join("content"));
    std::fs::copy(repo().join("dossier.toml"), root.join("dossier.toml"))
        .expect("copy dossier.toml");
    (scratch, root)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Browser runs take both cores: one at a time, so timings (live reload
/// within a second) mean what they say.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static BROWSER: Mutex<()> = Mutex::new(());
    BROWSER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds the example site and runs `node tests/browser/SCRIPT SITE`.
fn run_script(script: &str, what: &str) {
    let _alone = one_at_a_time();
    let out = build_site();
    run_on_site(script, what, &out.path().join("site"));
}

/// Runs `node tests/browser/SCRIPT SITE` on a built site; fails the test with
/// the script's FAIL lines unless it exits 0. The caller holds
/// `one_at_a_time()`.
fn run_on_site(script: &str, what: &str, site: &Path) {
    run_on_site_with(script, what, site, &[]);
}

/// As [`run_on_site`], with `args` after the site.
fn run_on_site_with(script: &str, what: &str, site: &Path, args: &[&str]) {
    require_tool("node", &["--version"]);
    let chromium = chromium();
    npm_ci();

    let started = Instant::now();
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join(script))
        .arg(site)
        .args(args)
        .env("CHROMIUM", &chromium)
        .current_dir(repo());
    let result = run_with_limit(cmd, Duration::from_secs(180));
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    eprintln!("{what} took {:.1}s", started.elapsed().as_secs_f64());
    let failures: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL") || l.starts_with("    "))
        .collect();
    assert!(
        result.status.success(),
        "{what} failed (exit {:?}; full report above):\n{}\n{stderr}",
        result.status.code(),
        failures.join("\n")
    );
}

#[test]
fn html_is_valid() {
    if skipped("html_is_valid") {
        return;
    }
    require_tool("java", &["-version"]);
    npm_ci();
    let jar = browser_dir().join("node_modules/vnu-jar/build/dist/vnu.jar");
    assert!(
        jar.is_file(),
        "{} is missing: run `npm ci` in tests/browser",
        jar.display()
    );
    let out = build_site();
    let site = out.path().join("site");
    let pages = walk_html(&site);
    assert!(pages > 10, "only {pages} HTML pages were built");

    let started = Instant::now();
    let mut cmd = Command::new("java");
    cmd.arg("-jar")
        .arg(&jar)
        .args(["--errors-only", "--skip-non-html", "--format", "gnu"])
        .arg(&site);
    let result = run_with_limit(cmd, Duration::from_secs(120));
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    )
    .replace(&format!("file:{}/", site.display()), "");
    eprintln!(
        "vnu checked {pages} HTML pages in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        result.status.success() && messages.trim().is_empty(),
        "the Nu HTML Checker found errors in the built site:\n{messages}"
    );
}

fn walk_html(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("read site folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            n += walk_html(&path);
        } else if path.extension().is_some_and(|e| e == "html") {
            n += 1;
        }
    }
    n
}
