//! Bad input gives a compiler-style diagnostic (path, line, message, hint)
//! and exit 1, never a panic; `check` writes nothing; the output folder is
//! never something precious; `init` makes a dossier that builds.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// `check` on the example dossier with one file added or replaced.
fn check_with(rel: &str, bytes: &[u8]) -> (Dossier, Output) {
    let d = Dossier::example();
    d.write(rel, bytes);
    let out = d.check();
    (d, out)
}

/// Asserts a failed check whose stderr has `prefix` (path:line: error: …) and a hint.
fn assert_error(out: &Output, prefix: &str) {
    out.assert_fails();
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no diagnostic starting {prefix:?}: {out}"));
    assert!(line.contains(": error: "), "{line}");
    let mut lines = out.stderr.lines().skip_while(|l| *l != line);
    lines.next();
    let hint = lines.next().unwrap_or_default();
    assert!(
        hint.starts_with("  hint: "),
        "no hint after {line:?}: {out}"
    );
}

#[test]
fn malformed_date_line_in_a_clipping() {
    let (_d, out) = check_with(
        "content/articles/bad-date.txt",
        "date 2022-13-40 Hviderusland har købt missiler af Rusland.\n\nMere tekst.\n".as_bytes(),
    );
    assert_error(
        &out,
        "content/articles/bad-date.txt:1: error: malformed date \"2022-13-40\"",
    );
}

#[test]
fn invalid_toml_sidecar() {
    let d = Dossier::example();
    let sidecar = "content/articles/003_6ef21ff47a01b82f.toml";
    d.write(
        sidecar,
        format!("{}\nthis is = not = toml\n", d.read(sidecar)),
    );
    let line = d.read(sidecar).lines().count();
    let out = d.check();
    assert_error(&out, &format!("{sidecar}:{line}: error: sidecar:"));
}

#[test]
fn sidecar_with_a_wrong_type_or_unknown_key() {
    let (_d, out) = check_with(
        "content/articles/001_9b10334a7624b0a2.toml",
        b"title_en = \"x\"\nthemes = \"missile-systems\"\n",
    );
    assert_error(
        &out,
        "content/articles/001_9b10334a7624b0a2.toml:2: error: sidecar:",
    );

    let (_d, out) = check_with(
        "content/articles/001_9b10334a7624b0a2.toml",
        b"title_en = \"x\"\nthemse = [\"missile-systems\"]\n",
    );
    assert_error(
        &out,
        "content/articles/001_9b10334a7624b0a2.toml:2: error: sidecar:",
    );
    out.assert_stderr("themse");
}

#[test]
fn markdown_article_with_unclosed_toml_front_matter() {
    let (_d, out) = check_with(
        "content/articles/unclosed.md",
        "+++\ntitle = \"Et notat\"\ndate = \"2023-05-02\"\n\nRusland flytter atomvåben til Hviderusland.\n".as_bytes(),
    );
    assert_error(
        &out,
        "content/articles/unclosed.md:1: error: front matter opened with +++ is never closed",
    );
}

#[test]
fn markdown_article_with_broken_yaml_front_matter() {
    let (_d, out) = check_with(
        "content/articles/yaml.md",
        b"---\ntitle: Et notat\ndate: [2023-05\nlanguage: da\n---\nRusland flytter atomvaben til Hviderusland.\n",
    );
    out.assert_fails();
    let line = out
        .diagnostics("error")
        .into_iter()
        .find(|l| l.starts_with("content/articles/yaml.md:"))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert!(line.contains("front matter"), "{line}");
    let n: usize = line
        .split(':')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no line number: {line}"));
    assert!(
        (3..=5).contains(&n),
        "the error points into the front matter: {line}"
    );
}

#[test]
fn unknown_theme_in_a_sidecar_suggests_the_nearest() {
    let d = Dossier::example();
    let sidecar = "content/articles/003_6ef21ff47a01b82f.toml";
    d.write(
        sidecar,
        format!(
            "themes = [\"nuclear-weapons\", \"missile-system\"]\n{}",
            d.read(sidecar)
        ),
    );
    let out = d.check();
    assert_error(
        &out,
        &format!("{sidecar}:1: error: unknown theme \"missile-system\""),
    );
    out.assert_stderr("hint: did you mean \"missile-systems\"?");
    assert_eq!(out.diagnostics("error").len(), 1, "{out}");
}

