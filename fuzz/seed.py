#!/usr/bin/env python3
"""Seeds the fuzz corpora from the example dossier (content/articles, content/events)."""
import pathlib, re, tomllib

here = pathlib.Path(__file__).parent
content = here.parent / "content"
corpus = here / "corpus"
for t in ["normalize", "frontmatter", "quote", "slug_url"]:
    (corpus / t).mkdir(parents=True, exist_ok=True)
articles = {}
for p in sorted((content / "articles").glob("*.txt")):
    text = p.read_bytes()
    articles[p.stem] = text
    side = p.with_suffix(".toml")
    sidecar = side.read_bytes() if side.exists() else b""
    (corpus / "normalize" / p.stem).write_bytes(text + b"\0" + sidecar)
    (corpus / "normalize" / (p.stem + "-bare")).write_bytes(text)
    if sidecar:
        (corpus / "frontmatter" / (p.stem + "-sidecar")).write_bytes(sidecar)
    (corpus / "slug_url" / p.stem).write_bytes(
        b"\0".join([p.stem.encode(), b"/articles/" + p.stem.encode() + b"/", b"../" + p.stem.encode(), b"%2e%2e/x"]))
for p in sorted((content / "events").glob("*.md")):
    text = p.read_bytes()
    (corpus / "frontmatter" / p.stem).write_bytes(text)
    m = re.match(rb"\+\+\+\n(.*?)\n\+\+\+", text, re.S)
    if not m:
        continue
    meta = tomllib.loads(m.group(1).decode())
    for i, c in enumerate(meta.get("citations", [])):
        if c["article"] in articles:
            (corpus / "quote" / f"{p.stem}-{i}").write_bytes(
                articles[c["article"]] + b"\0" + c["quote"].encode())
    (corpus / "slug_url" / p.stem).write_bytes(p.stem.encode() + b"\0/events/" + p.stem.encode() + b"/")
