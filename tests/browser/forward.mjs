// Former URLs (`aliases`) in a real browser: the old address of an article
// lands on its new page at the same paragraph, with scripts and without.
//
//   node tests/browser/forward.mjs SITE_DIR OLD_SLUG NEW_SLUG
//
// SITE_DIR is a dossier built with `--base-url .../dossier-demo/` in which
// the article now at NEW_SLUG declares `aliases = ["OLD_SLUG"]`
// (tests/browser.rs, `a_former_url_forwards_to_the_same_paragraph`).
// Environment: CHROMIUM (default /usr/bin/chromium).
// The last line is "N passed, N failed"; the exit code is 0 only if none failed.

import fs from "node:fs";
import path from "node:path";
import { startServer } from "./server.mjs";
import { CSP, Tally, deadline, launchChromium, requireChromium } from "./lib.mjs";

const [siteArg, oldSlug, newSlug] = process.argv.slice(2);
const siteDir = path.resolve(siteArg ?? "");
if (!oldSlug || !newSlug || !fs.existsSync(path.join(siteDir, `articles/${oldSlug}/index.html`))) {
  console.error("usage: node forward.mjs SITE_DIR OLD_SLUG NEW_SLUG (OLD_SLUG an alias in SITE_DIR)");
  process.exit(2);
}
requireChromium();
deadline(60_000, "the forwarding suite");

const tally = new Tally();
const server = await startServer(siteDir, { headers: { "Content-Security-Policy": CSP } });
const browser = await launchChromium();

async function landing(javaScriptEnabled, from) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()} (${m.location().url})`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  await page.goto(server.base + from);
  await page.waitForURL((url) => url.pathname.includes(`/articles/${newSlug}/`), { timeout: 10_000 }).catch(() => {});
  const url = new URL(page.url());
  const heading = await page.locator("h1").first().textContent().catch(() => null);
  const target = javaScriptEnabled ? await page.evaluate(() => document.querySelector(":target")?.id ?? null) : null;
  await context.close();
  return { url, heading, target, problems };
}

try {
  const withScripts = await landing(true, `articles/${oldSlug}/#p3`);
  const problems = [...withScripts.problems];
  if (withScripts.url.pathname !== `/dossier-demo/articles/${newSlug}/`) problems.push(`landed on ${withScripts.url.pathname}`);
  if (withScripts.url.hash !== "#p3") problems.push(`lost the anchor: ${JSON.stringify(withScripts.url.hash)}`);
  if (withScripts.target !== "p3") problems.push(`the :target is ${withScripts.target}, not p3`);
  if (!withScripts.heading) problems.push("no heading on the page it landed on");
  tally.check("the old address lands on the article's new page at the same paragraph", problems);

  const without = await landing(false, `articles/${oldSlug}/`);
  tally.check(
    "without scripts, the refresh still lands on the new page",
    without.url.pathname === `/dossier-demo/articles/${newSlug}/` ? without.problems : [`landed on ${without.url.pathname}`],
  );
} finally {
  await browser.close();
  await server.close();
}
process.exit(tally.finish());