#[test]
fn unknown_entity_in_an_event_suggests_the_nearest() {
    let d = Dossier::example();
    let event = "content/events/2022-10-joint-regional-grouping-of-forces.md";
    let text = d.read(event);
    let entities_line = line_of(&text, "entities = [");
    d.edit(event, "entities = [", "entities = [\"vladimir-puttin\", ");
    let out = d.check();
    assert_error(
        &out,
        &format!("{event}:{entities_line}: error: unknown entity \"vladimir-puttin\""),
    );
    out.assert_stderr("did you mean \"vladimir-putin\"?");
}

#[test]
fn malformed_dates_in_a_sidecar_and_an_event() {
    let d = Dossier::example();
    let sidecar = "content/articles/003_6ef21ff47a01b82f.toml";
    d.edit(sidecar, "date = \"2022-06-25\"", "date = \"2022-6-25\"");
    let sidecar_line = line_of(&d.read(sidecar), "date = ");
    let event = "content/events/2022-10-joint-regional-grouping-of-forces.md";
    d.edit(event, "date = \"2022-10\"", "date = \"October 2022\"");
    let out = d.check();
    assert_error(
        &out,
        &format!("{sidecar}:{sidecar_line}: error: malformed date \"2022-6-25\""),
    );
    assert_error(
        &out,
        &format!("{event}:2: error: malformed date \"October 2022\""),
    );
}

#[test]
fn yaml_event_errors_point_at_the_quote() {
    let d = Dossier::example();
    d.write(
        "content/events/zz-yaml.md",
        "---\ndate: 2022-06\ntitle: Test\ncitations:\n  - article: 003_6ef21ff47a01b82f\n    quote: Wir werden die taktischen Raketensysteme Iskander-M nach Weißrussland verlegen\n  - article: 001_9b10334a7624b0a2\n    quote: Dette står ikke i artiklen\n---\nBody.\n",
    );
    let out = d.check();
    assert_error(
        &out,
        "content/events/zz-yaml.md:8: error: quote not found in 001_9b10334a7624b0a2",
    );
    assert_eq!(out.diagnostics("error").len(), 1, "{out}");
}

#[test]
fn empty_article() {
    let (_d, out) = check_with("content/articles/empty.txt", b"");
    assert_error(&out, "content/articles/empty.txt:1: error: empty article");
    let (_d, out) = check_with("content/articles/blank.txt", b"  \n\n\t\n");
    assert_error(&out, "content/articles/blank.txt:1: error: empty article");
}

#[test]
fn binary_file_with_nul_bytes() {
    let mut bytes = b"date 2022-05 Hviderusland\n\x89PNG\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 13, 73, 72, 68, 82, 0, 1]);
    let (_d, out) = check_with("content/articles/image.txt", &bytes);
    assert_error(&out, "content/articles/image.txt:2: error: binary file");
}

#[test]
fn windows_1252_article_is_accepted_with_a_warning() {
    let d = Dossier::example();
    d.write(
        "content/articles/cp1252.txt",
        b"date 2022-07 Wei\xdfrussland erh\xe4lt \x93Iskander\x94-Raketen aus Russland, sagte Lukaschenko am Montag.\n\nDie Raketen k\xf6nnen Atomwaffen tragen, hie\xdf es in Minsk.\n",
    );
    let out = d.out("site");
    let run = d.build(&out, &[]);
    run.assert_ok();
    run.assert_stderr("content/articles/cp1252.txt:1: warning: not UTF-8; decoded as Windows-1252");
    assert!(run.diagnostics("error").is_empty(), "{run}");
    let records = records(&out);
    let r = &records["cp1252"];
    let text = r["paragraphs"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Weißrussland erhält “Iskander”-Raketen"),
        "{text}"
    );
    assert_eq!(r["date"], "2022-07");
    assert_eq!(r["language"], "de");
    let page = fs::read_to_string(out.join("articles/cp1252/index.html")).unwrap();
    assert!(page.contains("Weißrussland"));
    assert!(
        !page.contains('\u{FFFD}'),
        "replacement characters on the page"
    );
}

