// The hostile fixture in a real browser: no payload runs.
//
//   node tests/browser/hostile.mjs SITE_DIR
//
// SITE_DIR is tests/fixtures/hostile built with
// `--base-url https://example.github.io/dossier-demo/` (tests/browser.rs,
// `hostile_pages_are_inert`, does this). Its text is full of payloads that
// would do something observable if they ever ran: alert(), fetch() and
// <img>/<iframe>/<link>/@import/url() to http://evil.example/, location
// changes, meta refresh, `window.__pwned = …`, event handlers, javascript:
// and data: URLs (see tests/fixtures/hostile/ and docs/HARDENING.md).
//
// The site is served under /dossier-demo/ on 127.0.0.1 (server.mjs) and
// every HTML page is opened in headless Chromium twice:
//   - as published, under the page's own Content-Security-Policy: any CSP
//     violation fails (it would mean hostile markup reached the page and was
//     stopped only by the policy);
//   - with the policy bypassed (as if it were missing or broken): nothing
//     may run even so.
// In each pass, on every page:
//   - no dialog (alert, confirm, prompt), no popup, no frame, no navigation
//     away, no request to a host other than the local server (every request
//     is routed; foreign ones are aborted and reported), `window.__pwned` is
//     never set (a setter reports it, in frames too), no console error or
//     uncaught exception;
//   - the live DOM, after the site's own scripts ran, holds no script but the
//     site's, no on* or style attribute, no iframe/object/embed/style/base/
//     svg/math/video/…, no meta refresh, no form posting elsewhere, no
//     javascript:/data:/vbscript: URL and no URL to another host but links;
//   - every element gets synthetic mouse, pointer, focus, keyboard, load and
//     error events (navigation prevented): an on* attribute would run;
//   - every link carrying hostile text is hovered with the real mouse and
//     (once per target) clicked, and must land on a page of the site.
// Then the search page with hostile queries (and results carrying hostile
// text), the header search box, the filtered lists and the 404 page with
// hostile query strings and fragments. A planted payload in each pass shows
// that the detectors fire.
//
// Environment: CHROMIUM (default /usr/bin/chromium).
// The last line is "N passed, N failed"; the exit code is 0 only if none failed.

import fs from "node:fs";
import path from "node:path";
import { launchChromium, requireChromium } from "./chromium.mjs";
import { Tally, deadline } from "./lib.mjs";
import { startServer, PREFIX } from "./server.mjs";

const siteDir = path.resolve(process.argv[2] ?? "");
if (!process.argv[2] || !fs.existsSync(path.join(siteDir, "index.html"))) {
  console.error("usage: node hostile.mjs SITE_DIR (tests/fixtures/hostile, built)");
  process.exit(2);
}
requireChromium();
deadline(Number(process.env.DOSSIER_BROWSER_TIMEOUT_MS || 150_000), "the hostile-page suite");
const started = Date.now();

const tally = new Tally();
const check = (name, problems) => tally.check(name, problems);
const note = (text) => tally.note(text);

/** Time for what a page does by itself after `load`: meta refresh 0,
 * autofocus, SVG animations that begin at 0, the site's scripts. */
const SETTLE_MS = 250;

/** Queries that find the hostile records, and queries that are payloads. */
const QUERIES = [
  ["pwned", true],
  ["script", true],
  ["onerror", true],
  ["evil", true],
  ["Lukasjenko", true],
  ["<img src=x onerror=\"window.__pwned='query-1';alert('query-1')\">", false],
  ["\"><svg onload=alert('query-2')>", false],
  ["</title><script>alert('query-3')</script>", false],
  ["javascript:alert('query-4')", false],
];

