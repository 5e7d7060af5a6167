//! `dossier serve`: build, serve the site on loopback, rebuild on every
//! save and reload open pages.
//!
//! The site is built into memory ([`crate::memory`]) and served from there,
//! or, with `--render-to-disk`, into the output folder as `dossier build`
//! writes it. The reload client is injected into HTML responses by the
//! server, so what is built is exactly what `dossier build` writes. A
//! failed rebuild keeps the previous site up and shows the errors in every
//! open page.

use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::build::BuildCache;
use crate::build::{BuildOptions, build_in_memory, build_with_cache};
use crate::config::{CONFIG_FILE, Config};
use crate::diagnostics::{Diagnostic, Severity};
use crate::memory;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub root: PathBuf,
    pub output: Option<PathBuf>,
    /// Write the site into the output folder rather than keep it in memory.
    pub render_to_disk: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub open: bool,
    /// Print the time of each stage after every rebuild.
    pub timings: bool,
    /// Build the events marked `draft = true` too.
    pub drafts: bool,
}

/// What open pages are told: the site changed, or the build failed.
#[derive(Debug, Clone, serde::Serialize)]
struct Notice {
    kind: &'static str,
    text: String,
}

struct Shared {
    output: PathBuf,
    /// The site, when it is kept in memory rather than in `output`.
    site: Option<memory::Site>,
    base: String,
    /// Diagnostics of the last failed build, shown in every page.
    errors: RwLock<Option<String>>,
    notices: broadcast::Sender<Notice>,
    timings: bool,
    /// Successful builds so far: a page carries the number current when it
    /// was read, and reloads if it meets a later one (a reload notice sent
    /// while it was loading reaches no page).
    builds: std::sync::atomic::AtomicU64,
}

const CLIENT_JS: &str = include_str!("serve/reload.js");
const PREFIX: &str = "__dossier/";
/// Threads for file reads under load (see [`serve`]).
const MAX_BLOCKING_THREADS: usize = 8;

pub fn serve(options: ServeOptions) -> Result<(), Diagnostic> {
    let root = options.root.clone();
    let build_options = BuildOptions {
        root: root.clone(),
        output: options.output.clone(),
        base_url: None,
        drafts: options.drafts,
    };
    let output = build_options.output();
    let base = Config::load(&root)
        .map(|c| c.base_path())
        .unwrap_or_else(|_| "/".into());
    let address = SocketAddr::new(options.bind, options.port);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Every request reads files on tokio's blocking pool; its default of
        // 512 threads let 64 busy connections start ~330 threads and hold
        // ~900 MB. Reads of the site are short: a few threads keep up.
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
        .map_err(|e| Diagnostic::error("serve", None, format!("cannot start the server: {e}")))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(address))
        .map_err(|e| {
            Diagnostic::error(address.to_string(), None, format!("cannot listen: {e}"))
                .with_hint("another program may use the port: try --port 8001")
        })?;
    let bound = listener.local_addr().unwrap_or(address);
    let host = match bound.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    let url = format!("http://{host}:{}{base}", bound.port());
    say(format_args!("{url}"));
    if !options.bind.is_loopback() {
        tell(format_args!(
            "warning: serving on {} is reachable from other machines",
            options.bind
        ));
    }

    let (notices, _) = broadcast::channel(16);
    let shared = Arc::new(Shared {
        output: output.clone(),
        site: (!options.render_to_disk).then(memory::Site::new),
        base: base.clone(),
        errors: RwLock::new(None),
        notices,
        timings: options.timings,
        builds: std::sync::atomic::AtomicU64::new(0),
    });
    // The watcher thread owns building; the server only reads the output.
    // Watching starts before the first build, so a file saved during it is
    // not missed; serving starts after it.
    let (watcher, first_build) = watch(&root, &output, build_options, shared.clone())?;
    let _ = first_build.recv();

    if options.open {
        let _ = open::that(&url);
    }
    let app = Router::new()
        .route(&format!("{base}{PREFIX}events"), get(events))
        .route(&format!("{base}{PREFIX}reload.js"), get(client_js))
        .route(&format!("{base}{PREFIX}status"), get(status))
        .fallback(get(file))
        .with_state(shared);
    let result = runtime.block_on(async {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });
    drop(watcher);
    result.map_err(|e| Diagnostic::error(address.to_string(), None, format!("server stopped: {e}")))
}

