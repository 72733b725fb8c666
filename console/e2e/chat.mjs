// The live chat end to end in a real browser: Debian's chromium, headless, driven by
// playwright-core. Run by tests/e2e/chat_console_test.sh, which starts the real stack (with the
// interaction service), makes a live public room and signs two viewers in, and passes:
// LC_CONSOLE_URL (…/console/), LC_ROOM_ID, LC_BRAND, LC_OPS_TOKEN, LC_VIEWER_A_TOKEN,
// LC_VIEWER_A_ID, LC_VIEWER_B_TOKEN, LC_CHROMIUM, LC_SCREENSHOTS.
//
// Ops watch the live dashboard and set the brand's blocked words there; viewer A (phone, zh-CN)
// and viewer B (phone, en) open the H5 page. Then:
// - A's comment appears on B's page and on the dashboard (with A's id) within LC_CHAT_BUDGET_MS;
// - a comment with a blocked word (also with a symbol inserted) is refused in words on A's page
//   and never reaches B or the dashboard (a later comment does: one order per room);
// - a reply shows the comment it answers; the host's reply carries the host badge;
// - the announcement is pinned on both phones; the heart's taps add up exactly on both;
// - a comment ops delete disappears from both phones and from the dashboard;
// - A, muted for 10 minutes, is told so (with until when) and their next comment is refused and
//   reaches nobody.
// No browser console errors. Screenshots: LC_SCREENSHOTS/chat-*.png (also on failure).
import { chromium } from 'playwright-core';

const env = process.env;
const URL = env.LC_CONSOLE_URL;
const ROOM = env.LC_ROOM_ID;
const SHOTS = env.LC_SCREENSHOTS;
const VIEWER_A = env.LC_VIEWER_A_ID;
const BUDGET_MS = Number(env.LC_CHAT_BUDGET_MS ?? '3000');
const LAPTOP = { viewport: { width: 1280, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

const errors = [];
const started = Date.now();
const step = (msg) => console.log(`[chat e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const fail = (msg) => {
  throw new Error(msg);
};

async function newPage(browser, name, options, locale, slot, token) {
  const context = await browser.newContext({ ...options, locale: locale === 'en' ? 'en-US' : 'zh-CN' });
  await context.addInitScript(
    ([l, s, tok]) => {
      if (!localStorage.getItem('lc.locale')) localStorage.setItem('lc.locale', l);
      if (!sessionStorage.getItem(`lc.token.${s}`)) sessionStorage.setItem(`lc.token.${s}`, tok);
    },
    [locale, slot, token],
  );
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${name}: console.error: ${m.text()} ${JSON.stringify(m.location())}`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: uncaught: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) console.log(`[chat e2e] ${name}: ${r.status()} ${r.request().method()} ${r.url().replace(/access_token=[^&]+/, 'access_token=…')}`);
  });
  return page;
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/chat-${name}.png`, fullPage: true });
}

/** Waits until fn(arg) in the page is truthy; the milliseconds it took. */
async function within(page, what, ms, fn, arg) {
  const t0 = Date.now();
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 50 });
  } catch {
    fail(`${what}: not within ${ms} ms`);
  }
  return Date.now() - t0;
}

const shows = (page, text) => page.evaluate((t) => [...document.querySelectorAll('[data-chat] [data-comment] .chat-text')].some((e) => e.textContent === t), text);
const appears = (page, what, text, ms = BUDGET_MS) =>
  within(page, what, ms, (t) => [...document.querySelectorAll('[data-chat] [data-comment] .chat-text')].some((e) => e.textContent === t), text);
const disappears = (page, what, text, ms = BUDGET_MS) =>
  within(page, what, ms, (t) => ![...document.querySelectorAll('[data-chat] [data-comment] .chat-text')].some((e) => e.textContent === t), text);
// Nowhere in what the page shows of the chat (the list, the sender's pending lines, the
// announcement, the held comments).
const nowhere = async (page, who, fragment) => {
  const text = await page.evaluate(() => [...document.querySelectorAll('[data-chat], [data-chat-pending], [data-announcement], [data-held]')].map((e) => e.textContent).join('\n'));
  if (text.includes(fragment)) fail(`${who} shows "${fragment}"`);
};

// The line of the comment whose own text is `text` (a reply's quote of it does not count).
const row = (page, text) => page.locator('[data-chat] [data-comment]').filter({ has: page.locator(`.chat-text:text-is(${JSON.stringify(text)})`) });

async function say(page, label, send, text) {
  await page.getByRole('textbox', { name: label, exact: true }).fill(text);
  await page.getByRole('button', { name: send, exact: true }).click();
}
const sayZh = (page, text) => say(page, '评论', '发送', text);
const sayEn = (page, text) => say(page, 'Your comment', 'Send', text);

async function openH5(page, name) {
  await page.goto(`${URL}#/h5?room=${ROOM}&brand=${env.LC_BRAND}`, { waitUntil: 'load' });
  await page.locator('[data-live-count]').waitFor({ timeout: 15000 });
  await page.locator('form.chat-form').waitFor();
  step(`${name} joined the room`);
}