#[test]
fn undated_article_is_a_warning_and_listed_as_undated() {
    let d = Dossier::example();
    d.write(
        "content/articles/undated.txt",
        "Putin og Lukasjenko mødtes igen i Minsk for at tale om missiler.\n\nDe to ledere talte længe om atomvåben og samarbejdet.\n",
    );
    let out = d.out("site");
    let run = d.build(&out, &[]);
    run.assert_ok();
    run.assert_stderr("content/articles/undated.txt:1: warning: no date");
    let records = records(&out);
    assert!(
        records["undated"]["date"].is_null(),
        "{}",
        records["undated"]["date"]
    );
    assert!(records["undated"]["month"].is_null());

    let html = read_html(&out.join("articles/index.html"));
    let section = html
        .select(&sel("#undated"))
        .next()
        .expect("an Undated section on /articles/");
    assert!(text_of(section).contains("Undated"));
    let links: Vec<&str> = section
        .select(&sel("a"))
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert!(links.contains(&"/articles/undated/"), "{links:?}");
    // Only the undated article is there.
    assert!(
        !links.iter().any(|l| l.contains("000-8efa8f5a46d18ba7")),
        "{links:?}"
    );
    // No month page was invented for it.
    let months: Vec<String> = fs::read_dir(out.join("months"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !months
            .iter()
            .any(|m| m.contains("undated") || m.contains("none")),
        "{months:?}"
    );
}

#[test]
fn unknown_key_in_dossier_toml() {
    let d = Dossier::example();
    d.edit(
        "dossier.toml",
        "language = \"en\"",
        "language = \"en\"\ntitel = \"Oops\"",
    );
    let line = line_of(&d.read("dossier.toml"), "titel");
    let out = d.check();
    assert_error(
        &out,
        &format!("dossier.toml:{line}: error: unknown field `titel`"),
    );
    let build = d.build(&d.out("site"), &[]);
    build.assert_fails();
    assert!(!d.out("site").exists(), "a failed build created its output");
}

#[test]
fn bad_base_url() {
    let d = Dossier::example();
    let out = d.build(&d.out("site"), &["--base-url", "example.github.io/x"]);
    out.assert_fails();
    out.assert_stderr("--base-url: error: base_url");
}

#[test]
fn check_writes_nothing() {
    let d = Dossier::example();
    let before = tree(d.tmp.path());
    let files_before = site_files(&d.root);
    let out = d.check();
    out.assert_ok();
    assert!(out.stdout.starts_with("ok: 5 articles, 24 events"), "{out}");
    assert!(!d.path("public").exists(), "check created public/");
    assert_eq!(tree(d.tmp.path()), before, "check changed the file tree");
    assert!(site_files(&d.root) == files_before, "check changed a file");

    // Nor when it fails.
    d.write("content/articles/empty.txt", "");
    let before = tree(d.tmp.path());
    d.check().assert_fails();
    assert_eq!(tree(d.tmp.path()), before);
}

#[test]
fn check_reports_every_problem_at_once() {
    let d = Dossier::example();
    d.write("content/articles/empty.txt", "");
    d.write("content/articles/binary.txt", b"abc\0def");
    d.write(
        "content/articles/bad-date.txt",
        "date 2022-02-30 Tekst om Hviderusland.\n",
    );
    let event = "content/events/2023-05-nato-eu-condemn-deployment.md";
    let text = d.read(event);
    d.write(
        event,
        text.replacen("quote = \"", "quote = \"Nonsense words ", 1),
    );
    let out = d.check();
    out.assert_fails();
    let errors = out.diagnostics("error");
    for path in [
        "content/articles/empty.txt",
        "content/articles/binary.txt",
        "content/articles/bad-date.txt",
        event,
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(path)),
            "no error for {path}: {out}"
        );
    }
    assert_eq!(errors.len(), 4, "{out}");
    out.assert_stderr("failed: 4 errors");
    // Sorted by file then line: stable output for editors and CI.
    let paths: Vec<&str> = errors
        .iter()
        .map(|e| e.split(':').next().unwrap())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn two_broken_files_give_two_errors() {
    let d = Dossier::example();
    d.write("content/articles/a.md", "+++\ntitle = \"A\"\nBody\n");
    d.write("content/articles/b.txt", "date 2022-13 Tekst.\n");
    let out = d.check();
    out.assert_fails();
    assert_eq!(out.diagnostics("error").len(), 2, "{out}");
    out.assert_stderr("content/articles/a.md:1: error:");
    out.assert_stderr("content/articles/b.txt:1: error:");
}