/** Pages opened with hostile query strings and fragments: [URL below the base, expected status]. */
const HOSTILE_URLS = [
  ["timeline/?theme=beacons", 200],
  ["timeline/?theme=%3Cimg%20src%3Dx%20onerror%3Dalert('filter-1')%3E&outlet=%22%3E%3Csvg%20onload%3Dalert('filter-2')%3E", 200],
  ["articles/?language=javascript:alert('filter-3')&month=%3Cscript%3Ealert('filter-4')%3C/script%3E", 200],
  ["themes/scripts/?month=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert('filter-5')%3E", 200],
  ["articles/clipping/#%3Cimg%20src=x%20onerror=alert('hash-1')%3E", 200],
  ["search/#q=%3Cimg%20src=x%20onerror=alert('hash-2')%3E", 200],
  ["no-such-page/%3Cscript%3Ealert('404-1')%3C/script%3E/?q=%3Cimg%20src%3Dx%20onerror%3Dalert('404-2')%3E", 404],
];

// ---- the site's pages ----------------------------------------------------

/** Every .html file of the site, as [relative file, URL path]. */
function htmlPages(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".html")) {
        const rel = path.relative(root, full).split(path.sep).join("/");
        out.push([rel, PREFIX + (rel.endsWith("index.html") ? rel.slice(0, -"index.html".length) : rel)]);
      }
    }
  };
  walk(root);
  return out;
}

// ---- in the page ---------------------------------------------------------

/** Runs in every frame before the page's own scripts: reports a write to
 * window.__pwned and every CSP violation through the exposed binding. */