const browser = await chromium.launch({
  executablePath: env.LC_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // ---- Ops: the live dashboard, the brand's blocked words -------------------------------------
  const ops = await newPage(browser, 'ops', LAPTOP, 'en', 'staff', env.LC_OPS_TOKEN);
  await ops.goto(`${URL}#/live/${ROOM}`, { waitUntil: 'load' });
  await ops.locator('[data-kpi="concurrent"]').waitFor({ timeout: 15000 });
  await ops.getByText('Waiting for the room’s comments…').waitFor({ state: 'hidden', timeout: 10000 });
  await ops.locator('details.words summary').click();
  const words = ops.getByLabel('Blocked words, one a line');
  await ops.locator('[data-words-info]', { hasText: /version/ }).waitFor({ timeout: 5000 });
  await words.fill('代购\nfake bag');
  await ops.getByRole('button', { name: 'Save blocked words' }).click();
  await ops.locator('[data-words-info]', { hasText: /^2 words/ }).waitFor({ timeout: 5000 });
  step('ops: dashboard watching the chat; blocked words 代购, fake bag saved');

  // ---- Two viewers on phones --------------------------------------------------------------------
  const a = await newPage(browser, 'viewer A', PHONE, 'zh-CN', 'viewer', env.LC_VIEWER_A_TOKEN);
  const b = await newPage(browser, 'viewer B', PHONE, 'en', 'viewer', env.LC_VIEWER_B_TOKEN);
  await openH5(a, 'viewer A (zh-CN)');
  await openH5(b, 'viewer B (en)');

  // ---- A comment reaches the other viewer and the dashboard --------------------------------
  const question = '25 cm 黑色还有吗？';
  let t0 = Date.now();
  await sayZh(a, question);
  await appears(b, "A's comment on B's page", question);
  const toB = Date.now() - t0;
  await appears(ops, "A's comment on the dashboard", question);
  const toOps = Date.now() - t0;
  const opsRow = row(ops, question);
  if ((await opsRow.locator('[data-author-id]').getAttribute('data-author-id')) !== VIEWER_A) fail(`the dashboard does not show A's id ${VIEWER_A} on the comment`);
  if ((await row(b, question).locator('[data-author-id]').count()) !== 0) fail("B's page shows A's id");
  await within(a, "A's own comment shown as A's", BUDGET_MS, (q) => [...document.querySelectorAll('[data-chat] [data-comment].own .chat-text')].some((e) => e.textContent === q), question);
  step(`A's comment on B's page in ${toB} ms, on the dashboard in ${toOps} ms (author ${VIEWER_A})`);

  // ---- Blocked words are refused, in words, and reach nobody ---------------------------------
  for (const blocked of ['找我代购便宜', '找我代*购便宜']) {
    await sayZh(a, blocked);
    await a.locator('[data-chat-error]', { hasText: '违禁词' }).waitFor({ timeout: BUDGET_MS });
    if ((await a.getByRole('textbox', { name: '评论', exact: true }).inputValue()) !== blocked) fail('the refused text was not given back to the box');
    await a.getByRole('textbox', { name: '评论', exact: true }).fill('');
  }
  const after = '那红色呢？';
  await sayZh(a, after);
  await appears(b, "A's next comment on B's page", after);
  await appears(ops, "A's next comment on the dashboard", after);
  for (const [page, who] of [[b, 'B'], [ops, 'the dashboard']]) await nowhere(page, who, '代');
  step('comments with a blocked word (also 代*购) refused on A\'s page in Chinese; never on B or the dashboard');

  // ---- Replies: a viewer's and the host's ------------------------------------------------------
  await row(b, question).getByRole('button', { name: /^Reply to/ }).click();
  await sayEn(b, 'Same question here');
  await within(a, "B's reply quoting A's comment on A's page", BUDGET_MS, (q) => [...document.querySelectorAll('[data-chat] [data-comment]')].some((e) => e.querySelector('.chat-text')?.textContent === 'Same question here' && e.querySelector('.chat-quote')?.textContent.includes(q)), question);
  await opsRow.getByRole('button', { name: /^Reply to/ }).click();
  await ops.getByLabel('Host comment').fill('有的，黑色 25 cm 还有');
  await ops.getByRole('button', { name: 'Send as host' }).click();
  for (const [page, badge] of [[a, '主播'], [b, 'Host']]) {
    await within(page, `the host's reply with its badge (${badge})`, BUDGET_MS, ([text, label, q]) => [...document.querySelectorAll('[data-chat] [data-comment][data-badge="host"]')].some((e) => e.querySelector('.chat-text')?.textContent === text && e.querySelector('.chat-badge.host')?.textContent === label && e.querySelector('.chat-quote')?.textContent.includes(q)), ['有的，黑色 25 cm 还有', badge, question]);
  }
  step("B's reply shows A's question on A's page; the host's reply carries the host badge on both phones");

  // ---- The announcement ----------------------------------------------------------------------
  await ops.getByLabel('Announcement text').fill('今晚 8 点开抢 / Flash sale at 8 pm');
  await ops.getByRole('button', { name: 'Pin announcement' }).click();
  for (const page of [a, b]) await within(page, 'the announcement pinned', BUDGET_MS, () => (document.querySelector('[data-announcement]')?.getAttribute('data-announcement') ?? '').includes('8'));
  step('the announcement is pinned on both phones');

  // ---- The heart: B taps 7 times, both phones show 7 -----------------------------------------
  for (let i = 0; i < 7; i++) {
    await b.locator('[data-heart]').click();
    await b.waitForTimeout(60);
  }
  if ((await b.locator('.heart-float').count()) === 0) fail('no floating heart on a tap');
  for (const [page, who] of [[a, 'A'], [b, 'B']]) await within(page, `${who} sees 7 likes`, 5000, () => document.querySelector('[data-likes]')?.getAttribute('data-likes') === '7');
  await b.waitForTimeout(1500);
  for (const [page, who] of [[a, 'A'], [b, 'B']]) {
    const n = await page.locator('[data-likes]').getAttribute('data-likes');
    if (n !== '7') fail(`${who} shows ${n} likes after 7 taps`);
  }
  step('7 taps on B\'s heart: 7 likes on both phones');
  await shot(b, '3-h5-viewer-b');

  // ---- A deleted comment disappears everywhere ------------------------------------------------
  const doomed = '这条评论会被删除';
  await sayZh(a, doomed);
  await appears(b, 'the comment to delete on B', doomed);
  await appears(ops, 'the comment to delete on the dashboard', doomed);
  await shot(ops, '1-dashboard');
  const doomedRow = row(ops, doomed);
  await doomedRow.getByRole('button', { name: /^Delete comment/ }).click();
  await doomedRow.getByLabel('Reason').fill('spam');
  t0 = Date.now();
  await doomedRow.getByRole('button', { name: 'Delete comment', exact: true }).click();
  await disappears(b, "the deleted comment on B's page", doomed);
  await disappears(a, "the deleted comment on A's page", doomed);
  await disappears(ops, 'the deleted comment on the dashboard', doomed);
  step(`a deleted comment disappeared from both phones and the dashboard in ${Date.now() - t0} ms`);
  if (!(await shows(b, question))) fail("deleting one comment took another from B's page");

  // ---- A muted viewer is told, and what they send reaches nobody ------------------------------
  const aRow = row(ops, after);
  await aRow.getByRole('button', { name: /^Mute the author/ }).click();
  await aRow.getByLabel('Minutes').selectOption('10');
  await aRow.getByLabel('Reason').fill('off-topic');
  await aRow.getByRole('button', { name: 'Mute viewer' }).click();
  await a.locator('[data-muted]:not([hidden])').waitFor({ timeout: BUDGET_MS });
  const notice = (await a.locator('[data-muted]').textContent()) ?? '';
  if (!notice.includes('禁言') || !/\d\d:\d\d/.test(notice)) fail(`the mute notice does not say until when in Chinese: ${notice}`);
  await ops.locator(`[data-muted-viewer="${VIEWER_A}"]`).waitFor({ timeout: BUDGET_MS });
  const silenced = '我还能说话吗';
  await sayZh(a, silenced);
  await a.locator('[data-chat-error]', { hasText: '禁言' }).waitFor({ timeout: BUDGET_MS });
  const marker = 'Still here after the mute';
  await sayEn(b, marker);
  await appears(a, "B's comment after the mute on A's page", marker);
  await appears(ops, "B's comment after the mute on the dashboard", marker);
  for (const [page, who] of [[b, 'B'], [ops, 'the dashboard']]) await nowhere(page, who, silenced);
  if (await shows(a, silenced)) fail("the muted viewer's comment is in A's own list");
  step(`A muted: told "${notice.trim()}"; A's next comment refused and seen by nobody`);
  await shot(a, '2-h5-viewer-a-muted');
  await shot(ops, '4-dashboard-after');

  // The dashboard in Chinese, for the record.
  await ops.getByLabel('Language').selectOption('zh-CN');
  await ops.getByRole('heading', { name: '违禁词' }).waitFor();
  await ops.locator('[data-chat] [data-comment]').first().waitFor({ timeout: 5000 });
  await shot(ops, '5-dashboard-zh');

  if (errors.length) fail(`browser console errors:\n${errors.join('\n')}`);
  step('no browser console errors');
  console.log(`chat console e2e: 1 passed, 0 failed (to viewer ${toB} ms, to dashboard ${toOps} ms)`);
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  if (errors.length) console.error(`browser console errors:\n${errors.join('\n')}`);
  await Promise.all(
    browser.contexts().flatMap((c, i) => c.pages().map((p, j) => (SHOTS ? p.screenshot({ path: `${SHOTS}/chat-failure-${i}-${j}.png`, fullPage: true }).catch(() => {}) : null))),
  );
  process.exitCode = 1;
} finally {
  await browser.close();
}