#[test]
fn odd_inputs_never_panic() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"content/articles/only-date.txt", b"date 2022-05\n"),
        (b"content/articles/only-boilerplate.txt", b"More Stories\n\nfoo bar\n"),
        (b"content/articles/only-front-matter.md", b"+++\ntitle = \"x\"\n+++\n"),
        (b"content/articles/utf16.txt", b"\xff\xfeH\x00e\x00j\x00\n\x00"),
        (b"content/articles/bad-utf8-name-\xc3.txt", b"Tekst.\n"),
        (b"content/articles/long.txt", &[b'a'; 200_000]),
        (b"content/articles/controls.txt", b"date 2022-05 \x1b[31mRed\x1b[0m \xe2\x80\xae text.\n"),
        (b"content/articles/lonely.toml", b"title = \"no article\"\n"),
        (b"content/articles/notes.docx", b"PK\x03\x04"),
        (b"content/events/no-front-matter.md", b"Just a body\n"),
        (b"content/events/empty.md", b""),
        (b"content/events/bad-date.md", b"+++\ndate = \"2022-02-30\"\ntitle = \"T\"\n+++\nB\n"),
        (b"content/events/no-title.md", b"+++\ndate = \"2022-02\"\n+++\nB\n"),
        (b"content/events/empty-quote.md", b"+++\ndate = \"2022-06\"\ntitle = \"T\"\n[[citations]]\narticle = \"003_6ef21ff47a01b82f\"\nquote = \"\"\n+++\nB\n"),
        (b"content/events/ellipsis.md", "+++\ndate = \"2022-06\"\ntitle = \"T\"\n[[citations]]\narticle = \"003_6ef21ff47a01b82f\"\nquote = \"…\"\n+++\nB\n".as_bytes()),
        (b"content/events/yaml.md", b"---\ndate: 2022-06\ntitle: T\ncitations:\n  - article: 001_9b10334a7624b0a2\n    quote: \"nicht da\"\n---\nBody\n"),
        (b"content/events/link.md", b"+++\ndate = \"2022-06\"\ntitle = \"T\"\n+++\n[x](@/) [y](@/articles/) [z](@/events/#) [w](@)\n"),
        (b"content/themes.toml", b"[[theme]]\nslug = \n"),
        (b"content/entities.toml", b"[[entity]]\nname = \"x\"\n"),
        (b"dossier.toml", b"[normalize]\nboilerplate = [\"(\"]\n"),
    ];
    for (rel, bytes) in cases {
        use std::os::unix::ffi::OsStrExt;
        // File names need not be UTF-8.
        let path = std::ffi::OsStr::from_bytes(rel);
        let rel = String::from_utf8_lossy(rel);
        let d = Dossier::example();
        let path = d.root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        let out = d.check();
        out.assert_no_panic();
        assert!(matches!(out.code, Some(0 | 1)), "{rel}: {out}");
        if out.code == Some(1) {
            assert!(
                !out.diagnostics("error").is_empty(),
                "{rel}: exit 1 without an error line: {out}"
            );
        }
        for line in out
            .diagnostics("error")
            .iter()
            .chain(out.diagnostics("warning").iter())
        {
            assert!(
                line.split(": ").next().is_some_and(|p| !p.is_empty()),
                "{rel}: no path in {line:?}"
            );
        }
        let built = d.build(&d.out("site"), &[]);
        built.assert_no_panic();
        assert_eq!(
            built.code, out.code,
            "{rel}: check and build disagree: {out}\n{built}"
        );
    }
}

/// Every entry below `dir`, with its bytes for files.
fn snapshot(dir: &Path) -> (Vec<String>, std::collections::BTreeMap<String, Vec<u8>>) {
    (tree(dir), site_files(dir))
}

