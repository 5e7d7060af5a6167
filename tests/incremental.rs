//! Rebuilds after edits render only what changed, and the result is always
//! byte-identical to a clean build of the same input.

mod common;

use common::*;

/// Builds `d` into its long-lived output, then into a fresh folder, and
/// asserts both hold the same files, byte for byte.
fn assert_same_as_clean(d: &Dossier, live: &std::path::Path, step: &str) -> String {
    let report = d.build(live, &[]).assert_ok().stdout.clone();
    let clean = d.out(&format!("clean-{step}"));
    // Clean: without the article cache the live builds left.
    let _ = std::fs::remove_dir_all(d.path(".dossier-cache"));
    d.build(&clean, &[]).assert_ok();
    assert_same_files(live, &clean, step);
    report
}

/// `live` and `clean` hold the same files, byte for byte.
fn assert_same_files(live: &std::path::Path, clean: &std::path::Path, step: &str) {
    assert_same_contents(&site_files(live), &site_files(clean), step);
}

/// The same paths, each with the same bytes.
fn assert_same_contents(
    a: &std::collections::BTreeMap<String, Vec<u8>>,
    b: &std::collections::BTreeMap<String, Vec<u8>>,
    step: &str,
) {
    let a_paths: Vec<_> = a.keys().collect();
    let b_paths: Vec<_> = b.keys().collect();
    assert_eq!(a_paths, b_paths, "{step}: the same files");
    for (path, bytes) in a {
        assert!(
            bytes == &b[path],
            "{step}: {path} differs from a clean build"
        );
    }
}

/// A clean build of `d` (no article cache on disk either) into a fresh
/// folder named after `step`.
fn clean_build(d: &Dossier, step: &str) -> (std::path::PathBuf, dossier::BuildReport) {
    let clean = d.out(&format!("clean-{step}"));
    let _ = std::fs::remove_dir_all(d.path(".dossier-cache"));
    let report = dossier::build(&options_into(d, &clean)).expect("clean build");
    (clean, report)
}

/// Options of a build of `d` into `output`.
fn options_into(d: &Dossier, output: &std::path::Path) -> dossier::BuildOptions {
    dossier::BuildOptions {
        root: d.root.clone(),
        output: Some(output.to_path_buf()),
        base_url: None,
        drafts: false,
    }
}

/// Builds with the preview server's cache into `options`' output, then
/// cleanly (no article cache on disk either) into a fresh folder: the same
/// files, and the same diagnostics.
fn assert_cached_same_as_clean(
    d: &Dossier,
    options: &dossier::BuildOptions,
    cache: &mut dossier::build::BuildCache,
    step: &str,
) {
    let cached = dossier::build::build_with_cache(options, Some(cache)).expect("cached build");
    let (clean, fresh) = clean_build(d, step);
    assert_same_files(options.output.as_deref().expect("an output"), &clean, step);
    let show = |r: &dossier::BuildReport| {
        r.diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(show(&cached), show(&fresh), "{step}: the same diagnostics");
}

/// "N files (W written, U unchanged)" from the summary line.
/// The cache of a process whose watcher reports every change (`serve`).
fn watching_cache() -> dossier::build::BuildCache {
    let mut cache = dossier::build::BuildCache::default();
    cache.articles.watching = true;
    cache
}

/// What the watcher would report: `changed`, relative to the root.
fn report_changes(cache: &mut dossier::build::BuildCache, changed: &[&str]) {
    let paths = changed.iter().map(std::path::PathBuf::from);
    cache.articles.saw_changes(paths);
}

fn written(report: &str) -> usize {
    let part = report.split(" written").next().unwrap_or("");
    part.rsplit('(')
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap_or(usize::MAX)
}

#[test]
fn every_kind_of_edit_gives_what_a_clean_build_gives() {
    let d = Dossier::example();
    let live = d.out("live");
    d.build(&live, &[]).assert_ok();

    let report = assert_same_as_clean(&d, &live, "unchanged");
    assert_eq!(
        written(&report),
        0,
        "an unchanged rebuild writes nothing: {report}"
    );

    // A new article.
    d.write(
        "content/articles/new-one.txt",
        " date 2022-06-30 Lukasjenko sa at Iskander-rakettene kommer snart til Belarus.\n\nEn ny artikkel.\n",
    );
    let report = assert_same_as_clean(&d, &live, "added");
    let files = site_files(&live).len();
    assert!(
        written(&report) < files / 2,
        "adding one article rewrites a part of the site: {report}"
    );

    // A sidecar's title, which shows on many pages (cards, neighbours).
    d.write(
        "content/articles/new-one.toml",
        "title = \"A changed title\"\noutlet = \"Test Outlet\"\n",
    );
    assert_same_as_clean(&d, &live, "sidecar");

    // An event's title and a citation's note.
    let event = "content/events/2022-06-25-putin-pledges-iskander-m.md";
    let text = d.read(event);
    let title_line = text
        .lines()
        .find(|l| l.starts_with("title"))
        .unwrap()
        .to_string();
    d.edit(
        event,
        &title_line,
        "title = \"Putin promises Iskander-M to Belarus\"",
    );
    assert_same_as_clean(&d, &live, "event");

    // A theme renamed: every page naming it changes.
    let themes = d.read("content/themes.toml");
    let name_line = themes
        .lines()
        .find(|l| l.starts_with("name"))
        .unwrap()
        .to_string();
    d.edit(
        "content/themes.toml",
        &name_line,
        "name = \"Renamed theme\"",
    );
    assert_same_as_clean(&d, &live, "theme");

    // A template override.
    let base = std::fs::read_to_string(repo().join("templates/base.html")).unwrap();
    d.write(
        "templates/base.html",
        base.replace("Skip to content", "Skip to the text"),
    );
    assert_same_as_clean(&d, &live, "template");

    // The article removed again: its page disappears.
    std::fs::remove_file(d.path("content/articles/new-one.txt")).unwrap();
    std::fs::remove_file(d.path("content/articles/new-one.toml")).unwrap();
    assert_same_as_clean(&d, &live, "removed");
    assert!(!live.join("articles/new-one").exists());
}

/// The preview server keeps records between rebuilds: what it builds after
/// each edit must equal a clean build too, diagnostics included.
#[test]
fn cached_records_give_what_a_clean_build_gives() {
    use dossier::build::BuildCache;

    let d = Dossier::example();
    let options = options_into(&d, &d.out("live"));
    let mut cache = BuildCache::default();
    let step = |name: &str, cache: &mut BuildCache| {
        assert_cached_same_as_clean(&d, &options, cache, name);
    };
    step("first", &mut cache);
    assert_eq!(cache.articles.entries.len(), 5);
    assert!(!cache.memo.is_empty(), "the memo keeps what the build made");
    d.write(
        "content/articles/undated.txt",
        "Et udateret notat om Lukasjenko.\n",
    );
    step("added", &mut cache);
    d.write("content/articles/undated.toml", "date = \"2022-07\"\n");
    step("sidecar", &mut cache);
    let themes = d.read("content/themes.toml");
    d.write(
        "content/themes.toml",
        themes.replacen("keywords = [", "keywords = [\"notat\", ", 1),
    );
    step("taxonomy", &mut cache);
    // An event's summary and a quote's article: the memo's search
    // analyses, cards and verified quotes must follow.
    let event = "content/events/2022-06-25-putin-pledges-iskander-m.md";
    let text = d.read(event);
    d.write(event, format!("{text}\nMinsk welcomed the pledge.\n"));
    step("event", &mut cache);
    d.write(event, text);
    step("event back", &mut cache);
    std::fs::remove_file(d.path("content/articles/undated.txt")).unwrap();
    step("removed", &mut cache);
    assert_eq!(cache.articles.entries.len(), 5);
}

/// With a watcher reporting what changed (as `dossier serve` does), a
/// rebuild looks only at the reported paths: each reported edit gives what
/// a clean build gives, and an unreported one is not seen until the
/// watcher says it lost events.
#[test]
fn reported_changes_are_all_a_watched_build_looks_at() {
    use dossier::build::BuildCache;

    let d = Dossier::example();
    let options = options_into(&d, &d.out("live"));
    let mut cache = watching_cache();
    let step = |name: &str, cache: &mut BuildCache, changed: &[&str]| {
        report_changes(cache, changed);
        assert_cached_same_as_clean(&d, &options, cache, name);
    };
    step("first", &mut cache, &[]);
    d.write(
        "content/articles/new.txt",
        "Et notat om Lukasjenko og Iskander.\n",
    );
    step("added", &mut cache, &["content/articles/new.txt"]);
    d.write("content/articles/new.toml", "date = \"2022-07\"\n");
    step("sidecar added", &mut cache, &["content/articles/new.toml"]);
    let event = "content/events/2022-06-25-putin-pledges-iskander-m.md";
    let text = d.read(event);
    d.write(event, format!("{text}\nMinsk welcomed the pledge.\n"));
    step("event", &mut cache, &[event]);
    // Hidden files are never listed; `x~` files are, with a warning.
    d.write("content/articles/.new.txt.swp", "editor state");
    d.write("content/articles/new.txt~", "a backup");
    step(
        "backup files",
        &mut cache,
        &["content/articles/.new.txt.swp", "content/articles/new.txt~"],
    );
    // A folder appears: a walk finds what is in it.
    d.write("content/articles/2024/later.txt", "Et senere notat.\n");
    step("folder", &mut cache, &["content/articles/2024"]);
    std::fs::remove_dir_all(d.path("content/articles/2024")).unwrap();
    step("folder removed", &mut cache, &["content/articles/2024"]);
    std::fs::remove_file(d.path("content/articles/new.toml")).unwrap();
    step(
        "sidecar removed",
        &mut cache,
        &["content/articles/new.toml"],
    );

    // An edit nobody reported is not looked at...
    d.write("content/articles/new.txt", "Et helt andet notat.\n");
    let unreported = dossier::build::build_with_cache(&options, Some(&mut cache)).unwrap();
    let page = std::fs::read_to_string(
        options
            .output
            .as_ref()
            .unwrap()
            .join("articles/new/index.html"),
    )
    .unwrap();
    assert!(page.contains("Iskander"), "the unreported edit is not seen");
    assert_eq!(unreported.written, 0, "nothing changed as far as it knows");
    // ...until the watcher says events were lost: then every file is.
    cache.articles.lost_changes();
    step("lost events", &mut cache, &[]);
    std::fs::remove_file(d.path("content/articles/new.txt")).unwrap();
    step("removed", &mut cache, &["content/articles/new.txt"]);
}

/// All lines of the cache's shards but their headers.
fn cached_lines(d: &Dossier) -> Vec<String> {
    let dir = d.path(".dossier-cache/articles");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("the cache's folder")
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        assert!(
            text.starts_with("{\"format\":1,"),
            "a header first: {text:.80}"
        );
        lines.extend(text.lines().skip(1).map(str::to_string));
    }
    lines.sort();
    lines
}