function sentinel() {
  const tell = (what) => {
    try {
      window.__dossierHostileReport(what);
    } catch {
      // the binding is not there (a frame torn down): the other detectors remain
    }
  };
  Object.defineProperty(window, "__pwned", {
    configurable: false,
    get: () => undefined,
    set: (v) => tell(`window.__pwned = ${JSON.stringify(String(v))}`),
  });
  document.addEventListener(
    "securitypolicyviolation",
    (e) => tell(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"}${e.sample ? ` "${e.sample}"` : ""}`),
    true,
  );
}

/** What in the live DOM did not come from the site's templates and scripts. */
function liveDomProblems({ origin, prefix }) {
  const found = [];
  const own = new URL(`${prefix}static/`, origin).href;
  const show = (el) => el.outerHTML.replace(/\s+/g, " ").slice(0, 160);
  const FORBIDDEN = new Set([
    "iframe", "frame", "frameset", "object", "embed", "applet", "portal", "style", "base", "svg", "math",
    "noscript", "template", "video", "audio", "source", "track", "picture", "marquee", "xmp", "plaintext",
  ]);
  const URL_ATTRIBUTES = new Set([
    "href", "src", "action", "formaction", "data", "poster", "srcset", "background", "cite", "ping",
    "xlink:href", "codebase", "longdesc", "manifest", "lowsrc", "dynsrc", "icon", "srcdoc",
  ]);
  for (const el of document.querySelectorAll("*")) {
    const name = el.localName;
    const inBody = document.body.contains(el);
    if (name === "script") {
      if (!el.src.startsWith(own) || el.textContent.trim()) found.push(`script not from the site: ${show(el)}`);
    } else if (FORBIDDEN.has(name)) {
      found.push(`<${name}> element: ${show(el)}`);
    } else if (name === "form") {
      if (new URL(el.action, location.href).origin !== origin) found.push(`form posting elsewhere: ${show(el)}`);
    } else if (name === "meta") {
      const equiv = el.getAttribute("http-equiv");
      if (inBody || (equiv && equiv.toLowerCase() !== "content-security-policy")) found.push(`meta: ${show(el)}`);
    } else if (name === "link") {
      const rel = (el.getAttribute("rel") || "").toLowerCase();
      const fetched = !/^(canonical|alternate)$/.test(rel);
      if (inBody || (fetched && new URL(el.href, location.href).origin !== origin)) found.push(`link: ${show(el)}`);
    }
    for (const attr of el.attributes) {
      const a = attr.name.toLowerCase();
      if (a.startsWith("on")) found.push(`event handler ${attr.name}: ${show(el)}`);
      if (a === "style" || a === "srcdoc") found.push(`${attr.name} attribute: ${show(el)}`);
      if (!URL_ATTRIBUTES.has(a)) continue;
      const value = attr.value.replace(/[\s\u0000-\u001f]/g, "").toLowerCase();
      if (/^(javascript|data|vbscript):/.test(value)) found.push(`${attr.name}=${JSON.stringify(attr.value)}: ${show(el)}`);
      // Links (and link rel=canonical/alternate) may point elsewhere; nothing fetched may.
      // A link is a click away, not a request; it must not hand the other host the page.
      const linkLike = (name === "a" || name === "area" || name === "link") && a === "href";
      const rel = (el.getAttribute("rel") || "").toLowerCase();
      const plainLink = name === "a" && a === "href" && rel.includes("noopener") && rel.includes("noreferrer");
      if (value.includes("evil.example") && !plainLink) found.push(`${attr.name} to evil.example: ${show(el)}`);
      if (!linkLike && a !== "srcset" && attr.value.trim()) {
        let target;
        try {
          target = new URL(attr.value, location.href);
        } catch {
          continue;
        }
        if (/^https?:$/.test(target.protocol) && target.origin !== origin) {
          found.push(`${attr.name} to another host: ${show(el)}`);
        }
      }
    }
  }
  return found;
}

/** Sends every element of the body the events an on* attribute would wait
 * for; clicks and submits do nothing (navigation is prevented). The site's
 * own controls (forms and what is in them, scripts) are left alone: their
 * handlers are the site's, checked by search.mjs. Returns the count. */
function pokeEverything() {
  const stop = (e) => e.preventDefault();
  window.addEventListener("click", stop, true);
  window.addEventListener("auxclick", stop, true);
  window.addEventListener("submit", stop, true);
  const MOUSE = [
    "pointerover", "pointerenter", "mouseover", "mouseenter", "pointermove", "mousemove", "pointerdown",
    "mousedown", "pointerup", "mouseup", "click", "dblclick", "auxclick", "contextmenu", "mouseout",
    "mouseleave", "pointerout", "pointerleave", "wheel",
  ];
  const OTHER = [
    "focus", "focusin", "blur", "focusout", "keydown", "keypress", "keyup", "input", "beforeinput", "change",
    "select", "invalid", "toggle", "load", "error", "abort", "animationstart", "animationend",
    "transitionend", "scroll", "copy", "cut", "paste", "drag", "dragstart", "dragenter", "dragover", "drop",
    "touchstart", "begin", "beginEvent", "show", "cancel", "close", "resize",
  ];
  let n = 0;
  try {
    for (const el of document.body.querySelectorAll("*")) {
      if (el.closest("form, script")) continue;
      for (const type of MOUSE) el.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, view: window }));
      for (const type of OTHER) el.dispatchEvent(new Event(type, { bubbles: false, cancelable: true }));
      n++;
    }
  } finally {
    window.removeEventListener("click", stop, true);
    window.removeEventListener("auxclick", stop, true);
    window.removeEventListener("submit", stop, true);
  }
  return n;
}

