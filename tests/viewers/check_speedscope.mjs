// Opens a `cotrace --format chrome` file in speedscope (the npm release,
// served from its own files) in Debian's headless Chromium, as a user would
// with "Browse", and checks that it loads with no warning (speedscope warns
// for every slice that does not nest, and then draws a false stack) and that
// a screenshot of the flame graph is taken.
// Exits 1 with a reason on the first failure.
//
//   node check_speedscope.mjs FILE SCREENSHOT.png

import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {chromium} from 'playwright-core';

const [file, screenshot] = process.argv.slice(2);
if (!file || !screenshot) {
  console.error('check_speedscope: give a --format chrome file and a screenshot path');
  process.exit(2);
}
function fail(why) {
  console.error(`check_speedscope: ${file}: ${why}`);
  process.exit(1);
}
const executablePath = '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) fail(`no ${executablePath} (scripts/install-deps.sh installs Debian's chromium)`);

const require = createRequire(import.meta.url);
const release = path.join(path.dirname(require.resolve('speedscope/package.json')), 'dist', 'release');

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({viewport: {width: 1600, height: 900}});
  const warnings = [], errors = [];
  // Only speedscope's own messages: Chromium's GPU driver notes
  // ("GL Driver Message ...") come from no script.
  page.on('console', m => {
    if (!m.location().url.includes('speedscope') || m.text().includes('GL Driver Message')) return;
    if (m.type() === 'warning') warnings.push(m.text());
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', e => errors.push(String(e)));
  await page.goto('file://' + path.join(release, 'index.html'));
  await page.setInputFiles('input[type=file]', file);
  // speedscope names the page after the profile once it is imported.
  const base = path.basename(file);
  await page.waitForFunction(name => document.title.includes(name), base, {timeout: 30000})
      .catch(() => fail(`speedscope did not load it (title "${'' + errors.join('; ')}")`));
  await page.waitForSelector('canvas', {timeout: 30000});
  await page.screenshot({path: screenshot});
  if (errors.length) fail(`${errors.length} errors, e.g. ${errors[0]}`);
  if (warnings.length) fail(`${warnings.length} warnings, e.g. ${warnings[0]}`);
  const size = fs.statSync(screenshot).size;
  if (size < 10000) fail(`the screenshot ${screenshot} is only ${size} bytes`);
  console.log(`speedscope: loaded ${base} with 0 warnings; screenshot ${screenshot} (${size} bytes)`);
} finally {
  await browser.close();
}