/// `dossier build` keeps its records in `.dossier-cache/` and re-reads only
/// the articles whose files changed; a cache from another program, other
/// settings or a damaged one is ignored.
#[test]
fn build_reuses_the_records_it_left_on_disk() {
    let d = Dossier::example();
    let live = d.out("live");
    d.build(&live, &[]).assert_ok();
    let lines = cached_lines(&d);
    assert_eq!(lines.len(), 5, "one line an article");

    // The cache is read: a record planted in it (its article's file
    // unchanged) is what the next build shows.
    let seed = "000_8efa8f5a46d18ba7";
    let title = read_json(&live.join("data/records.json"))
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == seed)
        .unwrap()["title"]
        .as_str()
        .unwrap()
        .to_string();
    let shards = d.path(".dossier-cache/articles");
    let planted = std::fs::read_dir(&shards)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| std::fs::read_to_string(p).unwrap().contains(&title))
        .unwrap();
    let text = std::fs::read_to_string(&planted).unwrap();
    let field = format!("\"title\":{}", serde_json::to_string(&title).unwrap());
    assert!(text.contains(&field));
    std::fs::write(
        &planted,
        text.replacen(&field, "\"title\":\"Planted in the cache\"", 1),
    )
    .unwrap();
    // (Into a new folder: the live one would keep its pages, whose keys
    // did not change.)
    let fresh = d.out("fresh");
    d.build(&fresh, &[]).assert_ok();
    let planted_title = records(&fresh)[seed]["title"].clone();
    assert_eq!(
        planted_title, "Planted in the cache",
        "the cached record was not used"
    );

    // Its article edited (a new stamp): re-read, and the cache follows.
    let sidecar = format!("content/articles/{seed}.toml");
    let text = d.read(&sidecar);
    d.write(&sidecar, format!("{text}\nnote = \"re-read\"\n"));
    assert_same_as_clean(&d, &live, "edited");
    assert!(cached_lines(&d).iter().any(|l| l.contains("re-read")));
    assert!(!cached_lines(&d).iter().any(|l| l.contains("Planted")));

    // What a killed build left beside the shards is cleared by the next.
    std::fs::write(shards.join("07.jsonl.1.new"), "half a shard").unwrap();
    d.write(&sidecar, format!("{text}\nnote = \"again\"\n"));
    d.build(&live, &[]).assert_ok();
    assert!(!shards.join("07.jsonl.1.new").exists(), "a leftover stayed");

    // Damaged or foreign shards are ignored, and rewritten.
    for entry in std::fs::read_dir(&shards).unwrap().flatten() {
        let path = entry.path();
        let text = std::fs::read_to_string(&path).unwrap();
        let damaged = if path.ends_with("00.jsonl") {
            "not json\n".to_string()
        } else {
            text.replacen("\"program\":\"dossier", "\"program\":\"other", 1)
        };
        std::fs::write(&path, damaged).unwrap();
    }
    std::fs::write(
        d.path("content/articles/000_8efa8f5a46d18ba7.toml"),
        d.read("content/articles/000_8efa8f5a46d18ba7.toml"),
    )
    .unwrap();
    assert_same_as_clean(&d, &live, "foreign cache");
    assert_eq!(cached_lines(&d).len(), 5);

    // A removed article leaves the cache.
    std::fs::remove_file(d.path("content/articles/002_a3637277b07c1ceb.txt")).unwrap();
    let _ = std::fs::remove_file(d.path("content/articles/002_a3637277b07c1ceb.toml"));
    let events = std::fs::read_dir(d.path("content/events")).unwrap();
    for e in events.flatten() {
        if std::fs::read_to_string(e.path())
            .unwrap()
            .contains("002_a3637277b07c1ceb")
        {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    assert_same_as_clean(&d, &live, "removed");
    assert_eq!(cached_lines(&d).len(), 4);
}

/// The files of `.dossier-cache/search/`, by name.
fn search_cache(d: &Dossier) -> std::collections::BTreeMap<String, Vec<u8>> {
    site_files(&d.path(".dossier-cache/search"))
}

/// `dossier build` keeps the search index's analyses beside the records
/// (the vocabulary and a file a run of documents), and where its quotes
/// stand; a site made from them, damaged ones or none is the site a clean
/// build makes.
#[test]
fn build_keeps_the_search_analyses_on_disk() {
    let d = Dossier::example();
    let live = d.out("live");
    d.build(&live, &[]).assert_ok();
    let kept = search_cache(&d);
    assert!(kept.contains_key("vocabulary.bin"), "{:?}", kept.keys());
    let runs: Vec<&String> = kept
        .keys()
        .filter(|n| n.len() == 36 && n.ends_with(".bin"))
        .collect();
    assert!(!runs.is_empty(), "{:?}", kept.keys());
    for bytes in kept.values() {
        assert!(bytes.starts_with(b"{\"format\":1,"), "a header first");
    }

    // Unchanged: the files stay as they are.
    d.write(
        "content/articles/000_8efa8f5a46d18ba7.toml",
        d.read("content/articles/000_8efa8f5a46d18ba7.toml") + "\n",
    );
    assert_same_as_clean_keeping_cache(&d, &live, "unchanged");

    // A new article with words no other has: the vocabulary grows.
    d.write("content/articles/900_new.txt", "Zyxwvutsrq quarterdeck\n\nDate: 2023-05-02\n\nA quarterdeck of zyxwvutsrq words nobody wrote.\n");
    assert_same_as_clean_keeping_cache(&d, &live, "added");
    let grown = search_cache(&d);
    assert!(grown["vocabulary.bin"].len() > kept["vocabulary.bin"].len());

    // Damaged files (their header kept: the program's own) are not used,
    // and are written anew.
    let damage = |rel: &str| {
        let bytes = std::fs::read(d.path(rel)).unwrap();
        let header = bytes.split(|&b| b == b'\n').next().unwrap().to_vec();
        std::fs::write(
            d.path(rel),
            [header, b"\n\xff\x01 not postcard".to_vec()].concat(),
        )
        .unwrap();
    };
    for name in grown.keys().filter(|n| n.ends_with(".bin")) {
        damage(&format!(".dossier-cache/search/{name}"));
    }
    std::fs::write(d.path(".dossier-cache/search/00.bin.1.new"), "half a file").unwrap();
    // Where the quotes stood, too.
    damage(".dossier-cache/quotes.bin");
    d.write(
        "content/articles/900_new.txt",
        d.read("content/articles/900_new.txt") + "\nOne more line.\n",
    );
    assert_same_as_clean_keeping_cache(&d, &live, "damaged");
    let rewritten = search_cache(&d);
    assert!(!rewritten.contains_key("00.bin.1.new"), "a leftover stayed");
    assert!(rewritten.values().all(|b| b.starts_with(b"{\"format\":1,")));

    // A removed article's run goes with it; the index is a clean build's.
    std::fs::remove_file(d.path("content/articles/900_new.txt")).unwrap();
    assert_same_as_clean_keeping_cache(&d, &live, "removed");
}

/// `serve` starts from what the last `dossier build` left in
/// `.dossier-cache/` (records, search analyses, quotes' places): its first
/// build, and those after it from its memo (whose analyses then name the
/// stored vocabulary's ids), hold what a clean build writes.
#[test]
fn the_preview_starts_from_what_build_left_on_disk() {
    use dossier::build::{BuildCache, build_in_memory};

    let d = Dossier::example();
    // In this process: the cache names the program that wrote it.
    let built = options_into(&d, &d.out("built"));
    dossier::build(&built).expect("build");
    d.write(
        "content/articles/before.txt",
        "Zyxwvutsrq om Lukasjenko, skrevet før serve.\n",
    );
    dossier::build(&built).expect("build");
    let options = options_into(&d, &d.out("never-written"));
    let site = dossier::memory::Site::new();
    let mut cache = BuildCache::from_disk(&d.root);
    assert!(cache.left_on_disk.is_some());
    let step = |name: &str, cache: &mut BuildCache| {
        build_in_memory(&options, cache, &site).expect("build in memory");
        let (_copy, clean) = clean_build_of_a_copy(&d, name);
        assert_site_holds(&site, &clean, name);
    };
    step("first", &mut cache);
    assert!(cache.left_on_disk.is_none(), "for the first build only");
    d.write(
        "content/articles/after.txt",
        "Quarterdeck og zyxwvutsrq om Iskander, skrevet under serve.\n",
    );
    step("added", &mut cache);
    let event = "content/events/2022-06-25-putin-pledges-iskander-m.md";
    d.write(
        event,
        format!("{}\nMinsk welcomed the pledge.\n", d.read(event)),
    );
    step("event", &mut cache);
}

/// As [`assert_same_as_clean`], the clean build into a copy of the dossier
/// without any cache, so that `d`'s stays for the next step.
fn assert_same_as_clean_keeping_cache(d: &Dossier, live: &std::path::Path, step: &str) {
    d.build(live, &[]).assert_ok();
    let (_copy, clean) = clean_build_of_a_copy(d, step);
    assert_same_files(live, &clean, step);
}

/// A clean build of a copy of `d` without its cache (`d`'s stays): the
/// copy, which holds the output, and the output.
fn clean_build_of_a_copy(d: &Dossier, step: &str) -> (Dossier, std::path::PathBuf) {
    let copy = copy_of(d);
    let clean = copy.out(&format!("clean-{step}"));
    copy.build(&clean, &[]).assert_ok();
    (copy, clean)
}

/// The preview's site in memory holds `clean`'s files (but the marker of
/// an output folder).
fn assert_site_holds(site: &dossier::memory::Site, clean: &std::path::Path, step: &str) {
    let mut expected = site_files(clean);
    expected.remove(dossier::write::MARKER);
    let held = site
        .files()
        .into_iter()
        .map(|(path, bytes)| (path, bytes.to_vec()))
        .collect();
    assert_same_contents(&held, &expected, step);
}

/// The preview server's builds in memory, as `serve` runs them.
struct Preview {
    options: dossier::BuildOptions,
    site: dossier::memory::Site,
    cache: dossier::build::BuildCache,
}

impl Preview {
    fn of(d: &Dossier) -> Preview {
        Preview {
            options: options_into(d, &d.out("never-written")),
            site: dossier::memory::Site::new(),
            cache: watching_cache(),
        }
    }

    /// A rebuild after `changed`, as the watcher reports it.
    fn rebuild(
        &mut self,
        changed: &[&str],
    ) -> Result<dossier::BuildReport, Vec<dossier::diagnostics::Diagnostic>> {
        report_changes(&mut self.cache, changed);
        dossier::build::build_in_memory(&self.options, &mut self.cache, &self.site)
    }

    /// The example dossier, built once in a preview.
    fn started() -> (Dossier, Preview) {
        let d = Dossier::example();
        let mut preview = Preview::of(&d);
        preview.step(&d, "first", &[]);
        (d, preview)
    }

    /// Whether the site in memory has the file `path`.
    fn has(&self, path: &str) -> bool {
        matches!(self.site.find(path), dossier::memory::Found::File(_))
    }

    /// A rebuild that succeeds and holds what a clean build of `d` writes.
    fn step(&mut self, d: &Dossier, name: &str, changed: &[&str]) -> dossier::BuildReport {
        let report = self.rebuild(changed).expect("build in memory");
        assert_site_holds(&self.site, &clean_build(d, name).0, name);
        report
    }
}

/// The preview server's memo at a size where the search index has many
/// fragment files and merges its postings in several chunks (over 512
/// documents): each step's rebuild equals a clean build.
#[test]
fn the_memo_follows_edits_of_a_larger_dossier() {
    use dossier::build::BuildCache;

    let d = Dossier::example();
    let words = [
        "Iskander",
        "Minsk",
        "Lukasjenko",
        "raketter",
        "grænsen",
        "Moskva",
        "atomvåben",
        "øvelse",
        "Belarus",
        "forsvaret",
    ];
    for i in 0..600 {
        let text: Vec<&str> = (0..12)
            .map(|k| words[(i * 7 + k * 3) % words.len()])
            .collect();
        d.write(
            &format!("content/articles/gen-{i:04}.txt"),
            format!(
                "date 2022-{:02}-{:02} Notat {i} om {}.\n\n{}.\n",
                1 + i % 12,
                1 + i % 28,
                text[0],
                text.join(" ")
            ),
        );
    }
    d.write("content/articles/gen-0000.toml", "language = \"da\"\n");
    let options = options_into(&d, &d.out("live"));
    let mut cache = BuildCache::default();
    let mut step = |name: &str| assert_cached_same_as_clean(&d, &options, &mut cache, name);
    step("first");
    d.write(
        "content/articles/gen-0300b.txt",
        "date 2022-03-03 Et nyt notat om Iskander ved grænsen.\n",
    );
    step("added in the middle");
    d.write("content/articles/gen-0100.toml", "title = \"Retitled\"\n");
    step("retitled");
    std::fs::remove_file(d.path("content/articles/gen-0200.txt")).unwrap();
    step("removed");
    let themes = d.read("content/themes.toml");
    d.write(
        "content/themes.toml",
        themes.replacen("keywords = [", "keywords = [\"notat\", ", 1),
    );
    step("taxonomy");
}

/// The preview keeps its site in memory (`dossier serve` without
/// `--render-to-disk`): after each edit, reported as the watcher reports
/// it, the files it holds are a clean build's, byte for byte, and a
/// rebuild with nothing changed writes nothing.
#[test]
fn the_preview_in_memory_holds_what_a_clean_build_writes() {
    let d = Dossier::example();
    let mut preview = Preview::of(&d);
    let first = preview.step(&d, "first", &[]);
    assert_eq!(first.written, first.files);
    let again = preview.step(&d, "nothing changed", &[]);
    assert_eq!((again.written, again.unchanged), (0, again.files));

    d.write(
        "content/articles/new.txt",
        "Et notat om Lukasjenko og Iskander.\n",
    );
    let added = preview.step(&d, "added", &["content/articles/new.txt"]);
    assert!(
        added.written > 0 && added.written < added.files / 2,
        "only what names the new article is new: {} of {}",
        added.written,
        added.files
    );
    d.write("content/articles/new.toml", "date = \"2022-07\"\n");
    preview.step(&d, "sidecar", &["content/articles/new.toml"]);
    let event = "content/events/2022-06-25-putin-pledges-iskander-m.md";
    let text = d.read(event);
    d.write(event, format!("{text}\nMinsk welcomed the pledge.\n"));
    preview.step(&d, "event", &[event]);

    // A failed build leaves the site served as it was.
    let before = preview.site.files();
    d.write(event, text.replacen("+++", "+++\ndate = [", 1));
    assert!(preview.rebuild(&[event]).is_err());
    assert!(
        preview.site.files() == before,
        "a failed build changes nothing"
    );
    d.write(event, &text);
    preview.step(&d, "event fixed", &[event]);

    std::fs::remove_file(d.path("content/articles/new.txt")).unwrap();
    std::fs::remove_file(d.path("content/articles/new.toml")).unwrap();
    preview.step(
        &d,
        "removed",
        &["content/articles/new.txt", "content/articles/new.toml"],
    );
    assert!(
        !preview.options.output.as_ref().unwrap().exists(),
        "nothing on disk"
    );
}

/// An event the preview kept from its last build is used again only while
/// the articles it cites and links to are as they were: a cited article's
/// new slug moves the citation's link, a linked article added or removed
/// makes its link whole or broken, each as a clean build has it.
#[test]
fn a_kept_event_follows_the_articles_it_looks_up() {
    let d = Dossier::example();
    let mut preview = Preview::of(&d);
    let event = "content/events/2022-06-25-putin-pledges-iskander-m.md";
    let text = d.read(event);
    d.write(
        event,
        format!("{text} See also [a later note](@/articles/later).\n"),
    );
    d.write(
        "content/articles/later.txt",
        "date 2022-07-01 Et notat om Iskander.\n",
    );
    preview.step(&d, "linked", &[event, "content/articles/later.txt"]);

    // The cited article renamed: the event's file is unchanged.
    let sidecar = "content/articles/001_9b10334a7624b0a2.toml";
    let meta = d.read(sidecar);
    d.write(sidecar, format!("slug = \"ntb-renamed\"\n{meta}"));
    preview.step(&d, "cited renamed", &[sidecar]);
    let page = preview
        .site
        .find("events/2022-06-25-putin-pledges-iskander-m/index.html");
    let dossier::memory::Found::File(page) = page else {
        panic!("no event page")
    };
    let page = String::from_utf8(page.to_bytes().to_vec()).unwrap();
    assert!(
        page.contains("/articles/ntb-renamed/#p"),
        "citations link the new slug"
    );

    // The linked article renamed, then gone: the link follows, then breaks.
    d.write("content/articles/later.toml", "slug = \"later-renamed\"\n");
    preview.step(&d, "linked renamed", &["content/articles/later.toml"]);
    std::fs::remove_file(d.path("content/articles/later.txt")).unwrap();
    std::fs::remove_file(d.path("content/articles/later.toml")).unwrap();
    let errors = preview
        .rebuild(&["content/articles/later.txt", "content/articles/later.toml"])
        .expect_err("a broken link");
    assert!(
        errors.iter().any(|e| e.path == std::path::Path::new(event)
            && e.message.contains("broken link @/articles/later")),
        "{errors:?}"
    );
    d.write(event, &text);
    preview.step(&d, "link dropped", &[event]);
}

/// An event marked `draft = true` while the preview runs (without
/// `--drafts`) leaves the site, and comes back when unmarked: each step
/// equal to a clean build.
#[test]
fn a_draft_marked_in_the_preview_leaves_and_comes_back() {
    let (d, mut preview) = Preview::started();
    let event = "content/events/2022-05-lukashenko-ap-interview.md";
    let text = d.read(event);
    d.write(event, text.replacen("+++\n", "+++\ndraft = true\n", 1));
    let report = preview.step(&d, "marked", &[event]);
    assert_eq!(report.drafts_left_out, 1);
    assert!(
        !preview.has("events/2022-05-lukashenko-ap-interview/index.html"),
        "the draft's page is gone"
    );
    d.write(event, &text);
    let report = preview.step(&d, "unmarked", &[event]);
    assert_eq!(report.drafts_left_out, 0);
}

/// A former slug added to a sidecar while the preview runs gets its forward
/// page; taken out again, the page goes: each step equal to a clean build.
#[test]
fn an_alias_comes_and_goes_in_the_preview() {
    let (d, mut preview) = Preview::started();
    let sidecar = "content/articles/001_9b10334a7624b0a2.toml";
    let meta = d.read(sidecar);
    d.write(sidecar, format!("aliases = [\"old-ntb\"]\n{meta}"));
    preview.step(&d, "aliased", &[sidecar]);
    let forward = "articles/old-ntb/index.html";
    assert!(preview.has(forward), "the forward is made");
    d.write(sidecar, &meta);
    preview.step(&d, "unaliased", &[sidecar]);
    assert!(!preview.has(forward), "the forward is gone");
}

/// xorshift64*: a fixed seed gives the same edits on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// An article the random edits made: its file's stem and its sidecar's fields.
struct Made {
    stem: String,
    /// "txt" or "md".
    ext: &'static str,
    text: String,
    title: Option<String>,
    date: Option<String>,
    slug: Option<String>,
    aliases: Vec<String>,
    /// Cited, with a link to it, by the event [`Made::event`].
    cited: bool,
    /// More sidecar fields, as TOML values.
    fields: std::collections::BTreeMap<&'static str, &'static str>,
}

impl Made {
    /// The event citing this article when it is `cited`.
    fn event(&self) -> String {
        format!("content/events/2024-01-cites-{}.md", self.stem)
    }

    /// The event citing the text's first four words and linking to it
    /// (`quote` instead, to misquote it).
    fn event_text(&self, quote: Option<&str>) -> String {
        let first: Vec<&str> = self.text.split_whitespace().take(4).collect();
        let quote = quote.map_or_else(|| first.join(" "), str::to_string);
        format!(
            "+++\ndate = \"2024-01\"\ntitle = \"Noted in {stem}\"\n\n[[citations]]\narticle = \"{stem}\"\nquote = \"{quote}\"\n+++\nSee [the clipping](@/articles/{stem}).\n",
            stem = self.stem
        )
    }

    fn sidecar(&self) -> String {
        let mut out = String::new();
        for (field, value) in [
            ("title", &self.title),
            ("date", &self.date),
            ("slug", &self.slug),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("{field} = \"{value}\"\n"));
            }
        }
        if !self.aliases.is_empty() {
            out.push_str(&format!("aliases = {:?}\n", self.aliases));
        }
        for (field, value) in &self.fields {
            out.push_str(&format!("{field} = {value}\n"));
        }
        out
    }

    /// The text's and the sidecar's paths, relative to the root.
    fn paths(&self) -> [String; 2] {
        [
            format!("content/articles/{}.{}", self.stem, self.ext),
            format!("content/articles/{}.toml", self.stem),
        ]
    }

    /// Writes the text and the sidecar (none when it has no field): the
    /// paths, as the watcher reports them.
    fn write(&self, d: &Dossier) -> Vec<String> {
        let [text, sidecar] = self.paths();
        d.write(&text, &self.text);
        match self.sidecar() {
            fields if fields.is_empty() => {
                let _ = std::fs::remove_file(d.path(&sidecar));
            }
            fields => d.write(&sidecar, fields),
        }
        vec![text, sidecar]
    }
}