/** The links of the page that carry hostile text (in their text or label). */
function hostileLinks() {
  const HOSTILE = /[<>]|alert\(|__pwned|javascript:|evil\.example/i;
  return [...document.querySelectorAll("a[href]")]
    .map((a, index) => ({ index, href: a.href, html: a.outerHTML, text: a.textContent + " " + (a.getAttribute("aria-label") || "") }))
    .filter((l) => HOSTILE.test(l.text));
}

// ---- one pass ------------------------------------------------------------

/** A browser context whose every page reports to `sink`: dialogs, popups,
 * frames, foreign requests (aborted), foreign navigations, console errors,
 * page errors, failed requests and HTTP errors, window.__pwned, CSP
 * violations. `sink.page` names the page being checked; `sink.expect404`
 * allows a 404 for the navigation of a missing page. */
async function hostileContext(browser, origin, bypassCSP) {
  const sink = { page: "(none)", problems: [], remnants: new Map(), expect404: false };
  const report = (what) => sink.problems.push(`${sink.page}: ${what}`);
  const context = await browser.newContext({ bypassCSP, viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  await context.exposeBinding("__dossierHostileReport", (_source, what) => report(String(what)));
  await context.addInitScript(sentinel);
  await context.route("**/*", (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (url.origin === origin) return route.continue();
    report(`request to another host: ${request.method()} ${request.url()} (${request.resourceType()})`);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  context.on("page", (other) => {
    if (other === page) return;
    report(`a popup opened: ${other.url()}`);
    other.close().catch(() => {});
  });
  page.on("dialog", (dialog) => {
    report(`dialog (${dialog.type()}): ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on("frameattached", () => report("a frame was attached"));
  page.on("framenavigated", (frame) => {
    const url = frame.url();
    if (frame !== page.mainFrame()) report(`a frame loaded ${url}`);
    else if (url !== "about:blank" && !url.startsWith(origin + PREFIX)) report(`the page navigated to ${url}`);
  });
  page.on("console", (msg) => {
    if (msg.type() !== "error" && msg.type() !== "warning") return;
    // A same-site 404 is reported (or allowed) by the response handler below.
    if (/^Failed to load resource: the server responded with a status of 404/.test(msg.text()) && (msg.location()?.url ?? "").startsWith(origin)) return;
    report(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => report(`uncaught exception: ${err.message}`));
  page.on("requestfailed", (request) => {
    const error = request.failure()?.errorText ?? "";
    // Foreign requests were aborted by the route (and reported there); leaving
    // a page cancels what it still loads.
    if (/ERR_BLOCKED_BY_CLIENT|ERR_ABORTED/.test(error)) return;
    report(`request failed: ${request.url()} (${error})`);
  });
  page.on("response", (response) => {
    if (response.status() < 400) return;
    const request = response.request();
    if (sink.expect404 && request.isNavigationRequest() && response.status() === 404) return;
    // What a sanitizer left of hostile markup (`<img src="x">`) asks the site
    // itself for a file that is not there: noted, not a failure.
    if (response.url().startsWith(origin + PREFIX) && request.resourceType() === "image") {
      const on = request.frame().url().slice(origin.length);
      if (!sink.remnants.has(response.url())) sink.remnants.set(response.url(), `${response.status()} ${response.url().slice(origin.length)} (from ${on})`);
      return;
    }
    report(`HTTP ${response.status()}: ${response.url()}`);
  });
  return { context, page, sink };
}

/** Opens `url`, lets it settle, checks the live DOM and pokes every element. */
async function visit(page, sink, origin, label, url, { expectStatus = 200, settle = SETTLE_MS } = {}) {
  sink.page = label;
  sink.expect404 = expectStatus === 404;
  const domProblems = [];
  const response = await page.goto(url, { waitUntil: "load" });
  if (response?.status() !== expectStatus) sink.problems.push(`${label}: status ${response?.status()}, expected ${expectStatus}`);
  await page.waitForTimeout(settle);
  for (const p of await page.evaluate(liveDomProblems, { origin, prefix: PREFIX })) domProblems.push(`${label}: ${p}`);
  const poked = await page.evaluate(pokeEverything);
  await page.waitForTimeout(20);
  if (!page.url().startsWith(origin + PREFIX)) sink.problems.push(`${label}: left the site for ${page.url()}`);
  return { domProblems, poked };
}

async function pass(browser, origin, base, pages, bypassCSP) {
  const how = bypassCSP ? "with the Content-Security-Policy bypassed" : "under the site's Content-Security-Policy";
  const { context, page, sink } = await hostileContext(browser, origin, bypassCSP);
  try {
    // -- the detectors fire on a planted payload ------------------------------
    {
      sink.page = "planted";
      await page.goto(base, { waitUntil: "load" });
      await page.evaluate(() => {
        document.body.insertAdjacentHTML(
          "beforeend",
          `<img id="planted" src="http://evil.example/planted.png" onerror="window.__pwned='planted'">`,
        );
        setTimeout(() => alert("planted"), 0);
      });
      await page.waitForTimeout(SETTLE_MS);
      const dom = await page.evaluate(liveDomProblems, { origin, prefix: PREFIX });
      const got = sink.problems.splice(0);
      const want = bypassCSP
        ? [/dialog \(alert\): planted/, /request to another host: GET http:\/\/evil\.example\/planted\.png/, /window\.__pwned = "planted"/]
        : [/dialog \(alert\): planted/, /CSP violation: img-src blocked http:\/\/evil\.example\/planted\.png/];
      const missing = want.filter((re) => !got.some((g) => re.test(g))).map((re) => `not detected: ${re}`);
      if (!dom.some((d) => /event handler onerror/.test(d))) missing.push("the live-DOM check missed the planted onerror");
      check(`${how}: the detectors catch a planted payload`, missing.length ? [...missing, ...got.map((g) => `seen: ${g}`)] : []);
    }

    // -- every page ------------------------------------------------------------
    const domProblems = [];
    let elements = 0;
    const links = new Map(); // outerHTML -> { page URL, index, href }
    for (const [rel, urlPath] of pages) {
      const is404 = rel === "404.html";
      const visited = await visit(page, sink, origin, rel, origin + urlPath, { expectStatus: 200 });
      domProblems.push(...visited.domProblems);
      elements += visited.poked;
      if (is404) continue;
      for (const link of await page.evaluate(hostileLinks)) {
        if (!links.has(link.html)) links.set(link.html, { from: origin + urlPath, rel, ...link });
      }
    }
    const loadProblems = sink.problems.splice(0);
    check(`${how}: all ${pages.length} pages open, and ${elements} elements take synthetic events, with no dialog, script run, request to another host, frame, navigation or console error`, loadProblems);
    check(`${how}: the live DOM of every page holds no markup from content`, domProblems);

    // -- links that carry hostile text: real hover, real click ----------------
    {
      const problems = [];
      const clicked = new Set();
      let hovered = 0;
      const byPage = new Map();
      for (const link of links.values()) {
        if (!byPage.has(link.from)) byPage.set(link.from, []);
        byPage.get(link.from).push(link);
      }
      for (const [from, list] of byPage) {
        for (const link of list) {
          sink.page = `${link.rel}: link ${link.text.trim().slice(0, 60)}`;
          if (page.url() !== from) await page.goto(from, { waitUntil: "load" });
          const handle = page.locator("a[href]").nth(link.index);
          if (!(await handle.isVisible())) continue;
          await handle.hover({ timeout: 5_000 });
          hovered++;
          await page.waitForTimeout(10);
          const target = new URL(link.href);
          // Under the policy, hovering is enough: an inline handler is blocked and reported.
          if (!bypassCSP || target.origin !== origin || clicked.has(link.href)) continue;
          clicked.add(link.href);
          const samePage = target.pathname === new URL(page.url()).pathname && target.search === new URL(page.url()).search;
          try {
            if (samePage) await handle.click({ timeout: 5_000 });
            else {
              await Promise.all([
                page.waitForURL((u) => u.pathname === target.pathname, { waitUntil: "load", timeout: 5_000 }),
                handle.click({ timeout: 5_000 }),
              ]);
            }
          } catch (e) {
            problems.push(`${sink.page}: clicking it did not reach ${link.href}: ${e.message.split("\n")[0]}`);
          }
          await page.waitForTimeout(50);
          const now = new URL(page.url());
          if (now.origin !== origin || now.pathname !== target.pathname) {
            problems.push(`${sink.page}: the click landed on ${page.url()}, not ${link.href}`);
          }
        }
      }
      problems.push(...sink.problems.splice(0));
      const clicks = bypassCSP ? `, ${clicked.size} distinct ones clicked` : "";
      check(`${how}: ${hovered} links carrying hostile text hovered${clicks}: nothing runs${clicks ? ", each lands on the site" : ""}`, problems);
    }

    // -- search ------------------------------------------------------------------
    {
      const problems = [];
      for (const [query, mustFind] of QUERIES) {
        const label = `search "${query}"`;
        sink.page = label;
        await page.goto(`${base}search/?q=${encodeURIComponent(query)}`, { waitUntil: "load" });
        await page.waitForFunction(() => /result|Nothing found|could not/.test(document.getElementById("search-status")?.textContent ?? ""));
        const status = (await page.textContent("#search-status")) ?? "";
        const count = await page.locator("#search-results > li").count();
        if (mustFind && count === 0) problems.push(`${label}: no results (${status}); the hostile records should be found`);
        await page.waitForTimeout(SETTLE_MS);
        for (const p of await page.evaluate(liveDomProblems, { origin, prefix: PREFIX })) problems.push(`${label}: ${p}`);
        await page.evaluate(pokeEverything);
        for (const link of (await page.evaluate(hostileLinks)).slice(0, 10)) {
          const handle = page.locator("a[href]").nth(link.index);
          if (await handle.isVisible()) await handle.hover({ timeout: 5_000 });
        }
        await page.waitForTimeout(20);
      }
      // The header's search box, typed into as a visitor would.
      sink.page = "header search box";
      await page.goto(base, { waitUntil: "load" });
      const payload = "<img src=x onerror=\"window.__pwned='typed'\">";
      await page.fill("#site-search-q", payload);
      await Promise.all([page.waitForURL(/\/search\/\?q=/), page.press("#site-search-q", "Enter")]);
      await page.waitForFunction(() => /result|Nothing found/.test(document.getElementById("search-status")?.textContent ?? ""));
      await page.waitForTimeout(SETTLE_MS);
      for (const p of await page.evaluate(liveDomProblems, { origin, prefix: PREFIX })) problems.push(`header search box: ${p}`);
      problems.push(...sink.problems.splice(0));
      check(`${how}: ${QUERIES.length} hostile or hostile-finding searches and the header search box run nothing; results are text`, problems);
    }

    // -- hostile query strings and fragments ------------------------------------
    {
      const problems = [];
      for (const [rel, status] of HOSTILE_URLS) {
        const visited = await visit(page, sink, origin, rel, base + rel, { expectStatus: status });
        problems.push(...visited.domProblems);
      }
      problems.push(...sink.problems.splice(0));
      check(`${how}: filters, fragments and the 404 page with hostile query strings run nothing`, problems);
    }
    for (const r of sink.remnants.values()) note(`${how}: what the sanitizer left of hostile markup asked the site itself for a missing file: ${r}`);
  } finally {
    await context.close().catch(() => {});
  }
}

// ---- main ----------------------------------------------------------------

const server = await startServer(siteDir);
const { origin, base } = server;
const pages = htmlPages(siteDir);
let browser;
try {
  browser = await launchChromium();
  note(`serving ${siteDir} at ${base}; ${pages.length} pages; chromium ${browser.version()}`);
  for (const bypassCSP of [false, true]) {
    try {
      await pass(browser, origin, base, pages, bypassCSP);
    } catch (e) {
      check(`the ${bypassCSP ? "CSP-bypassed" : "CSP"} pass ran to the end`, [String(e?.stack ?? e)]);
    }
  }
} catch (e) {
  check("Chromium started", [String(e?.stack ?? e)]);
} finally {
  await browser?.close().catch(() => {});
  await server.close();
}
note(`took ${((Date.now() - started) / 1000).toFixed(1)}s`);
process.exit(tally.finish());
