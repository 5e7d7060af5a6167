// Search index size, download per query, time to first result and page
// weights of a built dossier site; not part of `cargo test` (a 10,000-article
// site takes minutes to build). See README.md in this folder.
//
//   node tests/browser/search-bench.mjs SITE_DIR [QUERY...]
//
// SITE_DIR is served under /dossier-demo/ (server.mjs), so build it with a
// base URL ending in /dossier-demo/ (any host). For each query, in a fresh
// headless Chromium: open the search page, click the search box (which starts
// loading the index's meta.json), type the query, and time from the first
// keystroke to the first result on screen ("cold"); then type a second query
// ("warm"). Reported: bytes and files fetched under search-index/ for each
// (meta.json, term shards, the fragments of the results shown), and the
// size of the index on disk (meta.json, term shards, document fragments).
// Page weights are HTML + CSS + JS as stored, and gzipped (as GitHub Pages
// serves them).
//
// The measurements are exported for search-scale.mjs, which checks search
// at scale and prints the same figures.
//
// Environment: CHROMIUM (default /usr/bin/chromium).

import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { pathToFileURL } from "node:url";
import { startServer } from "./server.mjs";
import { CSP, launchChromium, requireChromium } from "./lib.mjs";

export const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
export const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

// ---- the index on disk --------------------------------------------------------

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

/** The search index's parts on disk (meta.json, terms/, docs/) and their
 * total: { parts: [{ part, files, bytes, largest }], files, bytes }. */
export function indexSize(siteDir) {
  const indexRoot = path.join(siteDir, "search-index");
  const parts = ["meta.json", "terms", "docs"].map((part) => {
    const full = path.join(indexRoot, part);
    const files = fs.statSync(full).isDirectory() ? walk(full) : [full];
    const sizes = files.map((f) => fs.statSync(f).size);
    return { part, files: files.length, bytes: sizes.reduce((s, n) => s + n, 0), largest: Math.max(...sizes) };
  });
  return {
    parts,
    files: parts.reduce((s, p) => s + p.files, 0),
    bytes: parts.reduce((s, p) => s + p.bytes, 0),
  };
}

export function printIndexSize(siteDir) {
  const size = indexSize(siteDir);
  console.log(`# search index in ${path.join(siteDir, "search-index")}`);
  for (const { part, files, bytes, largest } of size.parts) {
    const detail = files > 1 ? ` (mean ${kb(bytes / files)}, largest ${kb(largest)})` : "";
    console.log(`#   ${part.padEnd(12)} ${String(files).padStart(6)} files ${mb(bytes).padStart(10)}${detail}`);
  }
  console.log(`#   total        ${String(size.files).padStart(6)} files ${mb(size.bytes).padStart(10)}`);
  return size;
}

// ---- page weights ---------------------------------------------------------------

/** A page's HTML and the CSS and JS it links, as stored and gzipped:
 * { rel, raw, gz, parts: [[kind, file, bytes]] }. */