#[test]
fn refuses_output_folders_that_would_destroy_the_dossier() {
    let d = Dossier::example();
    fs::write(d.tmp.path().join("precious.txt"), "keep me").unwrap();
    let before = snapshot(d.tmp.path());
    let root = d.root.clone();
    let parent = d.tmp.path().to_path_buf();
    let is_root = "it is the dossier root or a parent of it";
    let in_content = "it is inside the dossier's content/";
    let is_file = format!(
        "{} is a file, not a folder: choose another --output",
        parent.join("precious.txt").display()
    );
    for (output, why) in [
        (root.clone(), is_root),
        (root.join("."), is_root),
        (root.join("content"), in_content),
        (root.join("content/articles"), in_content),
        (root.join("public/../content"), in_content),
        (parent.clone(), is_root),
        (root.join("public/../.."), is_root),
        (
            root.join("templates"),
            "it is inside the dossier's templates/",
        ),
        (parent.join("precious.txt"), is_file.as_str()),
    ] {
        let out = d.build(&output, &[]);
        out.assert_fails();
        out.assert_stderr(&format!("error: refusing to use this output folder: {why}"));
        assert_eq!(
            snapshot(d.tmp.path()),
            before,
            "{} changed something",
            output.display()
        );
    }
    // Relative to the working directory, too.
    for output in [".", "content", ".."] {
        let run = run_in(&root, &["build", "--output", output]);
        run.assert_fails();
        run.assert_stderr("refusing to use this output folder");
        assert_eq!(
            snapshot(d.tmp.path()),
            before,
            "--output {output} changed something"
        );
    }
}

#[test]
fn refuses_a_symlink_to_the_root_and_a_foreign_folder() {
    let d = Dossier::example();
    let link = d.tmp.path().join("link");
    std::os::unix::fs::symlink(&d.root, &link).unwrap();
    let foreign = d.tmp.path().join("thesis");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("chapter1.docx"), "precious").unwrap();
    let before = snapshot(d.tmp.path());
    for output in [&link, &foreign] {
        let out = d.build(output, &[]);
        out.assert_fails();
        out.assert_stderr("refusing to use this output folder");
        assert_eq!(snapshot(d.tmp.path()), before, "{}", output.display());
    }
    // An empty folder is fine, and so is rebuilding our own site.
    let empty = d.tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    d.build(&empty, &[]).assert_ok();
    d.build(&empty, &[]).assert_ok();
    assert!(empty.join("index.html").is_file());
}

#[test]
fn refuses_the_home_folder() {
    let d = Dossier::example();
    let home = d.tmp.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let out = std::process::Command::new(bin())
        .args([
            "--root",
            d.root.to_str().unwrap(),
            "build",
            "--output",
            home.to_str().unwrap(),
        ])
        .env("HOME", &home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to use this output folder: it is the home folder"),
        "{stderr}"
    );
    assert!(
        tree(&home).is_empty(),
        "something was written into the home folder"
    );
}

#[test]
fn default_output_is_public_in_the_root() {
    let d = Dossier::example();
    d.run(&["build"]).assert_ok();
    assert!(d.path("public/index.html").is_file());
    assert!(d.path("public/data/records.json").is_file());
}

#[test]
fn init_makes_a_dossier_that_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new");
    let dir_s = dir.to_str().unwrap();
    let init = run_in(tmp.path(), &["init", dir_s]);
    init.assert_ok();
    for file in ["dossier.toml", "content/articles", "content/events"] {
        assert!(dir.join(file).exists(), "init did not create {file}");
    }
    let check = run_in(tmp.path(), &["--root", dir_s, "check"]);
    check.assert_ok();
    assert!(
        check.diagnostics("warning").is_empty(),
        "the example dossier has warnings: {check}"
    );
    let build = run_in(tmp.path(), &["--root", dir_s, "build"]);
    build.assert_ok();
    assert!(dir.join("public/index.html").is_file());
    let events = events(&dir.join("public"));
    assert_eq!(events.len(), 1, "one example event");
    assert_eq!(events[0]["citations"].as_array().unwrap().len(), 1);
    let records = records(&dir.join("public"));
    assert_eq!(records.len(), 1, "one example article");

    // Relative DIR, from the parent folder.
    let rel = run_in(tmp.path(), &["init", "other"]);
    rel.assert_ok();
    run_in(tmp.path(), &["--root", "other", "build"]).assert_ok();
    assert!(tmp.path().join("other/public/index.html").is_file());
}

#[test]
fn init_refuses_a_non_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("full");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    let out = run_in(tmp.path(), &["init", dir.to_str().unwrap()]);
    out.assert_fails();
    out.assert_stderr("error: folder exists and is not empty");
    assert_eq!(
        tree(&dir),
        vec!["notes.txt".to_string()],
        "init wrote into a non-empty folder"
    );
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");

    // An existing empty folder is fine.
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    run_in(tmp.path(), &["init", empty.to_str().unwrap()]).assert_ok();
}

