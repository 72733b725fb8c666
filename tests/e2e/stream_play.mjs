// Plays an HLS address in headless Chromium (Debian's, driven by playwright-core) with hls.js, on
// a page served at LC_PLAYER_PAGE, and checks that the video's current time advances by several
// seconds without a console error. Prints "played <seconds>" on success; exits non-zero otherwise.
// LC_PLAY_URL: the signed playlist; LC_CHROMIUM: the browser.
import { createRequire } from 'node:module';

const require = createRequire(process.env.LC_CONSOLE_DIR + '/package.json');
const { chromium } = require('playwright-core');

const page_url = process.env.LC_PLAYER_PAGE;
const play_url = process.env.LC_PLAY_URL;
const want = Number(process.env.LC_PLAY_SECONDS ?? '4');

const browser = await chromium.launch({
  executablePath: process.env.LC_CHROMIUM,
  args: ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
});
const errors = [];
try {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${page_url}?src=${encodeURIComponent(play_url)}`);
  const started = Date.now();
  let first = null;
  let now = 0;
  while (Date.now() - started < 30000) {
    now = await page.evaluate(() => document.querySelector('video').currentTime);
    if (first === null && now > 0) first = now;
    if (first !== null && now - first >= want) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const fatal = await page.evaluate(() => window.lcFatal ?? null);
  if (fatal) errors.push(`hls.js: ${fatal}`);
  if (first === null || now - first < want) {
    console.error(`the video did not advance ${want} s (first ${first}, now ${now})`);
    process.exitCode = 1;
  } else if (errors.length > 0) {
    console.error(`console errors: ${errors.join(' | ')}`);
    process.exitCode = 1;
  } else {
    console.log(`played ${(now - first).toFixed(1)}`);
  }
} finally {
  await browser.close();
}