/// Toggles `with` into the file at `rel`, just after `after`.
fn toggle(d: &Dossier, rel: &str, with: &str, after: &str) -> Vec<String> {
    let text = d.read(rel);
    let new = match text.contains(with) {
        true => text.replacen(with, "", 1),
        false => text.replacen(after, &format!("{after}{with}"), 1),
    };
    assert_ne!(new, text, "{rel}: {after:?} is there to toggle after");
    d.write(rel, new);
    vec![rel.to_string()]
}

/// One random edit of `d`, of every kind a preview meets: its name and the
/// paths it touched.
fn random_edit(
    d: &Dossier,
    rng: &mut Rng,
    made: &mut Vec<Made>,
    next: &mut usize,
    broken: &mut Option<(String, Option<String>)>,
) -> (String, Vec<String>) {
    const WORDS: [&str; 10] = [
        "Iskander",
        "Minsk",
        "Lukasjenko",
        "raketter",
        "grænsen",
        "Moskva",
        "atomvåben",
        "øvelse",
        "Putin",
        "NATO",
    ];
    const TITLES: [&str; 3] = ["Iskander ved grænsen", "Minsk og Moskva", "Notat"];
    const DATES: [&str; 5] = [
        "2022-06",
        "2022-06-25",
        "2022-08-14",
        "2023-05",
        "2024-01-02",
    ];
    // Events no other event links to: drafting one breaks no link.
    const EVENTS: [&str; 3] = [
        "content/events/2022-05-lukashenko-ap-interview.md",
        "content/events/2022-10-joint-regional-grouping-of-forces.md",
        "content/events/2023-05-isw-deal-cements-russian-control.md",
    ];
    // Edits that add a text to a file, or take it out again.
    const TOGGLES: [(&str, &str, &str, &str); 14] = [
        (
            "site retitled",
            "dossier.toml",
            " (desk copy)",
            "title = \"Belarus: Russian missiles",
        ),
        (
            "site described",
            "dossier.toml",
            " (desk)",
            "description = \"How Russia's Iskander",
        ),
        // No seed paragraph starts with these words: no quote is lost.
        (
            "boilerplate pattern",
            "dossier.toml",
            "\"^(øvelse|grænsen) \", ",
            "boilerplate = [",
        ),
        (
            "entity renamed",
            "content/entities.toml",
            " (ex)",
            "name = \"Alexander Lukashenko",
        ),
        (
            "theme described",
            "content/themes.toml",
            " Also drills.",
            "description = \"Iskander-M and other",
        ),
        (
            "citation's translation",
            "content/events/2022-05-lukashenko-ap-interview.md",
            " (sic)",
            "translation = \"Thanks to me",
        ),
        (
            "citation's note",
            "content/events/2022-05-lukashenko-ap-interview.md",
            " Checked.",
            "note = \"Said to the Associated Press",
        ),
        (
            "theme keyword",
            "content/themes.toml",
            "\"notat\", ",
            "keywords = [",
        ),
        (
            "entity alias",
            "content/entities.toml",
            "\"Moskva\", ",
            "aliases = [",
        ),
        (
            "theme renamed",
            "content/themes.toml",
            " (all kinds)",
            "name = \"Missile systems",
        ),
        (
            "event's themes",
            "content/events/2022-10-joint-regional-grouping-of-forces.md",
            "\"missile-systems\", ",
            "themes = [",
        ),
        // A cited article's outlet and summary: its events' pages follow.
        (
            "cited article's outlet",
            "content/articles/001_9b10334a7624b0a2.toml",
            " Nyheter",
            "outlet = \"NTB",
        ),
        (
            "cited article's summary",
            "content/articles/002_a3637277b07c1ceb.toml",
            " (checked)",
            "summary = \"At their first meeting in Minsk",
        ),
        (
            "entity added or removed",
            "content/entities.toml",
            "[[entity]]\nslug = \"desk-notes\"\nname = \"Notes\"\nkind = \"organisation\"\naliases = [\"Notat\", \"notat\"]\n\n",
            "# ---------------------------------------------------------------- people\n\n",
        ),
    ];
    let sentence = |rng: &mut Rng| -> String {
        let words: Vec<&str> = (0..8).map(|_| rng.pick(&WORDS)).collect();
        format!("{}.", words.join(" "))
    };
    // A file broken by the edit before is mended along with this one.
    let mut mended = Vec::new();
    if let Some((rel, text)) = broken.take() {
        match text {
            Some(text) => d.write(&rel, text),
            None => std::fs::remove_file(d.path(&rel)).unwrap(),
        }
        mended.push(rel);
    }
    let kind = if made.is_empty() { 0 } else { rng.below(27) };
    let m = rng.below(made.len().max(1));
    let (what, mut paths) = match kind {
        0 | 1 => {
            *next += 1;
            let markdown = kind == 1;
            let body = format!("{}\n\n{}\n", sentence(rng), sentence(rng));
            let article = Made {
                stem: format!("rand-{next:03}"),
                ext: if markdown { "md" } else { "txt" },
                text: match markdown {
                    // Front matter, emphasis, a link and raw HTML to sanitize.
                    true => {
                        let (title, date) = (rng.pick(&TITLES), rng.pick(&DATES));
                        // TOML or YAML front matter.
                        let front = match rng.below(2) {
                            0 => format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\n+++"),
                            _ => format!("---\ntitle: \"{title}\"\ndate: \"{date}\"\n---"),
                        };
                        format!(
                            "{front}\n*{}* [kilde](https://example.org/a)\n\n<script>alert(1)</script><b onclick=\"x()\">{body}</b>\n",
                            rng.pick(&WORDS),
                        )
                    }
                    false => body,
                },
                title: (rng.below(2) == 0).then(|| rng.pick(&TITLES).to_string()),
                date: (rng.below(3) > 0).then(|| rng.pick(&DATES).to_string()),
                slug: None,
                aliases: Vec::new(),
                cited: false,
                fields: Default::default(),
            };
            let paths = article.write(d);
            made.push(article);
            (
                format!("article added ({})", if markdown { "md" } else { "txt" }),
                paths,
            )
        }
        2 => {
            made[m].title = Some(rng.pick(&TITLES).to_string());
            ("article retitled".into(), made[m].write(d))
        }
        3 => {
            made[m].date = (rng.below(4) > 0).then(|| rng.pick(&DATES).to_string());
            ("article redated".into(), made[m].write(d))
        }
        4 => {
            made[m].slug = match made[m].slug {
                Some(_) => None,
                None => Some(format!("renamed-{}", made[m].stem)),
            };
            ("article's slug set or dropped".into(), made[m].write(d))
        }
        5 => {
            made[m].aliases = match made[m].aliases.is_empty() {
                true => vec![format!("former-{}", made[m].stem)],
                false => Vec::new(),
            };
            ("article's alias added or dropped".into(), made[m].write(d))
        }
        6 => {
            let extra = sentence(rng);
            made[m].text.push_str(&format!("\n{extra}\n"));
            ("article's text grown".into(), made[m].write(d))
        }
        7 => {
            let article = made.remove(m);
            let mut paths = article.paths().to_vec();
            if article.cited {
                paths.push(article.event());
            }
            for path in &paths {
                let _ = std::fs::remove_file(d.path(path));
            }
            ("article removed".into(), paths)
        }
        8 => {
            let event = rng.pick(&EVENTS);
            let extra = sentence(rng);
            let text = d.read(event);
            d.write(event, format!("{text}\n{extra}\n"));
            ("event's text grown".into(), vec![event.to_string()])
        }
        9 => {
            let event = rng.pick(&EVENTS);
            let text = d.read(event);
            let date = rng.pick(&DATES);
            let line = text
                .lines()
                .find(|l| l.starts_with("date = "))
                .unwrap()
                .to_string();
            d.write(
                event,
                text.replacen(&line, &format!("date = \"{date}\""), 1),
            );
            ("event moved".into(), vec![event.to_string()])
        }
        10 => {
            let event = rng.pick(&EVENTS);
            (
                "event drafted or published".into(),
                toggle(d, event, "draft = true\n", "+++\n"),
            )
        }
        11..=17 => {
            let (what, file, with, after) = TOGGLES[rng.below(TOGGLES.len())];
            (what.into(), toggle(d, file, with, after))
        }
        18 => {
            let event = rng.pick(&EVENTS);
            let text = d.read(event);
            d.write(event, text.replacen("+++\n", "+++\ndate = [\n", 1));
            *broken = Some((event.to_string(), Some(text)));
            (
                "event's front matter broken".into(),
                vec![event.to_string()],
            )
        }
        19 => {
            // For one edit: the text gone, its sidecar left behind (a warning).
            let article = &mut made[m];
            if article.title.is_none() {
                article.title = Some(rng.pick(&TITLES).to_string());
                article.write(d);
            }
            let [text, sidecar] = article.paths();
            std::fs::remove_file(d.path(&text)).unwrap();
            *broken = Some((text.clone(), Some(article.text.clone())));
            (
                "article's text gone, its sidecar left".into(),
                vec![text, sidecar],
            )
        }
        20 => {
            // For one edit: a second article with the same id (an error).
            let article = &made[m];
            let other = if article.ext == "md" { "txt" } else { "md" };
            let twin = format!("content/articles/{}.{other}", article.stem);
            d.write(&twin, "Et notat.\n");
            *broken = Some((twin.clone(), None));
            ("a second article with the same id".into(), vec![twin])
        }
        21 | 22 => {
            // Plain-text articles only: a quote of markdown is less plain.
            let Some(article) = made.iter_mut().filter(|a| a.ext == "txt").nth(m) else {
                return ("nothing to cite".into(), mended);
            };
            let event = article.event();
            let what = if kind == 22 && article.cited {
                // For one edit: a misquote (an error at the event).
                d.write(&event, article.event_text(Some("ikke i teksten")));
                *broken = Some((event.clone(), Some(article.event_text(None))));
                "event misquotes a made article"
            } else if article.cited {
                std::fs::remove_file(d.path(&event)).unwrap();
                article.cited = false;
                "event citing a made article removed"
            } else {
                d.write(&event, article.event_text(None));
                article.cited = true;
                "event citing a made article added"
            };
            (what.into(), vec![event])
        }
        23..=25 => {
            const FIELDS: [(&str, [&str; 2]); 8] = [
                ("outlet", ["\"Desk Wire\"", "\"NTB\""]),
                ("language", ["\"sv\"", "\"de\""]),
                (
                    "themes",
                    [
                        "[\"missile-systems\"]",
                        "[\"nuclear-weapons\", \"union-state\"]",
                    ],
                ),
                ("entities", ["[\"vladimir-putin\"]", "[]"]),
                ("added", ["\"2024-02-03\"", "\"2023-11-30\""]),
                ("summary", ["\"Et resumé.\"", "\"Ein Überblick.\""]),
                (
                    "url",
                    [
                        "\"https://example.org/clip\"",
                        "\"https://example.org/other\"",
                    ],
                ),
                ("title_en", ["\"A note\"", "\"Another note\""]),
            ];
            let (field, values) = FIELDS[rng.below(FIELDS.len())];
            let article = &mut made[m];
            match article.fields.get(field) {
                Some(_) if rng.below(2) == 0 => {
                    article.fields.remove(field);
                }
                _ => {
                    article.fields.insert(field, values[rng.below(2)]);
                }
            }
            (format!("sidecar's {field}"), article.write(d))
        }
        _ => {
            // A desk's own template or static file, added and removed again.
            let own = |rel: &str, from: &str, to: &str| {
                let builtin = std::fs::read_to_string(repo().join(rel)).unwrap();
                assert!(builtin.contains(from), "{rel} has {from:?}");
                builtin.replacen(from, to, 1)
            };
            let (rel, text) = match rng.below(4) {
                0 => (
                    "templates/article.html",
                    own(
                        "templates/article.html",
                        "{% endblock content %}",
                        "<!-- the desk's own -->\n{% endblock content %}",
                    ),
                ),
                1 => (
                    "templates/components.html",
                    own(
                        "templates/components.html",
                        "<li class=\"article-card\"",
                        "<li class=\"article-card desk\"",
                    ),
                ),
                2 => (
                    "static/style.css",
                    own("static/style.css", ":root {", "/* the desk's */\n:root {"),
                ),
                _ => ("static/desk.css", "body { color: #222; }\n".to_string()),
            };
            match d.path(rel).exists() {
                true => std::fs::remove_file(d.path(rel)).unwrap(),
                false => d.write(rel, text),
            }
            (format!("{rel} added or removed"), vec![rel.to_string()])
        }
    };
    paths.append(&mut mended);
    (what, paths)
}

