// Real-browser tests of a built dossier site, in headless Chromium.
//
//   node tests/browser/run.mjs SITE_DIR [--screenshots DIR]
//
// SITE_DIR is the output of `dossier build --base-url https://example.github.io/dossier-demo/`;
// it is served under /dossier-demo/ on 127.0.0.1 (see server.mjs), as GitHub
// Pages serves a project site. The checks:
//   - the server behaves like GitHub Pages (index.html, 404.html with 404, no escape);
//   - every HTML page loads without console errors, page errors, failed or
//     off-site requests, and every internal link and #anchor resolves;
//   - clicking from the index reaches a theme, a month, an article and an event;
//   - a citation link on an event page lands on its highlighted passage;
//   - every citation's target paragraph contains a <mark>;
//   - axe-core finds no serious or critical violations on the index, timeline,
//     an article, an event, a theme, a month and the 404 page.
// With --screenshots DIR it also writes index.png, article.png and event.png
// (1280x900) there; tests/browser/screenshots.sh regenerates docs/screenshots/.
//
// Environment: CHROMIUM (default /usr/bin/chromium).
// The last line is "N passed, N failed"; the exit code is 0 only if none failed.

import fs from "node:fs";
import path from "node:path";
import http from "node:http";
import { createRequire } from "node:module";
import { launchPersistent, requireChromium } from "./chromium.mjs";
import { startServer, PREFIX } from "./server.mjs";

const require = createRequire(import.meta.url);
const started = Date.now();

// ---- arguments ----------------------------------------------------------

const argv = process.argv.slice(2);
let siteDir = null;
let shotsDir = null;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--screenshots") shotsDir = argv[++i];
  else if (!siteDir) siteDir = argv[i];
  else usage();
}
if (!siteDir || (argv.includes("--screenshots") && !shotsDir)) usage();
function usage() {
  console.error("usage: node run.mjs SITE_DIR [--screenshots DIR]");
  process.exit(2);
}
siteDir = path.resolve(siteDir);
if (!fs.existsSync(path.join(siteDir, "index.html"))) {
  console.error(`${siteDir}: no index.html; build the site first (dossier build --output DIR)`);
  process.exit(2);
}
requireChromium();

// The whole suite must stay well inside cargo test's patience.
const LIMIT_MS = Number(process.env.DOSSIER_BROWSER_TIMEOUT_MS || 150_000);
setTimeout(() => {
  console.error(`FAIL - the browser suite did not finish within ${LIMIT_MS / 1000}s`);
  process.exit(1);
}, LIMIT_MS).unref();

// ---- reporting -----------------------------------------------------------

let passed = 0;
let failed = 0;
function ok(name) {
  passed++;
  console.log(`ok - ${name}`);
}
function fail(name, details = []) {
  failed++;
  console.log(`FAIL - ${name}`);
  for (const d of details) console.log(`    ${d}`);
}
function check(name, problems) {
  if (problems.length === 0) ok(name);
  else fail(name, problems);
}
function note(text) {
  console.log(`# ${text}`);
}

// ---- the site's pages ----------------------------------------------------

/** Every .html file of the site, as [relative file, URL path]. */
function htmlPages(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".html")) {
        const rel = path.relative(root, full).split(path.sep).join("/");
        const urlPath = PREFIX + (rel.endsWith("index.html") ? rel.slice(0, -"index.html".length) : rel);
        out.push([rel, urlPath]);
      }
    }
  };
  walk(root);
  return out;
}

