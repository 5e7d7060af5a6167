//! The GitHub Pages workflows: the project's own (.github/workflows/pages.yml,
//! publishing the example dossier) and the one `dossier init` writes.

use std::path::Path;
use std::process::Command;

use serde_norway::Value;

fn load(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let yaml: Value = serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    (text, yaml)
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, key| {
        v.get(*key)
            .unwrap_or_else(|| panic!("workflow has no {}", path.join(".")))
    })
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{} is not a string", path.join(".")))
}

/// What both workflows share: triggers, permissions, concurrency, the actions
/// and their major versions, the base URL with its trailing slash, the deploy job.
fn check_pages_workflow(text: &str, yaml: &Value) -> Vec<String> {
    let on = get(yaml, &["on"]);
    let branches = get(on, &["push", "branches"])
        .as_sequence()
        .expect("branches list");
    assert!(
        branches.iter().any(|b| b.as_str() == Some("main")),
        "not built on push to main"
    );
    assert!(
        on.get("workflow_dispatch").is_some(),
        "no workflow_dispatch"
    );

    assert_eq!(str_of(yaml, &["permissions", "contents"]), "read");
    assert_eq!(str_of(yaml, &["permissions", "pages"]), "write");
    assert_eq!(str_of(yaml, &["permissions", "id-token"]), "write");
    assert_eq!(str_of(yaml, &["concurrency", "group"]), "pages");
    assert_eq!(
        get(yaml, &["concurrency", "cancel-in-progress"]).as_bool(),
        Some(false)
    );

    let steps = get(yaml, &["jobs", "build", "steps"])
        .as_sequence()
        .expect("build steps");
    let uses: Vec<&str> = steps
        .iter()
        .filter_map(|s| s.get("uses")?.as_str())
        .collect();
    for action in [
        "actions/checkout@v4",
        "actions/configure-pages@v5",
        "actions/cache@v4",
        "actions/upload-pages-artifact@v3",
    ] {
        assert!(
            uses.contains(&action),
            "build job does not use {action}: {uses:?}"
        );
    }
    let configure = steps
        .iter()
        .find(|s| s.get("uses").and_then(Value::as_str) == Some("actions/configure-pages@v5"))
        .unwrap();
    assert_eq!(configure.get("id").and_then(Value::as_str), Some("pages"));
    let upload = steps
        .iter()
        .find(|s| s.get("uses").and_then(Value::as_str) == Some("actions/upload-pages-artifact@v3"))
        .unwrap();
    assert_eq!(str_of(upload, &["with", "path"]), "public");

    assert!(
        text.contains("${{ steps.pages.outputs.base_url }}"),
        "base URL not taken from configure-pages"
    );
    assert!(
        text.contains(r#"BASE="${BASE_URL%/}""#),
        "trailing slash not normalized"
    );
    assert!(
        text.contains(r#"build --base-url "$BASE/""#),
        "site not built with the Pages base URL"
    );

    assert_eq!(
        get(yaml, &["jobs", "deploy", "needs"]).as_str(),
        Some("build")
    );
    assert_eq!(
        str_of(yaml, &["jobs", "deploy", "environment", "name"]),
        "github-pages"
    );
    let deploy = get(yaml, &["jobs", "deploy", "steps"])
        .as_sequence()
        .unwrap();
    assert!(
        deploy
            .iter()
            .any(|s| s.get("uses").and_then(Value::as_str) == Some("actions/deploy-pages@v4"))
    );

    steps
        .iter()
        .filter_map(|s| s.get("run")?.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn project_workflow_publishes_the_example_dossier() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (text, yaml) = load(&root.join(".github/workflows/pages.yml"));
    let runs = check_pages_workflow(&text, &yaml).join("\n");
    assert!(runs.contains("cargo build --release"), "{runs}");
    assert!(runs.contains("./target/release/dossier build"), "{runs}");
    assert!(
        text.contains("hashFiles('**/Cargo.lock')"),
        "cargo cache not keyed by Cargo.lock"
    );
    for cached in ["~/.cargo/registry", "~/.cargo/git", "target"] {
        assert!(text.contains(cached), "{cached} is not cached");
    }
}

#[test]
fn init_writes_a_pages_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("new-dossier");
    let out = Command::new(env!("CARGO_BIN_EXE_dossier"))
        .arg("init")
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = target.join(".github/workflows/pages.yml");
    let (text, yaml) = load(&written);
    assert_eq!(text, include_str!("../src/init/pages.yml"));
    let runs = check_pages_workflow(&text, &yaml).join("\n");
    assert!(
        runs.contains(
            r#"cargo install --locked --git "${DOSSIER_GIT:-https://github.com/dossier-ssg/dossier}" dossier"#
        ),
        "{runs}"
    );
    assert!(runs.contains("dossier build --base-url"), "{runs}");
    assert!(
        text.contains("fork"),
        "no comment telling the user to point DOSSIER_GIT at their fork"
    );
}