/// A copy of `d`'s input (content, templates, static files and
/// configuration), without its cache or output.
fn copy_of(d: &Dossier) -> Dossier {
    let copy = Dossier::empty();
    for dir in ["content", "templates", "static"] {
        if d.path(dir).exists() {
            copy_dir(&d.path(dir), &copy.path(dir));
        }
    }
    if d.path("dossier.toml").exists() {
        std::fs::copy(d.path("dossier.toml"), copy.path("dossier.toml")).unwrap();
    }
    copy
}

/// The outcome of a build, its diagnostics shown.
type Shown = Result<dossier::BuildReport, Vec<String>>;

/// A clean build of a copy of `d` (no cache, no history) with `options`
/// but their root and output: the copy, its output folder, the outcome.
fn clean_build_of(
    d: &Dossier,
    options: &dossier::BuildOptions,
) -> (Dossier, std::path::PathBuf, Shown) {
    let copy = copy_of(d);
    let out = copy.out("clean");
    let clean = dossier::BuildOptions {
        root: copy.root.clone(),
        output: Some(out.clone()),
        ..options.clone()
    };
    let result = dossier::build(&clean).map_err(shown);
    (copy, out, result)
}

fn shown(diagnostics: Vec<dossier::diagnostics::Diagnostic>) -> Vec<String> {
    // Paths differ between the copy and the original: compare the rest.
    diagnostics
        .iter()
        .map(|d| {
            format!(
                "{:?}:{:?} {} {:?}",
                d.path.file_name(),
                d.line,
                d.message,
                d.severity
            )
        })
        .collect()
}