/// Prints a line to stdout. A preview server outlives the terminal or pipe
/// that started it: a closed stdout must not stop it (println! would panic).
fn say(line: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

/// As [`say`], on stderr.
fn tell(line: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn rebuild(options: &BuildOptions, shared: &Shared, cache: &mut BuildCache) {
    let built = match &shared.site {
        Some(site) => build_in_memory(options, cache, site),
        None => build_with_cache(options, Some(cache)),
    };
    match built {
        Ok(report) => {
            for d in &report.diagnostics {
                tell(format_args!("{d}"));
            }
            say(format_args!("{}", report.summary("rebuilt")));
            if shared.timings {
                say(format_args!("{}", report.timings.to_string().trim_end()));
            }
            *shared.errors.write().unwrap_or_else(|p| p.into_inner()) = None;
            shared
                .builds
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = shared.notices.send(Notice {
                kind: "reload",
                text: String::new(),
            });
        }
        Err(diagnostics) => {
            let text = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            tell(format_args!(
                "{text}\nbuild failed; still serving the previous site"
            ));
            *shared.errors.write().unwrap_or_else(|p| p.into_inner()) = Some(text.clone());
            let _ = shared.notices.send(Notice {
                kind: "failed",
                text,
            });
        }
    }
}

/// What one burst of file events reported.
struct Batch {
    /// Every path named, relative to the root; None when events were lost.
    paths: Option<Vec<PathBuf>>,
    /// Whether a watched source changed.
    rebuild: bool,
}

impl Batch {
    fn of(
        events: &[notify_debouncer_full::DebouncedEvent],
        root: &Path,
        relevant: &dyn Fn(&Path) -> bool,
    ) -> Batch {
        let mut batch = Batch::default();
        // Builds read every source: opening a file is not a change.
        for e in events
            .iter()
            .filter(|e| !matches!(e.kind, EventKind::Access(_)))
        {
            batch.rebuild |= e.need_rescan() || e.paths.iter().any(|p| relevant(p));
            // Every path counts for the listing (a walk lists `x.md~` too).
            let relative: Option<Vec<PathBuf>> = (!e.need_rescan())
                .then(|| {
                    e.paths
                        .iter()
                        .map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
                        .collect()
                })
                .flatten();
            match (&mut batch.paths, relative) {
                (Some(paths), Some(relative)) => paths.extend(relative),
                _ => batch.paths = None,
            }
        }
        batch
    }
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            paths: Some(Vec::new()),
            rebuild: false,
        }
    }
}

type Debouncer = notify_debouncer_full::Debouncer<
    notify_debouncer_full::notify::RecommendedWatcher,
    notify_debouncer_full::RecommendedCache,
>;

/// Watches content/, templates/, static/ and dossier.toml, builds once, and
/// then once for each burst of changes (debounced). The receiver hears when
/// the first build is done.
fn watch(
    root: &Path,
    output: &Path,
    options: BuildOptions,
    shared: Arc<Shared>,
) -> Result<(Debouncer, std::sync::mpsc::Receiver<()>), Diagnostic> {
    let (tx, rx) = std::sync::mpsc::channel::<Batch>();
    let root_abs = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let output_abs = output
        .canonicalize()
        .unwrap_or_else(|_| output.to_path_buf());
    let watched: Vec<PathBuf> = ["content", "templates", "static"]
        .iter()
        .map(|d| root_abs.join(d))
        .collect();
    let config = root_abs.join(CONFIG_FILE);
    let relevant = {
        let watched = watched.clone();
        move |path: &Path| {
            !path.starts_with(&output_abs)
                && (path == config || watched.iter().any(|w| path.starts_with(w)))
                && !path.file_name().is_some_and(|n| {
                    n.to_string_lossy().starts_with('.') || n.to_string_lossy().ends_with('~')
                })
        }
    };
    let root_abs_events = root_abs.clone();
    let mut debouncer = new_debouncer(
        Duration::from_millis(50),
        None,
        move |result: DebounceEventResult| {
            let batch = match result {
                Ok(events) => Batch::of(&events, &root_abs_events, &relevant),
                // Events lost: build, and look at every file.
                Err(_) => Batch {
                    paths: None,
                    rebuild: true,
                },
            };
            let _ = tx.send(batch);
        },
    )
    .map_err(|e| Diagnostic::error("serve", None, format!("cannot watch files: {e}")))?;
    for dir in &watched {
        if dir.is_dir() {
            let _ = debouncer.watch(dir, RecursiveMode::Recursive);
        }
    }
    // dossier.toml: watch the root itself, not recursively (editors replace files).
    let _ = debouncer.watch(&root_abs, RecursiveMode::NonRecursive);

    let (built, first_build) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Records of unchanged articles, and what was made from them, are
        // kept between rebuilds.
        let mut cache = BuildCache::from_disk(&options.root);
        // Every change from now on is reported: builds after the first
        // look only at the files named.
        cache.articles.watching = true;
        rebuild(&options, &shared, &mut cache);
        let _ = built.send(());
        let mut pending = false;
        while let Ok(batch) = rx.recv() {
            // Coalesce changes that arrived while the last build ran.
            for batch in std::iter::once(batch).chain(rx.try_iter()) {
                pending |= batch.rebuild;
                match batch.paths {
                    Some(paths) => cache.articles.saw_changes(paths),
                    None => cache.articles.lost_changes(),
                }
            }
            if std::mem::take(&mut pending) {
                rebuild(&options, &shared, &mut cache);
            }
        }
    });
    Ok((debouncer, first_build))
}

