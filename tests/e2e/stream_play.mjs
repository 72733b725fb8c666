// The live stream on the console's real pages in headless Chromium (Debian's, driven by
// playwright-core), served by the gateway (LC_GATEWAY_CONSOLE_DIR), while ffmpeg pushes:
// - the viewer's H5 page (phone width, zh-CN) plays the stream: the video's current time advances
//   LC_PLAY_SECONDS (4) without a console error, nothing covers the picture;
// - the ops room page shows the stream up, the push address and a preview that plays;
// - the push stops (this script sends SIGINT to LC_FFMPEG_PID): the viewer's page says "the host
//   will be right back" (from the room socket) within LC_BACK_MS (3000), and the ops page shows
//   the stream interrupted.
// Screenshots of each step go to LC_SCREENSHOTS. Prints "played <s> back_ms <ms>" on success.
// LC_CONSOLE_URL (…/console/), LC_ROOM_ID, LC_BRAND, LC_VIEWER_TOKEN, LC_OPS_TOKEN, LC_CHROMIUM,
// LC_CONSOLE_DIR (for playwright-core).
import { createRequire } from 'node:module';

const require = createRequire(process.env.LC_CONSOLE_DIR + '/package.json');
const { chromium } = require('playwright-core');

const env = process.env;
const URL = env.LC_CONSOLE_URL;
const ROOM = env.LC_ROOM_ID;
const SHOTS = env.LC_SCREENSHOTS;
const want = Number(env.LC_PLAY_SECONDS ?? '4');
const backBudgetMs = Number(env.LC_BACK_MS ?? '3000');
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const LAPTOP = { viewport: { width: 1280, height: 860 } };

const errors = [];
// Console errors count while the stream is up; once the push is cut, the player's last requests
// for a playlist that is going away may be answered 404, which the browser logs: from then on
// only uncaught errors count.
let cut = false;
const fail = (msg) => {
  throw new Error(msg);
};

async function newPage(browser, name, options, locale, slot, token) {
  const context = await browser.newContext({ ...options, locale });
  await context.addInitScript(
    ([l, s, tok]) => {
      localStorage.setItem('lc.locale', l);
      sessionStorage.setItem(`lc.token.${s}`, tok);
    },
    [locale === 'zh-CN' ? 'zh-CN' : 'en', slot, token],
  );
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !cut) errors.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: uncaught: ${e.message}`));
  return page;
}

// Waits until the page's video (the first matching selector) has played `seconds`.
async function plays(page, selector, seconds) {
  const started = Date.now();
  let first = null;
  let now = 0;
  while (Date.now() - started < 40000) {
    now = await page.evaluate((s) => document.querySelector(s)?.currentTime ?? 0, selector);
    if (first === null && now > 0) first = now;
    if (first !== null && now - first >= seconds) return now - first;
    await page.waitForTimeout(250);
  }
  fail(`${selector} did not advance ${seconds} s (first ${first}, now ${now})`);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

const browser = await chromium.launch({
  executablePath: env.LC_CHROMIUM,
  args: ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
});
try {
  // The viewer: the H5 page of the room, in Chinese, on a phone.
  const viewer = await newPage(browser, 'viewer', PHONE, 'zh-CN', 'viewer', env.LC_VIEWER_TOKEN);
  await viewer.goto(`${URL}#/h5?room=${ROOM}&brand=${env.LC_BRAND}`, { waitUntil: 'load' });
  await viewer.locator('[data-live-count]').waitFor({ timeout: 15000 });
  const played = await plays(viewer, '[data-player-video]', want);
  const overlay = await viewer.locator('[data-player]').getAttribute('data-player-overlay');
  if (overlay !== '') fail(`the viewer's picture is covered by "${overlay}" while it plays`);
  await shot(viewer, 'stream-1-h5-playing');

  // Ops: the room page's stream panel.
  const ops = await newPage(browser, 'ops', LAPTOP, 'en', 'staff', env.LC_OPS_TOKEN);
  await ops.goto(`${URL}#/rooms/${ROOM}`, { waitUntil: 'load' });
  await ops.locator('[data-stream-state="STREAM_STATE_UP"]').waitFor({ timeout: 15000 });
  await ops.locator('[data-push-server]').waitFor();
  await plays(ops, '[data-preview] [data-player-video]', 2);
  await shot(ops, 'stream-2-ops-room');

  // The host's encoder stops: the viewer is told the host will be right back.
  if (env.LC_FFMPEG_PID) {
    cut = true;
    const stoppedAt = Date.now();
    process.kill(Number(env.LC_FFMPEG_PID), 'SIGINT');
    await viewer.locator('[data-player][data-player-overlay="back"]').waitFor({ timeout: 15000 });
    const backMs = Date.now() - stoppedAt;
    const text = await viewer.locator('.player-message').textContent();
    if (!text || !/[\u4e00-\u9fff]/.test(text)) fail(`the "right back" message is not in Chinese: ${text}`);
    await shot(viewer, 'stream-3-h5-right-back');
    await ops.locator('[data-stream-state="STREAM_STATE_INTERRUPTED"]').waitFor({ timeout: 15000 });
    await shot(ops, 'stream-4-ops-interrupted');
    if (backMs > backBudgetMs) fail(`the viewer saw "right back" ${backMs} ms after the push stopped`);
    console.log(`played ${played.toFixed(1)} back_ms ${backMs}`);
  } else {
    console.log(`played ${played.toFixed(1)}`);
  }
  if (errors.length > 0) fail(`console errors: ${errors.join(' | ')}`);
} catch (e) {
  console.error(String(e?.message ?? e));
  if (errors.length > 0) console.error(`console errors: ${errors.join(' | ')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
