// Before and after the live on the console's real pages, in headless Chromium (Debian's, driven by
// playwright-core), served by the gateway; run by tests/e2e/replay_console_test.sh, which starts
// the stack and the streaming server and makes the room, its product and the associate's invite:
// 1. the associate page sends the room's session card: the share link's mini-program code shows;
// 2. the viewer opens the invite on the H5 page (phone, zh-CN) and taps "remind me": reserved;
//    the associate page lists the viewer among their clients who reserved;
// 3. ffmpeg pushes: the room goes live; on the ops room page ops pin the product, then unpin it;
//    the sandbox sender's reminder shows SENT with its message there;
// 4. the push stops, the session ends after the grace, its recording becomes the replay (the ops
//    page shows it with its moments);
// 5. the viewer's H5 page plays the replay (its time advances), a tap on the product's moment lands
//    within 1 s of the server's offset, and the viewer buys it from the replay (sandbox payment);
// 6. the session report shows the order as a replay sale credited to the inviting associate.
// No console errors beyond the refusals the pages expect. Screenshots: LC_SCREENSHOTS/replay-*.png.
// Env: LC_CONSOLE_URL, LC_API, LC_BRAND, LC_ROOM_ID, LC_PRODUCT_ID, LC_SKU_ID, LC_OPS_TOKEN,
// LC_ASSOCIATE_TOKEN, LC_ASSOCIATE_ID, LC_VIEWER_TOKEN, LC_INVITE, LC_PUSH_URL, LC_WORK,
// LC_CHROMIUM, LC_SCREENSHOTS.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = process.env;
const URL = env.LC_CONSOLE_URL;
const API = env.LC_API;
const ROOM = env.LC_ROOM_ID;
const PRODUCT = env.LC_PRODUCT_ID;
const ASSOCIATE = env.LC_ASSOCIATE_ID;
const SHOTS = env.LC_SCREENSHOTS;
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const LAPTOP = { viewport: { width: 1280, height: 900 } };
const H5 = `${URL}#/h5?brand=${env.LC_BRAND}&room=${ROOM}&invite=${env.LC_INVITE}`;

const started = Date.now();
const step = (msg) => console.log(`[replay e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const fail = (msg) => {
  throw new Error(msg);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Refusals the pages meet on purpose, each answered by the server as documented: an invite link
// joins the live first, which a room that is not live refuses (409); reading the replay before it
// exists binds the invite and answers 404, and the ops page asks for a just-ended session's replay
// until its recording arrives (404). Anything else at 400 or above is a failure.
const expectedRefusals = [
  (s, m, path) => s === 409 && m === 'POST' && path === `/v1/rooms/${ROOM}/join`,
  (s, m, path) => s === 404 && m === 'GET' && path === `/v1/rooms/${ROOM}/replay`,
];
const errors = [];
// While the live ends under the viewer's live page, its player's last requests for a playlist that
// is going away may be refused, which the browser logs: then only uncaught errors count.
let liveEnding = false;

function watch(page, name) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return; // judged by the response below
    // The room socket of an invite link, refused as its join is (409) while the room is not live.
    if (new RegExp(`^WebSocket connection to '[^']*/v1/rooms/${ROOM}/ws\\?[^']*' failed: .*Unexpected response code: 409$`).test(text)) return;
    if (name === 'viewer' && liveEnding) return;
    errors.push(`${name}: console.error: ${text.replace(/(access_token|invite_token)=[^&' ]+/g, '$1=…')}`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: uncaught: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const u = new globalThis.URL(r.url());
    const path = u.pathname;
    if (expectedRefusals.some((ok) => ok(r.status(), r.request().method(), path))) return;
    if (name === 'viewer' && liveEnding && !path.startsWith('/v1/')) return;
    errors.push(`${name}: ${r.status()} ${r.request().method()} ${path}`);
  });
  return page;
}

async function newPage(browser, name, options, locale, slot, token) {
  const context = await browser.newContext({ ...options, locale });
  await context.addInitScript(
    ([l, s, tok]) => {
      localStorage.setItem('lc.locale', l);
      sessionStorage.setItem(`lc.token.${s}`, tok);
    },
    [locale === 'zh-CN' ? 'zh-CN' : 'en', slot, token],
  );
  return watch(await context.newPage(), name);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function api(method, path, token, body) {
  const res = await fetch(API + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, data: text ? JSON.parse(text) : {} };
}

/** Polls fn every `every` ms until it returns something truthy; fails with `what` after `ms`. */
async function until(what, ms, fn, every = 250) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(every);
  }
  fail(`${what} (not within ${ms} ms)`);
}

