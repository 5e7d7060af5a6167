//! `dossier serve` and `dossier add`, as a user runs them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A running `dossier serve --port 0`, killed when dropped.
struct Server {
    child: Child,
    /// "127.0.0.1:PORT"
    addr: String,
    /// The base path it serves under.
    base: String,
}

impl Server {
    /// The site kept in memory, as a user starts it.
    fn start(d: &Dossier) -> Server {
        Server::start_with(d, &[])
    }

    /// `--render-to-disk` into the dossier's "preview" output.
    fn start_on_disk(d: &Dossier) -> Server {
        let out = d.out("preview");
        Server::start_with(d, &["--render-to-disk", "--output", out.to_str().unwrap()])
    }

    fn start_with(d: &Dossier, args: &[&str]) -> Server {
        let server = Server::launch(d, args);
        server.wait_until(|s| s.get("").0 == 200);
        server
    }

    /// Started, and its URL printed: a first build may have failed.
    fn launch(d: &Dossier, args: &[&str]) -> Server {
        let root = d.root.to_str().unwrap();
        let mut child = Command::new(bin())
            .args(["--root", root, "serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dossier serve");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        // Keep reading what it prints, as a terminal would.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        // The first line is the URL.
        let url = first
            .trim()
            .strip_prefix("http://")
            .expect("first line is the URL")
            .to_string();
        let (addr, path) = url.split_at(url.find('/').unwrap());
        Server {
            child,
            addr: addr.to_string(),
            base: path.to_string(),
        }
    }

    /// (status, body) of GET base+path; `raw` paths are sent as they are.
    fn get(&self, path: &str) -> (u16, String) {
        self.get_raw(&format!("{}{path}", self.base))
    }

    fn get_raw(&self, target: &str) -> (u16, String) {
        let Ok(mut stream) = TcpStream::connect(&self.addr) else {
            return (0, String::new());
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn wait_until(&self, ready: impl Fn(&Server) -> bool) {
        let start = Instant::now();
        while !ready(self) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "server did not get there in 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_pages_404s_and_nothing_outside_the_site() {
    let d = Dossier::example();
    {
        let s = Server::start_on_disk(&d);
        serves_the_site_and_nothing_else(&d, &s);
        // Built output on disk has no reload client: it is added by the server.
        let page = std::fs::read_to_string(d.out("preview").join("index.html")).unwrap();
        assert!(!page.contains("__dossier"));
    }
    let s = Server::start(&d);
    serves_the_site_and_nothing_else(&d, &s);
    // In memory, the files are a build's: the largest export (kept as its
    // lines) byte for byte, the pages but for the reload client.
    let built = d.out("built");
    d.build(&built, &[]).assert_ok();
    let records = std::fs::read_to_string(built.join("data/records.json")).unwrap();
    assert_eq!(s.get("data/records.json"), (200, records));
    let (_, page) = s.get("articles/004-fdb09750b2c18041/");
    let client = format!("<script src=\"{}__dossier/", s.base);
    let page = page.replace(
        &page[page.find(&client).unwrap()..page.rfind("</body>").unwrap()],
        "",
    );
    let file = built.join("articles/004-fdb09750b2c18041/index.html");
    assert_eq!(page, std::fs::read_to_string(file).unwrap());
    assert!(
        !d.path("public").exists(),
        "nothing written without --render-to-disk"
    );
}

/// What both ways of serving must do: pages, the site's 404 with status
/// 404, folders redirected to their slash, no path leading out.
fn serves_the_site_and_nothing_else(d: &Dossier, s: &Server) {
    let (status, body) = s.get("");
    assert_eq!(status, 200);
    assert!(
        body.contains("__dossier/reload.js"),
        "the preview injects its reload client"
    );
    assert_eq!(s.get("static/style.css").0, 200);
    let (status, body) = s.get("no/such/page/");
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"), "the site's own 404 page");
    // A folder without its slash is redirected, as GitHub Pages does.
    assert_eq!(s.get("timeline").0, 302);

    std::fs::write(d.tmp.path().join("secret.txt"), "secret").unwrap();
    for attack in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%5csecret.txt",
        "/static/..%2f..%2fsecret.txt",
        "//etc/passwd",
        "/%00",
    ] {
        let (status, body) = s.get_raw(attack);
        assert!(status == 404 || status == 400, "{attack}: {status}");
        assert!(
            !body.contains("secret") && !body.contains("root:"),
            "{attack} leaked a file"
        );
    }
}

#[test]
fn edits_rebuild_reload_and_broken_edits_show_their_error() {
    let d = Dossier::example();
    let s = Server::start(&d);

    // Listen for live-reload events.
    let mut events = TcpStream::connect(&s.addr).unwrap();
    write!(
        events,
        "GET {}__dossier/events HTTP/1.1\r\nHost: x\r\n\r\n",
        s.base
    )
    .unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut events = BufReader::new(events);
    let mut next_event = move || -> String {
        let mut line = String::new();
        loop {
            line.clear();
            if events.read_line(&mut line).unwrap_or(0) == 0 {
                return String::new();
            }
            if let Some(kind) = line.trim().strip_prefix("event: ") {
                return kind.to_string();
            }
        }
    };

    let sidecar = "content/articles/004_fdb09750b2c18041.toml";
    let text = d.read(sidecar);
    d.write(
        sidecar,
        format!("{text}\nnote = \"Checked against the print edition.\"\n"),
    );
    assert_eq!(next_event(), "reload");
    let page = "articles/004-fdb09750b2c18041/";
    s.wait_until(|s| s.get(page).1.contains("Checked against the print edition."));

    // A new article, then removed: rebuilds look only at the files the
    // watcher names, so these must be named.
    let added = "content/articles/zz-arrived.txt";
    d.write(added, "Et nyt notat om Lukasjenko.\n\nAndet afsnit.\n");
    assert_eq!(next_event(), "reload");
    s.wait_until(|s| s.get("articles/zz-arrived/").0 == 200);
    std::fs::remove_file(d.path(added)).unwrap();
    assert_eq!(next_event(), "reload");
    s.wait_until(|s| s.get("articles/zz-arrived/").0 == 404);

    // A misquote: the build fails, the last good site stays up, and the
    // error, with its file and line, is what open pages are sent.
    let event = "content/events/2023-05-shoigu-khrenin-nuclear-agreement.md";
    let original = d.read(event);
    let quote_line = original
        .lines()
        .position(|l| l.starts_with("quote"))
        .unwrap()
        + 1;
    let first_quote = original.lines().find(|l| l.starts_with("quote")).unwrap();
    let broken_quote = first_quote.replacen("avtal", "fördrag", 1);
    assert_ne!(first_quote, broken_quote, "one word changed");
    d.write(event, original.replacen(first_quote, &broken_quote, 1));
    assert_eq!(next_event(), "failed");
    let (_, status) = s.get("__dossier/status");
    assert!(
        status.contains(&format!("{event}:{quote_line}: error: quote not found")),
        "{status}"
    );
    assert_eq!(s.get(page).0, 200, "the previous site is still served");

    // Fixing the file recovers without a restart.
    d.write(event, &original);
    assert_eq!(next_event(), "reload");
    assert!(s.get("__dossier/status").1.contains("\"errors\":null"));
}

/// A dossier broken from the start: there is no site yet, and the page
/// shown instead carries the reload client (so the error shows in it),
/// then the site once the file is fixed.
#[test]
fn a_first_build_that_fails_shows_its_error_and_recovers() {
    let d = Dossier::example();
    let event = "content/events/2023-05-shoigu-khrenin-nuclear-agreement.md";
    let original = d.read(event);
    d.write(event, original.replacen("avtal", "fördrag", 1));
    let s = Server::launch(&d, &[]);
    s.wait_until(|s| s.get("__dossier/status").1.contains("quote not found"));
    let (status, page) = s.get("");
    assert_eq!(status, 404);
    assert!(page.contains("__dossier/reload.js"), "{page}");
    d.write(event, &original);
    s.wait_until(|s| s.get("").0 == 200);
    assert!(s.get("__dossier/status").1.contains("\"errors\":null"));
}

#[test]
fn add_copies_under_a_new_name_and_writes_a_sidecar() {
    let d = Dossier::example();
    let clip = d.tmp.path().join("Clip from the web.txt");
    std::fs::write(
        &clip,
        " date 2023-06-01 Lukasjenko sa at kjernevåpen er på plass i Belarus.\n\nMer tekst.\n",
    )
    .unwrap();
    let clip_arg = clip.to_str().unwrap();
    let out = d.run(&[
        "add",
        clip_arg,
        "--outlet",
        "NRK",
        "--url",
        "https://example.org/a",
    ]);
    out.assert_ok();
    assert!(out.stdout.contains("date:     2023-06-01"), "{out}");
    assert!(out.stdout.contains("alexander-lukashenko"), "{out}");
    let added = d.path("content/articles/clip-from-the-web.txt");
    assert_eq!(
        std::fs::read(&added).unwrap(),
        std::fs::read(&clip).unwrap(),
        "copied byte for byte"
    );
    let sidecar = d.read("content/articles/clip-from-the-web.toml");
    assert!(sidecar.contains("outlet = \"NRK\""), "{sidecar}");
    assert!(sidecar.contains("added = \""), "{sidecar}");

    // Adding it again never overwrites: a second name, and a warning.
    let out = d.run(&["add", clip_arg]);
    out.assert_ok();
    assert!(d.path("content/articles/clip-from-the-web-2.txt").exists());
    assert!(
        out.stderr.contains("nearly duplicates clip-from-the-web"),
        "{out}"
    );

    // An undated clipping is added with a warning; a bad --date is refused.
    let undated = d.tmp.path().join("undated.txt");
    std::fs::write(&undated, "Ingen dato.\n").unwrap();
    let out = d.run(&["add", undated.to_str().unwrap()]);
    assert!(out.stderr.contains("no date"), "{out}");
    d.run(&["add", undated.to_str().unwrap(), "--date", "2023-13-01"])
        .assert_fails();
    d.build_ok("site", &[]);
}

/// Threads of a running process, from /proc.
fn threads(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn many_connections_do_not_start_hundreds_of_threads() {
    // Regression: 64 busy connections made tokio's blocking pool (512 by
    // default) start ~330 threads and the server hold ~900 MB.
    let d = Dossier::example();
    let server = Server::start(&d);
    let pid = server.child.id();
    let idle = threads(pid);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..64)
        .map(|i| {
            let addr = server.addr.clone();
            let base = server.base.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let paths = [
                    "",
                    "timeline/",
                    "articles/",
                    "feed.xml",
                    "data/records.json",
                ];
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(mut s) = TcpStream::connect(&addr) {
                        let path = paths[(i + n) % paths.len()];
                        let _ = write!(
                            s,
                            "GET {base}{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        );
                        let _ = s.read_to_end(&mut Vec::new());
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut most = idle;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        most = most.max(threads(pid));
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(served > 64, "only {served} requests served");
    assert!(most <= idle + 8, "{most} threads under load, {idle} idle");
    assert_eq!(server.get("").0, 200);
}

/// "Recently added" on the index: the eight newest by the day added (the
/// sidecar's `added`), else by the article's own date, newest first.
#[test]
fn recently_added_lists_the_eight_newest_by_the_day_added() {
    let d = Dossier::empty();
    d.write("dossier.toml", "title = \"Recent\"\n");
    // Forty articles dated a day apart; every third added on a scrambled
    // day of 2024 (some the same day), and one added long before its date.
    let mut expected: Vec<(String, String)> = Vec::new();
    for n in 0..40usize {
        let date = format!("2023-{:02}-{:02}", 1 + n / 28, 1 + n % 28);
        d.write(
            &format!("content/articles/a{n:02}.md"),
            format!("---\ntitle: Article {n}\ndate: {date}\nlanguage: sv\n---\n\nText {n}.\n"),
        );
        let added = match n {
            39 => Some("2022-06-01".to_string()),
            n if n % 3 == 0 => Some(format!("2024-{:02}-01", 1 + (n * 7) % 5)),
            _ => None,
        };
        if let Some(added) = &added {
            d.write(
                &format!("content/articles/a{n:02}.toml"),
                format!("added = \"{added}\"\n"),
            );
        }
        expected.push((added.unwrap_or(date), format!("a{n:02}")));
    }
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = expected[..8]
        .iter()
        .map(|(_, id)| {
            format!(
                "Article {}",
                id[1..]
                    .trim_start_matches('0')
                    .parse::<usize>()
                    .unwrap_or(0)
            )
        })
        .collect();
    let out = d.build_ok("site", &[]);
    let index = read_html(&out.join("index.html"));
    let recent = index
        .select(&sel("section"))
        .find(|s| s.select(&sel("h2")).any(|h| text_of(h) == "Recently added"))
        .expect("a Recently added section");
    let titles: Vec<String> = recent
        .select(&sel("li a"))
        .map(text_of)
        .filter(|t| t.starts_with("Article"))
        .collect();
    assert_eq!(titles, expected);
}