async fn events(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let stream = BroadcastStream::new(shared.notices.subscribe()).filter_map(|notice| {
        let notice = notice.ok()?;
        let data = serde_json::to_string(&notice).ok()?;
        Some(Ok::<_, std::convert::Infallible>(
            SseEvent::default().event(notice.kind).data(data),
        ))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn client_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        CLIENT_JS,
    )
}

async fn status(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let errors = shared
        .errors
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let build = shared.builds.load(std::sync::atomic::Ordering::SeqCst);
    let body = serde_json::json!({ "errors": errors, "build": build }).to_string();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
}

/// Maps a request path to a file under the output folder, or None when the
/// path could leave it (`..`, backslashes, NUL, absolute parts, encoded or not).
pub fn resolve(output: &Path, base: &str, request_path: &str) -> Option<PathBuf> {
    let mut path = output.to_path_buf();
    for part in site_path(base, request_path)?.split('/') {
        if !part.is_empty() {
            path.push(part);
        }
    }
    Some(path)
}

/// As [`resolve`], the path relative to the site's root, its parts joined
/// by `/` ("" for the root).
pub fn site_path(base: &str, request_path: &str) -> Option<String> {
    let rest = request_path.strip_prefix(base).or_else(|| {
        // "/repo" without the final slash is the site's root too.
        (request_path == base.trim_end_matches('/')).then_some("")
    })?;
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    if decoded.contains('\\') || decoded.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for part in decoded.split('/') {
        if part.is_empty() {
            continue;
        }
        let component = Path::new(part).components().next()?;
        if !matches!(component, Component::Normal(_)) || part == "." || part == ".." {
            return None;
        }
        parts.push(part);
    }
    Some(parts.join("/"))
}

async fn file(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let request_path = uri.path();
    if !request_path.starts_with(&shared.base) && request_path == "/" {
        return redirect(&shared.base);
    }
    if let Some(site) = &shared.site {
        return from_memory(&shared, site, request_path);
    }
    let Some(mut path) = resolve(&shared.output, &shared.base, request_path) else {
        return not_found(&shared).await;
    };
    if path.is_dir() {
        if !request_path.ends_with('/') {
            return redirect(&format!("{request_path}/"));
        }
        path.push("index.html");
    }
    // Symbolic links must not lead out of the output folder either.
    let inside = match (
        tokio::fs::canonicalize(&path).await,
        tokio::fs::canonicalize(&shared.output).await,
    ) {
        (Ok(file), Ok(root)) => file.starts_with(root),
        _ => false,
    };
    if !inside {
        return not_found(&shared).await;
    }
    // Counted before reading: a build finishing in between makes the page
    // look older than it is (one reload too many), never newer.
    let build = shared.builds.load(std::sync::atomic::Ordering::SeqCst);
    match tokio::fs::read(&path).await {
        Ok(bytes) => respond(&shared, &path, bytes, StatusCode::OK, build),
        Err(_) => not_found(&shared).await,
    }
}

/// As [`file`], from the site in memory.
fn from_memory(shared: &Shared, site: &memory::Site, request_path: &str) -> Response {
    // Counted before looking: see [`file`].
    let build = shared.builds.load(std::sync::atomic::Ordering::SeqCst);
    let found = site_path(&shared.base, request_path).map(|rel| (site.find(&rel), rel));
    let (bytes, rel) = match found {
        Some((memory::Found::File(bytes), rel)) => (bytes, rel),
        Some((memory::Found::Folder, rel)) => {
            if !request_path.ends_with('/') {
                return redirect(&format!("{request_path}/"));
            }
            let index = match rel.as_str() {
                "" => "index.html".to_string(),
                _ => format!("{rel}/index.html"),
            };
            match site.find(&index) {
                memory::Found::File(bytes) => (bytes, index),
                _ => return memory_not_found(shared, site, build),
            }
        }
        _ => return memory_not_found(shared, site, build),
    };
    respond(shared, Path::new(&rel), bytes, StatusCode::OK, build)
}

fn memory_not_found(shared: &Shared, site: &memory::Site, build: u64) -> Response {
    match site.find("404.html") {
        memory::Found::File(bytes) => respond(
            shared,
            Path::new("404.html"),
            bytes,
            StatusCode::NOT_FOUND,
            build,
        ),
        _ => no_such_page(shared, build),
    }
}

async fn not_found(shared: &Shared) -> Response {
    let page = shared.output.join("404.html");
    let build = shared.builds.load(std::sync::atomic::Ordering::SeqCst);
    match tokio::fs::read(&page).await {
        Ok(bytes) => respond(shared, &page, bytes, StatusCode::NOT_FOUND, build),
        Err(_) => no_such_page(shared, build),
    }
}

/// A 404 for a site without its own 404 page (none built yet: the first
/// build failed). It carries the reload client, so that the build errors
/// show in it and the page reloads once a build succeeds.
fn no_such_page(shared: &Shared, build: u64) -> Response {
    let page =
        b"<!doctype html><html><head><meta charset=\"utf-8\"><title>Not found</title></head>\
<body><p>Nothing here: the site has no such page, or has not been built yet.</p></body></html>";
    respond(
        shared,
        Path::new("404.html"),
        page.to_vec(),
        StatusCode::NOT_FOUND,
        build,
    )
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn respond(
    shared: &Shared,
    path: &Path,
    content: impl Into<memory::Content>,
    status: StatusCode,
    build: u64,
) -> Response {
    let content: memory::Content = content.into();
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let is_html = mime.essence_str() == "text/html";
    let content_type = match mime.type_() {
        mime_guess::mime::TEXT => format!("{}; charset=utf-8", mime.essence_str()),
        _ if mime.essence_str() == "application/javascript" => {
            "text/javascript; charset=utf-8".into()
        }
        _ => mime.essence_str().to_string(),
    };
    let body = match content.parts() {
        _ if is_html => Body::from(inject_client(&shared.base, build, &content.to_bytes())),
        [one] => Body::from(one.clone()),
        // An export kept as its lines: sent as they are, not joined.
        parts => {
            let content = content.clone();
            Body::from_stream(tokio_stream::iter((0..parts.len()).map(move |i| {
                Ok::<Bytes, std::convert::Infallible>(content.parts()[i].clone())
            })))
        }
    };
    let length = content.len();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if !is_html {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Adds the reload client before `</body>` (or at the end), with the number
/// of the build the page was read from.
pub fn inject_client(base: &str, build: u64, html: &[u8]) -> Vec<u8> {
    let tag = format!(
        "<script src=\"{base}{PREFIX}reload.js\" data-base=\"{base}\" data-build=\"{build}\" defer></script>"
    );
    let at = html
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(html.len());
    let mut page = Vec::with_capacity(html.len() + tag.len());
    page.extend_from_slice(&html[..at]);
    page.extend_from_slice(tag.as_bytes());
    page.extend_from_slice(&html[at..]);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_and_refuses_traversal() {
        let out = Path::new("/site");
        assert_eq!(
            resolve(out, "/", "/articles/a/"),
            Some(PathBuf::from("/site/articles/a"))
        );
        assert_eq!(
            resolve(out, "/repo/", "/repo/x%20y.html"),
            Some(PathBuf::from("/site/x y.html"))
        );
        assert_eq!(
            resolve(out, "/repo/", "/repo"),
            Some(PathBuf::from("/site"))
        );
        for bad in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/a/%2E%2E/%2E%2E/x",
            "/..%2fx",
            "/a%5c..%5cx",
            "/%00",
            "/a/./b",
        ] {
            assert_eq!(resolve(out, "/", bad), None, "{bad}");
        }
        assert_eq!(resolve(out, "/repo/", "/other/x"), None);
    }

    #[test]
    fn injects_before_body_end() {
        let html = inject_client("/r/", 7, b"<html><body>x</body></html>");
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains("x<script src=\"/r/__dossier/reload.js\""),
            "{html}"
        );
        assert!(html.ends_with("</script></body></html>"));
        assert!(
            html.contains("data-build=\"7\""),
            "the page's build: {html}"
        );
    }
}