const browser = await chromium.launch({
  executablePath: env.LC_CHROMIUM,
  args: ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
});
let ffmpeg = null;
try {
  // ---- 1. The associate sends the session card -------------------------------------------------
  const associate = await newPage(browser, 'associate', PHONE, 'en', 'staff', env.LC_ASSOCIATE_TOKEN);
  await associate.goto(`${URL}#/associate`, { waitUntil: 'load' });
  const card = associate.locator(`[data-session-room="${ROOM}"]`);
  await card.locator('[data-send-card]').click();
  const code = card.locator('[data-share-code]');
  await code.waitFor({ timeout: 10000 });
  await associate.waitForFunction((el) => el.complete && el.naturalWidth > 0, await code.elementHandle(), { timeout: 5000 });
  const cardLink = await card.locator('[data-card-link]').inputValue();
  if (!cardLink.includes(`room=${ROOM}`) || !cardLink.includes('share=')) fail(`the session card's link is ${cardLink}`);
  await shot(associate, 'replay-1-associate-session-card');
  step('the associate sent the session card (mini-program code shown)');

  // ---- 2. The viewer reserves with the invite ------------------------------------------------
  const viewer = await newPage(browser, 'viewer', PHONE, 'zh-CN', 'viewer', env.LC_VIEWER_TOKEN);
  await viewer.goto(H5, { waitUntil: 'load' });
  await viewer.locator('[data-remind-me]').click({ timeout: 10000 });
  await viewer.locator('[data-reservation-state="reserved"]').waitFor({ timeout: 5000 });
  await shot(viewer, 'replay-2-h5-reserved');
  const held = (await api('GET', `/v1/rooms/${ROOM}/reservations`, env.LC_OPS_TOKEN)).data.reservations ?? [];
  if (held.length !== 1 || !held[0].reminder_consent) fail(`ops see the reservations ${JSON.stringify(held)}`);
  const viewerId = held[0].viewer_id;
  if (held[0].associate_id !== ASSOCIATE) fail(`the reservation is not the associate's client: ${JSON.stringify(held[0])}`);
  await card.locator(`[data-reserved-viewer="${viewerId}"]`).waitFor({ timeout: 8000 });
  await shot(associate, 'replay-3-associate-reserved');
  step(`the viewer ${viewerId} reserved; the associate page lists them`);

  // ---- 3. The push makes the room live; ops pin and unpin; the reminder is sent ----------------
  ffmpeg = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', env.LC_PUSH_URL],
    { stdio: ['ignore', 'ignore', openSync(`${env.LC_WORK}/ffmpeg.log`, 'a')] },
  );
  const session = await until('the push never made the room live', 15000, async () => {
    const r = (await api('GET', `/v1/rooms/${ROOM}`, env.LC_OPS_TOKEN)).data.room;
    return r?.status === 'ROOM_STATUS_LIVE' ? r.current_session_id : '';
  });
  step(`live: session ${session}`);
  // A few seconds into the live, so that the moment lies well inside the replay, away from its start.
  await sleep(4000);
  const ops = await newPage(browser, 'ops', LAPTOP, 'en', 'staff', env.LC_OPS_TOKEN);
  await ops.goto(`${URL}#/rooms/${ROOM}`, { waitUntil: 'load' });
  await ops.getByRole('button', { name: 'Pin Capucines MM' }).click({ timeout: 10000 });
  await ops.locator('.badge.pinned').waitFor({ timeout: 5000 });
  step('ops pinned the product');
  await shot(ops, 'replay-4-ops-live-pinned');
  await sleep(3000);
  await ops.getByRole('button', { name: 'Unpin', exact: true }).click();
  await ops.locator('.badge.pinned').waitFor({ state: 'detached', timeout: 5000 });
  step('ops unpinned it');
  const sent = ops.locator(`[data-reminder-state="REMINDER_STATE_SENT"][data-reminder-viewer="${viewerId}"]`);
  await sent.waitFor({ timeout: 15000 });
  const message = (await ops.locator('[data-sandbox-message]').first().textContent()) ?? '';
  const parsed = JSON.parse(message);
  if (parsed.touser !== viewerId || !String(parsed.page ?? '').includes(`room_id=${ROOM}`)) fail(`the sandbox message is ${message}`);
  await until('the reminders sent count is not 1', 5000, async () => (await ops.locator('[data-kpi="reminders-sent"] .kpi-value').textContent()) === '1');
  await shot(ops, 'replay-5-ops-reminder-sent');
  step('the reminder shows SENT with its sandbox message on the ops room page');

  // ---- 4. The push stops; the session ends; the recording becomes the replay -------------------
  await sleep(2000);
  liveEnding = true;
  ffmpeg.kill('SIGINT');
  await until('the session did not end after the grace', 20000, async () => (await api('GET', `/v1/rooms/${ROOM}`, env.LC_OPS_TOKEN)).data.room?.status === 'ROOM_STATUS_ENDED');
  step('the session ended');
  const replay = await until(
    'the recording never became a replay that is served',
    30000,
    async () => {
      const r = await api('GET', `/v1/rooms/${ROOM}/replay`, env.LC_OPS_TOKEN);
      if (r.status !== 200) return null;
      const file = await fetch(r.data.replay.play.hls, { method: 'HEAD' });
      return file.status === 200 ? r.data.replay : null;
    },
    500,
  );
  if (replay.session_id !== session) fail(`the replay is of session ${replay.session_id}, not ${session}`);
  const moment = (replay.products ?? []).find((p) => p.product_id === PRODUCT);
  if (!moment) fail(`the replay lists no moment of the product: ${JSON.stringify(replay)}`);
  const offsetMs = Number(moment.offset_ms);
  step(`the replay is ${replay.play.hls.replace(/\/replay\/\d+\/[^/]+\//, '/replay/…/')}, the product at ${offsetMs} ms`);
  await ops.locator(`[data-replay-session="${session}"] [data-replay-moments="${session}"]`).waitFor({ timeout: 10000 });
  await shot(ops, 'replay-6-ops-replay-moments');

  // ---- 5. The viewer watches the replay, jumps to the moment and buys ---------------------------
  await viewer.reload({ waitUntil: 'load' });
  liveEnding = false;
  const video = viewer.locator('[data-replay-video]');
  await video.waitFor({ timeout: 10000 });
  const first = await until('the replay did not start playing', 15000, async () => {
    const t = await video.evaluate((v) => v.currentTime);
    return t > 0 ? t : 0;
  });
  await until('the replay did not advance 1 s', 10000, async () => (await video.evaluate((v) => v.currentTime)) - first >= 1);
  step('the replay plays');
  const button = viewer.locator(`[data-moment="${PRODUCT}"] button`);
  const shown = Number(await button.getAttribute('data-offset-ms'));
  if (shown !== offsetMs) fail(`the page's moment is at ${shown} ms, the server's at ${offsetMs} ms`);
  // The jump must move the playhead: it starts at least 2 s from the moment.
  const before = await video.evaluate((v) => v.currentTime);
  if (Math.abs(before - offsetMs / 1000) < 2) fail(`the playhead (${before} s) is already near the moment (${offsetMs / 1000} s)`);
  await video.evaluate((v) => {
    window.__seeked = new Promise((resolve) => v.addEventListener('seeked', () => resolve(v.currentTime), { once: true }));
  });
  await button.click();
  const landed = await viewer.evaluate(() => window.__seeked);
  const miss = Math.abs(landed - offsetMs / 1000);
  if (!(miss < 1)) fail(`the jump landed at ${landed} s, ${miss.toFixed(3)} s from the moment at ${offsetMs / 1000} s`);
  step(`the jump from ${before.toFixed(3)} s landed at ${landed.toFixed(3)} s (moment ${offsetMs / 1000} s)`);
  await viewer.locator(`[data-replay-product="${PRODUCT}"]`).waitFor();
  await shot(viewer, 'replay-7-h5-replay-moment');
  await viewer.locator(`[data-replay-buy="${PRODUCT}"]`).click();
  const checkout = viewer.locator('section[aria-labelledby="checkout-h"]');
  await checkout.locator('input[name="recipient"]').fill('温女士');
  await checkout.locator('input[name="phone"]').fill('13800000000');
  await checkout.locator('input[name="province"]').fill('上海');
  await checkout.locator('input[name="city"]').fill('上海');
  await checkout.locator('input[name="street"]').fill('世纪大道 8 号');
  await checkout.locator('button[type="submit"]').click();
  const orderBox = viewer.locator('section[aria-labelledby="order-h"]');
  await orderBox.locator('[data-order-status="ORDER_STATUS_PENDING_PAYMENT"]').waitFor({ timeout: 10000 });
  await orderBox.locator('button').click();
  await orderBox.locator('[data-order-status="ORDER_STATUS_PAID"]').waitFor({ timeout: 10000 });
  await shot(viewer, 'replay-8-h5-replay-paid');
  const orders = (await api('GET', '/v1/orders?page_size=5', env.LC_VIEWER_TOKEN)).data.orders ?? [];
  const order = orders.find((o) => o.status === 'ORDER_STATUS_PAID');
  if (!order) fail(`the viewer has no paid order: ${JSON.stringify(orders)}`);
  step(`the viewer bought from the replay: order ${order.id}`);

  // ---- 6. The session report: a replay sale, credited to the inviting associate ----------------
  const report = await until(
    'the session report never showed the replay sale credited to the associate',
    30000,
    async () => {
      const r = (await api('GET', `/v1/sessions/${session}/report`, env.LC_OPS_TOKEN)).data.report;
      const replaySales = (r?.by_broadcast ?? []).find((b) => b.key === 'BROADCAST_REPLAY');
      const credited = (r?.by_associate_broadcast ?? []).find((b) => b.key === ASSOCIATE && b.broadcast === 'BROADCAST_REPLAY');
      return Number(replaySales?.sales?.orders ?? 0) === 1 && Number(credited?.sales?.orders ?? 0) === 1 ? r : null;
    },
    500,
  );
  const live = (report.by_broadcast ?? []).find((b) => b.key === 'BROADCAST_LIVE');
  if (Number(live?.sales?.orders ?? 0) !== 0) fail(`the replay's order counts as a live sale: ${JSON.stringify(report.by_broadcast)}`);
  if (Number(report.reserved) !== 1 || Number(report.reminded) !== 1 || Number(report.replay_viewers) !== 1) {
    fail(`the funnel before and after: reserved ${report.reserved}, reminded ${report.reminded}, replay viewers ${report.replay_viewers}`);
  }
  step(`the report: replay orders 1 credited to associate ${ASSOCIATE}; reserved 1, reminded 1, replay viewers 1`);
  if (errors.length > 0) fail(`errors in the pages: ${errors.join(' | ')}`);
  step('ok');
} catch (e) {
  console.error(String(e?.message ?? e));
  if (errors.length > 0) console.error(`errors in the pages: ${errors.join(' | ')}`);
  process.exitCode = 1;
} finally {
  if (ffmpeg && ffmpeg.exitCode === null) ffmpeg.kill('SIGKILL');
  await browser.close();
}
