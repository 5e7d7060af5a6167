// Starting headless Chromium for the browser scripts (run.mjs, reload.mjs,
// hostile.mjs, and search.mjs / search-bench.mjs through lib.mjs): one place
// for the executable and the flags.
//
// Environment: CHROMIUM (default /usr/bin/chromium).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

/** The Chromium binary: $CHROMIUM, or /usr/bin/chromium. */
export const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

/** Headless, no sandbox (containers, root), and quiet: no background
 * networking, updates or sync, so every request a page makes is its own. */
export const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

const OPTIONS = { executablePath, headless: true, chromiumSandbox: false, args: ARGS };

/** Exits with status 2 and how to install Chromium when it is missing. */
export function requireChromium() {
  if (!fs.existsSync(executablePath)) {
    console.error(
      `${executablePath}: Chromium not found. Install it (Debian: apt-get install -y chromium) or set CHROMIUM=/path/to/chromium.`,
    );
    process.exit(2);
  }
}

/** A headless Chromium browser (playwright-core `Browser`). */
export function launchChromium(options = {}) {
  return chromium.launch({ ...OPTIONS, ...options });
}

/** A persistent context in a fresh profile folder (`prefix` names it);
 * `options` are playwright's context options (viewport, locale, …).
 * Resolves to { context, close() }; close() also removes the profile. */
export async function launchPersistent(prefix, options = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const removeProfile = () => fs.rmSync(userDataDir, { recursive: true, force: true });
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { ...OPTIONS, ...options });
  } catch (e) {
    removeProfile();
    throw new Error(`cannot start Chromium at ${executablePath}: ${e.message}`);
  }
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      removeProfile();
    },
  };
}