/// Random sequences of edits of every kind (articles added, retitled,
/// redated, renamed, aliased, grown and removed; events grown, moved,
/// drafted; a theme keyword, an entity alias, a template, a static file,
/// the site's title), each reported as the watcher reports it. After every
/// edit the preview in memory and a disk build with its cache hold what a
/// clean build of the same input writes, byte for byte, or fail as it does
/// and keep what they had: the output never depends on the history.
#[test]
fn random_edits_give_what_clean_builds_give() {
    // DOSSIER_RANDOM_SEEDS=N runs seeds 1 to N, =A-B seeds A to B (three
    // by default); a failure names its seed and step.
    let wanted = std::env::var("DOSSIER_RANDOM_SEEDS").unwrap_or_default();
    let (first, last) = match wanted.split_once('-') {
        Some((a, b)) => (a.parse().unwrap_or(1u64), b.parse().unwrap_or(3)),
        None => (1, wanted.parse().unwrap_or(3)),
    };
    for seed in first..=last {
        let d = Dossier::example();
        // Every other seed builds for a project path, every third with drafts.
        let vary = |options: dossier::BuildOptions| dossier::BuildOptions {
            base_url: (seed % 2 == 0).then(|| "https://desk.example.org/belarus/".to_string()),
            drafts: seed % 3 == 0,
            ..options
        };
        let mut preview = Preview::of(&d);
        preview.options = vary(preview.options);
        // `serve --render-to-disk`: a watching cache, the output on disk.
        let to_disk = vary(options_into(&d, &d.out("to-disk")));
        let mut to_disk_cache = watching_cache();
        // `dossier build`, a new process each time: what the last one left
        // on disk (its cache, its output) is all it starts from.
        let cli = vary(options_into(&d, &d.out("cli")));
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let (mut made, mut next, mut broken) = (Vec::new(), 0, None::<(String, Option<String>)>);
        for step in 0..20 {
            let (what, changed) = if step == 0 {
                ("first build".to_string(), Vec::new())
            } else {
                random_edit(&d, &mut rng, &mut made, &mut next, &mut broken)
            };
            let name = format!("seed {seed}, step {step} ({what})");
            let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
            let (_copy, clean, expected) = clean_build_of(&d, &cli);
            match &expected {
                Ok(_) => eprintln!("{name}: ok"),
                Err(errors) => eprintln!("{name}: fails: {}", errors.join("; ")),
            }
            let outputs = [&to_disk, &cli].map(|o| o.output.clone().unwrap());
            // What the sites held (no output yet before the first build).
            let held = |o: &std::path::PathBuf| o.exists().then(|| site_files(o));
            let before = (preview.site.files(), outputs.clone().map(|o| held(&o)));
            let in_memory = preview.rebuild(&changed).map_err(shown);
            report_changes(&mut to_disk_cache, &changed);
            // `dossier check` too: it says what a build would, and writes nothing.
            let on_disk = [
                dossier::build::build_with_cache(&to_disk, Some(&mut to_disk_cache)),
                dossier::build(&cli),
                dossier::build::check(&cli),
            ]
            .map(|r| r.map_err(shown));
            let builds = [
                ("in memory", &in_memory),
                ("to disk", &on_disk[0]),
                ("by build", &on_disk[1]),
                ("by check", &on_disk[2]),
            ];
            match &expected {
                Ok(report) => {
                    let warnings = |r: &dossier::BuildReport| shown(r.diagnostics.clone());
                    for (how, result) in builds {
                        let built = result
                            .as_ref()
                            .unwrap_or_else(|e| panic!("{name}, {how}: failed: {e:?}"));
                        assert_eq!(
                            warnings(built),
                            warnings(report),
                            "{name}, {how}: the same warnings"
                        );
                    }
                    assert_site_holds(&preview.site, &clean, &format!("{name}, in memory"));
                    for (how, output) in [("to disk", &outputs[0]), ("by build", &outputs[1])] {
                        assert_same_files(output, &clean, &format!("{name}, {how}"));
                    }
                }
                Err(errors) => {
                    for (how, result) in builds {
                        assert_eq!(
                            result.as_ref().err(),
                            Some(errors),
                            "{name}, {how}: fails alike"
                        );
                    }
                    // A failed build leaves the site it had whole.
                    let after = (preview.site.files(), outputs.clone().map(|o| held(&o)));
                    assert!(after == before, "{name}: a failed build changes nothing");
                }
            }
        }
    }
}

