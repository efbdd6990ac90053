// Runs axe-core on local HTML files in headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM) at the given width, WCAG 2.1 A and AA rules, and prints one JSON object:
// {"<file>": [{"id", "impact", "help", "nodes": [html, ...]}, ...], ...}.
//   node tests/a11y/axe.mjs --width 390 page.html [page2.html ...]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const args = process.argv.slice(2);
let width = 1280;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--width") width = Number(args[++i]);
  else files.push(args[i]);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const results = {};
try {
  // The pages forbid scripts (their Content-Security-Policy): axe is let in, nothing else.
  const page = await browser.newPage({ viewport: { width, height: 900 }, bypassCSP: true });
  for (const file of files) {
    await page.goto(pathToFileURL(file).href);
    await page.addScriptTag({ content: axeSource });
    const found = await page.evaluate(async () => {
      const run = await window.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      });
      return run.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.html.slice(0, 300)),
      }));
    });
    results[file] = found;
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