/** A raw GET that keeps the path exactly as given (fetch would normalize `..`). */
function rawGet(origin, rawPath) {
  return new Promise((resolve, reject) => {
    const u = new URL(origin);
    const req = http.request(
      { host: u.hostname, port: u.port, path: rawPath, method: "GET" },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

// ---- main ----------------------------------------------------------------

const server = await startServer(siteDir);
const { origin, base } = server;
note(`serving ${siteDir} at ${base}`);

let chrome;
try {
  chrome = await launchPersistent("dossier-chromium-", {
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    locale: "en-GB",
    timezoneId: "UTC",
    colorScheme: "light",
    reducedMotion: "reduce",
  });
} catch (e) {
  console.error(e.message);
  await server.close();
  process.exit(1);
}
const { context } = chrome;
note(`chromium ${context.browser()?.version() ?? "(persistent context)"}, playwright-core ${require("playwright-core/package.json").version}`);

try {
  await run(context);
} catch (e) {
  fail("the suite ran to the end", [String(e?.stack ?? e)]);
} finally {
  await chrome.close();
  await server.close();
}
note(`took ${((Date.now() - started) / 1000).toFixed(1)}s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

async function run(context) {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);

  // Everything that goes wrong while a page loads, attributed to the page.
  let current = "(none)";
  let problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") {
      const loc = msg.location();
      // A missing page is meant to answer 404; Chromium logs that as an error.
      if (current === "404" && loc?.url === page.url() && /status of 404/.test(msg.text())) return;
      problems.push(`console ${msg.type()}: ${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ""}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) => {
    // Chromium fetches the favicon after the load event, so going on to the
    // next page may cancel it; a missing favicon still shows as an HTTP 404.
    if (req.failure()?.errorText === "net::ERR_ABORTED" && /\/favicon\.svg$/.test(req.url())) return;
    problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  page.on("request", (req) => {
    const u = new URL(req.url());
    if (u.protocol !== "data:" && u.origin !== origin) problems.push(`off-site request: ${req.url()}`);
  });
  page.on("response", (res) => {
    // The 404 page is expected to come back with 404 when asked for a missing page.
    if (res.status() >= 400 && !(current === "404" && res.request().isNavigationRequest())) {
      problems.push(`HTTP ${res.status()}: ${res.url()}`);
    }
  });

  // -- 1. the server behaves like GitHub Pages -------------------------------
  {
    const p = [];
    const root = await rawGet(origin, PREFIX);
    if (root.status !== 200 || !root.body.includes("<html")) p.push(`${PREFIX}: ${root.status}`);
    const bare = await rawGet(origin, PREFIX.slice(0, -1));
    if (bare.status !== 301 || bare.headers.location !== PREFIX) p.push(`${PREFIX.slice(0, -1)}: ${bare.status} -> ${bare.headers.location}`);
    const folder = await rawGet(origin, `${PREFIX}timeline`);
    if (folder.status !== 301) p.push(`${PREFIX}timeline without slash: ${folder.status}, expected 301`);
    const missing = await rawGet(origin, `${PREFIX}no-such-page/`);
    const notFoundHtml = fs.readFileSync(path.join(siteDir, "404.html"), "utf8");
    if (missing.status !== 404 || missing.body !== notFoundHtml) p.push(`missing page: ${missing.status}, body is 404.html: ${missing.body === notFoundHtml}`);
    for (const escape of [`${PREFIX}../../../../etc/passwd`, `${PREFIX}%2e%2e/%2e%2e/%2e%2e/etc/passwd`, `${PREFIX}..%2f..%2f..%2fetc%2fpasswd`]) {
      const r = await rawGet(origin, escape);
      if (r.status === 200 || r.body.includes("root:")) p.push(`${escape}: ${r.status}, escaped the site folder`);
    }
    const outside = await rawGet(origin, "/index.html");
    if (outside.status !== 404) p.push(`/index.html outside the prefix: ${outside.status}, expected 404`);
    check("the static server serves the site as GitHub Pages would", p);
  }

  // -- 2. every page loads cleanly; collect links, ids and marks ------------
  const pages = htmlPages(siteDir);
  const info = new Map(); // URL path -> { ids, links, marks, passageLinks, title, h1 }
  const loadProblems = [];
  for (const [rel, urlPath] of pages) {
    current = rel === "404.html" ? "404-direct" : rel;
    problems = [];
    const res = await page.goto(origin + urlPath, { waitUntil: "load" });
    if (!res || res.status() !== 200) problems.push(`status ${res?.status()}`);
    const data = await page.evaluate(() => {
      const abs = (a) => a.href;
      return {
        title: document.title.trim(),
        h1: document.querySelectorAll("h1").length,
        lang: document.documentElement.lang,
        ids: [...document.querySelectorAll("[id]")].map((e) => e.id),
        links: [...document.querySelectorAll("a[href], link[href]")].map(abs),
        resources: [...document.querySelectorAll("img[src], script[src]")].map((e) => e.src),
        marks: Object.fromEntries(
          [...document.querySelectorAll("div[id^='p']")]
            .filter((d) => /^p\d+$/.test(d.id))
            .map((d) => [d.id, [...d.querySelectorAll("mark")].map((m) => m.id || "")]),
        ),
        passageLinks: [...document.querySelectorAll("a.passage-link")].map(abs),
        citations: document.querySelectorAll("li[id^='c'] blockquote").length,
      };
    });
    if (!data.title) problems.push("empty <title>");
    if (data.h1 !== 1) problems.push(`${data.h1} <h1> elements, expected 1`);
    if (!data.lang) problems.push("no lang on <html>");
    const dup = data.ids.filter((id, i) => data.ids.indexOf(id) !== i);
    if (dup.length) problems.push(`duplicate ids: ${[...new Set(dup)].join(", ")}`);
    info.set(urlPath, data);
    for (const pr of problems) loadProblems.push(`${rel}: ${pr}`);
  }
  check(`all ${pages.length} pages load without console errors or failed requests`, loadProblems);

  // The 404 page, as a visitor who mistyped a URL sees it.
  {
    current = "404";
    problems = [];
    const res = await page.goto(`${base}no-such-page/`, { waitUntil: "load" });
    if (res?.status() !== 404) problems.push(`status ${res?.status()}, expected 404`);
    const css = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
    if (!css) problems.push("no stylesheet applied");
    check("a missing page shows 404.html, styled, without errors", problems);
  }

  // Every internal link and #anchor resolves.
  {
    const p = [];
    const known = new Set(info.keys());
    const fetched = new Map();
    for (const [from, data] of info) {
      for (const href of data.links.concat(data.resources)) {
        const u = new URL(href);
        if (u.origin !== origin) continue; // external links are not followed
        if (!u.pathname.startsWith(PREFIX)) {
          p.push(`${from}: link outside the base path: ${u.pathname}`);
          continue;
        }
        let target = u.pathname;
        if (!known.has(target)) {
          if (!fetched.has(target)) {
            fetched.set(target, (await fetch(origin + target, { method: "HEAD" })).status);
          }
          const status = fetched.get(target);
          if (status !== 200) p.push(`${from}: broken link ${target}${u.hash} (${status})`);
          continue;
        }
        if (u.hash) {
          const id = decodeURIComponent(u.hash.slice(1));
          if (!info.get(target).ids.includes(id)) p.push(`${from}: no #${id} on ${target}`);
        }
      }
    }
    check("every internal link and #anchor resolves under the base path", p);
  }

  // Every citation lands on a paragraph with a highlighted passage.
  const events = [...info.keys()].filter((u) => /\/events\/[^/]+\/$/.test(u));
  {
    const p = [];
    let count = 0;
    for (const ev of events) {
      const slug = ev.split("/").at(-2);
      for (const href of info.get(ev).passageLinks) {
        count++;
        const u = new URL(href);
        const article = info.get(u.pathname);
        const para = u.hash.slice(1);
        if (!article || !/^#p\d+$/.test(u.hash)) {
          p.push(`${ev}: citation link ${href} is not an article paragraph`);
          continue;
        }
        const marks = article.marks[para];
        if (!marks) p.push(`${ev}: ${u.pathname}#${para} is not a paragraph <div>`);
        else if (marks.length === 0) p.push(`${ev}: ${u.pathname}#${para} has no <mark>`);
        else if (!marks.some((id) => id.startsWith(`q-${slug}-`)))
          p.push(`${ev}: ${u.pathname}#${para} has no <mark id="q-${slug}-N"> (marks: ${marks.join(", ")})`);
      }
    }
    if (count === 0) p.push("no citation links (a.passage-link) on any event page");
    check(`all ${count} citation links on ${events.length} event pages point at a paragraph with its <mark>`, p);
  }

  // -- 3. clicking from the index -----------------------------------------
  current = "click";
  const reached = {};
  for (const [what, pattern] of [
    ["a theme", /\/themes\/[^/]+\/$/],
    ["a month", /\/months\/\d{4}-\d{2}\/$/],
    ["an article", /\/articles\/[^/]+\/$/],
    ["an event", /\/events\/[^/]+\/$/],
  ]) {
    problems = [];
    await page.goto(base, { waitUntil: "load" });
    const url = await clickFirst(page, pattern);
    if (!url) {
      fail(`clicking from the index reaches ${what}`, [`no visible link matching ${pattern} on the index`]);
      continue;
    }
    const h1 = (await page.locator("h1").first().textContent())?.trim();
    if (!pattern.test(new URL(page.url()).pathname)) problems.push(`landed on ${page.url()}`);
    if (!h1) problems.push("no <h1> on the page reached");
    reached[what] = new URL(page.url()).pathname;
    check(`clicking from the index reaches ${what}: ${new URL(page.url()).pathname} "${h1}"`, problems);
  }

  // -- 4. a citation link lands on its highlighted passage ----------------
  const eventPath = reached["an event"] ?? events[0];
  {
    problems = [];
    await page.goto(origin + eventPath, { waitUntil: "load" });
    const link = page.locator("a.passage-link").first();
    const href = await link.getAttribute("href");
    await link.click();
    await page.waitForURL((u) => u.hash.length > 1);
    await page.waitForLoadState("load");
    const landed = new URL(page.url());
    const state = await page.evaluate(() => {
      const target = document.querySelector(":target");
      if (!target) return null;
      const r = target.getBoundingClientRect();
      const mark = target.querySelector("mark");
      const bg = mark ? getComputedStyle(mark).backgroundColor : null;
      return {
        id: target.id,
        tag: target.tagName.toLowerCase(),
        inView: r.top < window.innerHeight && r.bottom > 0,
        top: Math.round(r.top),
        scrolled: window.scrollY,
        mark: mark ? mark.textContent.trim().slice(0, 60) : null,
        markBackground: bg,
      };
    });
    if (landed.pathname + landed.hash !== href) problems.push(`clicked ${href}, landed on ${landed.pathname}${landed.hash}`);
    if (!state) problems.push("no :target element");
    else {
      if (`#${state.id}` !== landed.hash) problems.push(`:target is #${state.id}, not ${landed.hash}`);
      if (!state.inView) problems.push(`#${state.id} is not in view (top ${state.top}px, scrollY ${state.scrolled})`);
      if (!state.mark) problems.push(`#${state.id} contains no <mark>`);
      else if (!state.markBackground || state.markBackground === "rgba(0, 0, 0, 0)")
        problems.push(`the <mark> in #${state.id} has no background (not highlighted)`);
    }
    check(
      `a citation on ${eventPath} lands on its highlighted passage ${landed.pathname}${landed.hash}` +
        (state?.mark ? ` ("${state.mark}…")` : ""),
      problems,
    );
  }

  // -- 5. accessibility: axe-core -----------------------------------------
  const firstOf = (re) => [...info.keys()].find((u) => re.test(u));
  const axePages = [
    ["index", PREFIX],
    ["timeline", `${PREFIX}timeline/`],
    ["article", reached["an article"] ?? firstOf(/\/articles\/[^/]+\/$/)],
    ["event", eventPath],
    ["theme", reached["a theme"] ?? firstOf(/\/themes\/[^/]+\/$/)],
    ["month", reached["a month"] ?? firstOf(/\/months\/\d{4}-\d{2}\/$/)],
    ["404", `${PREFIX}no-such-page/`],
  ];
  const axePath = require.resolve("axe-core/axe.min.js");
  const axeVersion = require("axe-core/package.json").version;
  for (const [name, urlPath] of axePages) {
    current = name === "404" ? "404" : "axe";
    await page.goto(origin + urlPath, { waitUntil: "load" });
    // Evaluated through DevTools, not as a <script>: the site's own
    // Content-Security-Policy rightly refuses inline scripts.
    await page.evaluate(fs.readFileSync(axePath, "utf8"));
    const violations = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const result = await axe.run(document, { resultTypes: ["violations"] });
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        url: v.helpUrl,
        nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1).join(" ").trim()}`),
        count: v.nodes.length,
      }));
    });
    const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    for (const v of violations.filter((v) => !bad.includes(v)))
      note(`axe ${v.impact} on ${name} (${urlPath}): ${v.id}: ${v.help} (${v.count} nodes)`);
    check(
      `axe-core ${axeVersion}: no serious or critical violations on the ${name} page (${urlPath})`,
      bad.flatMap((v) => [`${v.impact} ${v.id}: ${v.help} (${v.count} nodes) ${v.url}`, ...v.nodes.map((n) => `  ${n}`)]),
    );
  }

  // -- 6. screenshots -------------------------------------------------------
  if (shotsDir) {
    current = "screenshots";
    fs.mkdirSync(shotsDir, { recursive: true });
    // The event with the most citations shows the most; its first passage is
    // the article screenshot, scrolled to the highlighted paragraph.
    const richest = [...events].sort(
      (a, b) => info.get(b).citations - info.get(a).citations || a.localeCompare(b),
    )[0];
    const passage = new URL(info.get(richest).passageLinks[0]);
    const shots = [
      ["index.png", PREFIX],
      ["article.png", passage.pathname + passage.hash],
      ["event.png", richest],
    ];
    for (const [file, urlPath] of shots) {
      await page.goto(origin + urlPath, { waitUntil: "load" });
      await page.evaluate(() => document.fonts.ready);
      // Show a little of what comes before the highlighted paragraph.
      if (file === "article.png") await page.evaluate(() => window.scrollBy(0, -160));
      const out = path.join(shotsDir, file);
      await page.screenshot({ path: out, fullPage: false, animations: "disabled", caret: "hide" });
      note(`screenshot ${out} <- ${urlPath}`);
    }
    ok(`screenshots written to ${shotsDir}`);
  }
}

/** Clicks the first visible link whose path (and hash) matches; returns the new URL. */
async function clickFirst(page, pattern) {
  const links = page.locator("main a[href]");
  const n = await links.count();
  for (let i = 0; i < n; i++) {
    const link = links.nth(i);
    const href = await link.evaluate((a) => a.href);
    const u = new URL(href);
    if (!pattern.test(u.pathname) || u.hash) continue;
    if (!(await link.isVisible())) continue;
    await link.click();
    await page.waitForURL((url) => url.pathname === u.pathname);
    await page.waitForLoadState("load");
    return page.url();
  }
  return null;
}