#[test]
fn article_text_is_escaped() {
    let d = Dossier::example();
    d.write(
        "content/articles/xss.txt",
        "date 2022-05 Hviderusland <script>alert(1)</script> købte missiler & raketter af Rusland.\n\nMere <img src=x onerror=alert(2)> tekst om Lukasjenko.\n",
    );
    d.write(
        "content/articles/xss-md.md",
        "+++\ntitle = \"<b>Notat</b>\"\ndate = \"2022-05\"\nlanguage = \"da\"\n+++\nRusland <script>alert(3)</script> og [link](javascript:alert(4)) og <a href=\"javascript:alert(5)\">a</a>.\n",
    );
    let out = d.build_ok("site", &[]);
    for page in [
        "articles/xss/index.html",
        "articles/xss-md/index.html",
        "articles/index.html",
        "index.html",
        "feed.xml",
    ] {
        let text = fs::read_to_string(out.join(page)).unwrap();
        for bad in [
            "<script>alert",
            "<img src=x",
            "javascript:alert",
            "<b>Notat</b>",
        ] {
            assert!(!text.contains(bad), "{page} contains unescaped {bad:?}");
        }
    }
}

#[test]
fn paths_are_relative_to_the_root_however_it_is_named() {
    let d = Dossier::example();
    d.write("content/articles/empty.txt", "");
    let expected = "content/articles/empty.txt:1: error: empty article";
    let content = d.path("content");
    let link = d.tmp.path().join("link");
    std::os::unix::fs::symlink(&d.root, &link).unwrap();
    for (cwd, args) in [
        (d.root.clone(), vec!["check"]),
        (content.clone(), vec!["--root", "..", "check"]),
        (content.clone(), vec!["--root", "../", "check"]),
        (
            d.tmp.path().to_path_buf(),
            vec!["--root", "./dossier/", "check"],
        ),
        (d.tmp.path().to_path_buf(), vec!["--root", "link", "check"]),
    ] {
        let out = run_in(&cwd, &args);
        out.assert_fails();
        assert!(
            out.stderr.starts_with(expected),
            "{args:?} in {}: {out}",
            cwd.display()
        );
    }
}

#[test]
fn symlinks_out_of_the_dossier_are_not_followed() {
    let d = Dossier::example();
    let outside = d.tmp.path().join("secret.txt");
    fs::write(&outside, "date 2022-05 Secret words outside the dossier.\n").unwrap();
    std::os::unix::fs::symlink(&outside, d.path("content/articles/leak.txt")).unwrap();
    let out = d.out("site");
    let run = d.build(&out, &[]);
    run.assert_ok();
    run.assert_stderr("content/articles/leak.txt: warning: symbolic link");
    assert!(!records(&out).contains_key("leak"));
    for (path, bytes) in site_files(&out) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("Secret words"),
            "{path} leaks the linked file"
        );
    }
}

#[test]
fn misquote_of_a_markdown_article_with_a_wordless_paragraph() {
    // Regression: the closest-passage hint panicked (index out of range) on
    // a shown paragraph with no words (a markdown image or rule).
    let d = Dossier::example();
    d.write(
        "content/articles/pictures.md",
        "+++\ndate = \"2022-05\"\nlanguage = \"en\"\n+++\n![](https://example.org/a.png)\n\n---\n\nSome words about Belarus here.\n",
    );
    d.write(
        "content/events/2022-05-pictures.md",
        "+++\ndate = \"2022-05\"\ntitle = \"T\"\n[[citations]]\narticle = \"pictures\"\nquote = \"nothing like it\"\n+++\nB\n",
    );
    let out = d.check();
    assert_error(
        &out,
        "content/events/2022-05-pictures.md:6: error: quote not found in pictures",
    );
    out.assert_stderr("closest passage (p");
}

#[test]
fn sidecar_url_that_is_not_http_is_a_warning() {
    let (_d, out) = check_with(
        "content/articles/001_9b10334a7624b0a2.toml",
        b"title_en = \"x\"\nurl = \"javascript:alert(1)\"\n",
    );
    out.assert_ok();
    let warnings = out.diagnostics("warning");
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "content/articles/001_9b10334a7624b0a2.toml:2: warning: url \"javascript:alert(1)\" is not http(s)"
        )),
        "{out}"
    );
}