export function pageWeight(siteDir, rel) {
  const html = fs.readFileSync(path.join(siteDir, rel));
  const parts = [["html", rel, html]];
  for (const m of html.toString("utf8").matchAll(/<link rel="stylesheet" href="([^"]+)"|<script[^>]* src="([^"]+)"/g)) {
    const href = (m[1] || m[2]).replace(/^.*?\/static\//, "static/");
    parts.push([m[1] ? "css" : "js", href, fs.readFileSync(path.join(siteDir, href))]);
  }
  return {
    rel,
    raw: parts.reduce((s, p) => s + p[2].length, 0),
    gz: parts.reduce((s, p) => s + zlib.gzipSync(p[2]).length, 0),
    parts,
  };
}

/** The pages weighed: the index, the first article, search, timeline, article list. */
export function weighedPages(siteDir) {
  const firstArticle = fs.readdirSync(path.join(siteDir, "articles")).filter((d) => !d.includes(".")).sort()[0];
  return ["index.html", `articles/${firstArticle}/index.html`, "search/index.html", "timeline/index.html", "articles/index.html"].filter(
    (rel) => fs.existsSync(path.join(siteDir, rel)),
  );
}

export function printPageWeights(siteDir) {
  console.log("# page weights (HTML + CSS + JS, without the search index)");
  return weighedPages(siteDir).map((rel) => {
    const w = pageWeight(siteDir, rel);
    console.log(
      `#   ${rel.padEnd(48)} ${kb(w.raw).padStart(11)} (gzip ${kb(w.gz).padStart(10)}): ` +
        w.parts.map(([k, name, b]) => `${k} ${path.basename(name)} ${kb(b.length)}`).join(", "),
    );
    return w;
  });
}

// ---- time to first result ---------------------------------------------------------

/** In a fresh browser context: opens the search page under `base`, clicks the
 * box (meta.json starts loading), types `query` and times the first keystroke
 * to the first result on screen; then, if given, the same for `second`.
 * Returns { cold, warm, errors }, each of those { ms (null: nothing found),
 * afterLastKey, files, bytes (fetched under search-index/), status }. */
export async function timeToFirstResult(browser, base, query, second = null) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  let fetched = { bytes: 0, files: 0 };
  const bodies = [];
  page.on("response", (res) => {
    if (!res.url().includes("/search-index/")) return;
    const counter = fetched;
    bodies.push(
      res
        .body()
        .catch(() => Buffer.alloc(0))
        .then((body) => {
          counter.bytes += body.length;
          counter.files++;
        }),
    );
  });
  try {
    await page.goto(`${base}search/`, { waitUntil: "load" });

    const measure = async (q) => {
      await page.evaluate(() => {
        window.__first = null;
        const list = document.getElementById("search-results");
        new MutationObserver((_, obs) => {
          if (list.querySelector("li")) {
            window.__first = performance.now();
            obs.disconnect();
          }
        }).observe(list, { childList: true });
      });
      await page.fill("#search-q", "");
      const start = await page.evaluate(() => performance.now());
      await page.keyboard.type(q);
      const typed = await page.evaluate(() => performance.now());
      await page.waitForFunction(
        () => window.__first !== null || /Nothing found/.test(document.getElementById("search-status").textContent),
      );
      const end = await page.evaluate(() => window.__first);
      // Wait for the status line, so that every fetch of this query is counted.
      await page.waitForFunction(() => /result|Nothing found/.test(document.getElementById("search-status").textContent));
      await Promise.all(bodies.splice(0));
      const status = await page.textContent("#search-status");
      const got = fetched;
      fetched = { bytes: 0, files: 0 };
      // From the first and from the last keystroke (search.js waits 150 ms
      // after the last one before it searches).
      return {
        ms: end === null ? null : Math.round(end - start),
        afterLastKey: end === null ? null : Math.round(end - typed),
        ...got,
        status,
      };
    };

    await page.click("#search-q"); // focus: meta.json starts loading
    const cold = await measure(query);
    const warm = second === null ? null : await measure(second);
    return { cold, warm, errors };
  } finally {
    await context.close();
  }
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

// ---- the command ----------------------------------------------------------------

async function main() {
  const [siteArg, ...queryArgs] = process.argv.slice(2);
  if (!siteArg) {
    console.error("usage: node search-bench.mjs SITE_DIR [QUERY...]");
    process.exit(2);
  }
  requireChromium();
  const siteDir = path.resolve(siteArg);
  const queries = queryArgs.length ? queryArgs : ["kärnkraften", "kaernkraften", "strømstøtten", "Düngeverordnung", "bæredygtig", "regeringen"];

  printIndexSize(siteDir);
  printPageWeights(siteDir);

  const server = await startServer(siteDir, { headers: { "Content-Security-Policy": CSP } });
  const browser = await launchChromium();
  console.log(`# time to first result, chromium ${browser.version()}, CSP "${CSP}", no network throttling`);
  const ms = (r) => (r.ms === null ? "-" : `${r.ms} ms (${r.afterLastKey} ms after the last key)`);
  try {
    for (const [i, query] of queries.entries()) {
      const second = queries[(i + 1) % queries.length];
      const { cold, warm, errors } = await timeToFirstResult(browser, server.base, query, second);
      console.log(
        `  "${query}": cold ${ms(cold)}, ${cold.files} files ${kb(cold.bytes)} fetched (${cold.status})\n` +
          `    then "${second}": ${ms(warm)}, ${warm.files} files ${kb(warm.bytes)} (${warm.status})` +
          (errors.length ? ` ERRORS: ${errors.join("; ")}` : ""),
      );
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
