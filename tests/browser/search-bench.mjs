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
// Environment: CHROMIUM (default /usr/bin/chromium).

import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { chromium } from "playwright-core";
import { startServer } from "./server.mjs";

const [siteArg, ...queryArgs] = process.argv.slice(2);
if (!siteArg) {
  console.error("usage: node search-bench.mjs SITE_DIR [QUERY...]");
  process.exit(2);
}
const siteDir = path.resolve(siteArg);
const queries = queryArgs.length ? queryArgs : ["kärnkraften", "kaernkraften", "strømstøtten", "Düngeverordnung", "bæredygtig", "regeringen"];
const CSP = "default-src 'self'; script-src 'self'";

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

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
const indexRoot = path.join(siteDir, "search-index");
console.log(`# search index in ${indexRoot}`);
{
  let allBytes = 0;
  let allFiles = 0;
  for (const part of ["meta.json", "terms", "docs"]) {
    const full = path.join(indexRoot, part);
    const files = fs.statSync(full).isDirectory() ? walk(full) : [full];
    const sizes = files.map((f) => fs.statSync(f).size);
    const bytes = sizes.reduce((s, n) => s + n, 0);
    allBytes += bytes;
    allFiles += files.length;
    const detail = files.length > 1 ? ` (mean ${kb(bytes / files.length)}, largest ${kb(Math.max(...sizes))})` : "";
    console.log(`  ${part.padEnd(12)} ${String(files.length).padStart(6)} files ${mb(bytes).padStart(10)}${detail}`);
  }
  console.log(`  total        ${String(allFiles).padStart(6)} files ${mb(allBytes).padStart(10)}`);
}

// ---- page weights ---------------------------------------------------------------

function weight(rel) {
  const file = path.join(siteDir, rel);
  const html = fs.readFileSync(file);
  const parts = [["html", rel, html]];
  const text = html.toString("utf8");
  for (const m of text.matchAll(/<link rel="stylesheet" href="([^"]+)"|<script[^>]* src="([^"]+)"/g)) {
    const href = (m[1] || m[2]).replace(/^.*?\/static\//, "static/");
    parts.push([m[1] ? "css" : "js", href, fs.readFileSync(path.join(siteDir, href))]);
  }
  const raw = parts.reduce((s, p) => s + p[2].length, 0);
  const gz = parts.reduce((s, p) => s + zlib.gzipSync(p[2]).length, 0);
  console.log(
    `  ${rel.padEnd(48)} ${kb(raw).padStart(11)} (gzip ${kb(gz).padStart(10)}): ` +
      parts.map(([k, name, b]) => `${k} ${path.basename(name)} ${kb(b.length)}`).join(", "),
  );
}
console.log("# page weights (HTML + CSS + JS, without the search index)");
const firstArticle = fs.readdirSync(path.join(siteDir, "articles")).filter((d) => !d.includes(".")).sort()[0];
for (const rel of ["index.html", `articles/${firstArticle}/index.html`, "search/index.html", "timeline/index.html", "articles/index.html"]) {
  if (fs.existsSync(path.join(siteDir, rel))) weight(rel);
}

// ---- time to first result ---------------------------------------------------------

const server = await startServer(siteDir, { headers: { "Content-Security-Policy": CSP } });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  chromiumSandbox: false,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
console.log(`# time to first result, chromium ${browser.version()}, CSP "${CSP}", no network throttling`);
try {
  for (const [i, query] of queries.entries()) {
    const second = queries[(i + 1) % queries.length];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    let fetched = { bytes: 0, files: 0 };
    page.on("response", async (res) => {
      if (!res.url().includes("/search-index/")) return;
      const body = await res.body().catch(() => Buffer.alloc(0));
      fetched.bytes += body.length;
      fetched.files++;
    });
    await page.goto(`${server.base}search/`, { waitUntil: "load" });

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
      const status = await page.textContent("#search-status");
      // From the first and from the last keystroke (search.js waits 150 ms
      // after the last one before it searches).
      return {
        ms: end === null ? "-" : `${Math.round(end - start)} ms (${Math.round(end - typed)} ms after the last key)`,
        status,
      };
    };

    await page.click("#search-q"); // focus: meta.json starts loading
    const cold = await measure(query);
    const coldBytes = fetched;
    fetched = { bytes: 0, files: 0 };
    const warm = await measure(second);
    console.log(
      `  "${query}": cold ${cold.ms}, ${coldBytes.files} files ${kb(coldBytes.bytes)} fetched (${cold.status})\n` +
        `    then "${second}": ${warm.ms}, ${fetched.files} files ${kb(fetched.bytes)} (${warm.status})` +
        (errors.length ? ` ERRORS: ${errors.join("; ")}` : ""),
    );
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