/// The site's title, retitled while the preview runs, reaches every file
/// that names it (the Web Annotation export's label once kept the old one).
#[test]
fn a_retitled_site_is_retitled_everywhere_in_the_preview() {
    let (d, mut preview) = Preview::started();
    let config = d.read("dossier.toml");
    let title = config.lines().find(|l| l.starts_with("title = ")).unwrap();
    d.write(
        "dossier.toml",
        config.replacen(title, "title = \"Belarus, retitled\"", 1),
    );
    preview.step(&d, "retitled", &["dossier.toml"]);
    let dossier::memory::Found::File(annotations) = preview.site.find("data/annotations.jsonld")
    else {
        panic!("no annotations");
    };
    let annotations: serde_json::Value = serde_json::from_slice(&annotations.to_bytes()).unwrap();
    assert_eq!(annotations["label"], "Citations of Belarus, retitled");
}

/// Two articles with one id (`twin.md` beside `twin.txt`) fail the build;
/// once one goes, the page shows the one left, not the record the clash
/// left in the preview's cache.
#[test]
fn the_article_left_after_an_id_clash_is_the_one_shown() {
    let (d, mut preview) = Preview::started();
    d.write("content/articles/twin.txt", "Et notat om Iskander.\n");
    preview.step(&d, "txt", &["content/articles/twin.txt"]);
    d.write("content/articles/twin.md", "Ein Text über Minsk.\n");
    let errors = preview
        .rebuild(&["content/articles/twin.md"])
        .expect_err("one id, two articles");
    assert!(
        errors.iter().any(|e| e.message.contains("is also used by")),
        "{errors:?}"
    );
    std::fs::remove_file(d.path("content/articles/twin.md")).unwrap();
    preview.step(&d, "md gone", &["content/articles/twin.md"]);
}
