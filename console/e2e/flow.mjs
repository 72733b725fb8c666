// The console end to end in a real browser: Debian's chromium, headless, driven by playwright-core
// (no browser download). Run by tests/e2e/console_test.sh, which starts the real stack and passes:
// LC_CONSOLE_URL, LC_BRAND, LC_OPS_TOKEN, LC_FINANCE_TOKEN, LC_ASSOCIATE_TOKEN, LC_ASSOCIATE_ID,
// LC_CHROMIUM, LC_SCREENSHOTS.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = process.env;
const URL = env.LC_CONSOLE_URL;
const SHOTS = env.LC_SCREENSHOTS;
const ASSOCIATE = env.LC_ASSOCIATE_ID;
const LAPTOP = { viewport: { width: 1280, height: 860 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const DEADLINE_MS = 2000; // the dashboard must show the viewer and the order within this
const LOAD_BUDGET_MS = 1000;

const errors = [];
const loads = [];
const started = Date.now();
const step = (msg) => console.log(`[console e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const fail = (msg) => {
  throw new Error(msg);
};

function watch(page, name) {
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${name}: console.error: ${m.text()} ${JSON.stringify(m.location())}`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: uncaught: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) console.log(`[console e2e] ${name}: ${r.status()} ${r.request().method()} ${r.url().replace(/access_token=[^&]+/, 'access_token=…')}`);
  });
  return page;
}

async function newPage(browser, name, options, locale = 'en') {
  const context = await browser.newContext({ ...options, acceptDownloads: true, locale: locale === 'en' ? 'en-US' : 'zh-CN' });
  await context.addInitScript((l) => {
    if (!localStorage.getItem('lc.locale')) localStorage.setItem('lc.locale', l);
  }, locale);
  return watch(await context.newPage(), name);
}

/** A full page load, timed by the browser (navigation start to the load event). */
async function open(page, url, name) {
  await page.goto(url, { waitUntil: 'load' });
  const ms = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n.loadEventEnd - n.startTime;
  });
  loads.push([name, Math.round(ms)]);
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function staffLogin(page, name, token) {
  await open(page, `${URL}#/login`, `${name} login`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function kpi(page, id) {
  return (await page.locator(`[data-kpi="${id}"] .kpi-value`).first().textContent())?.trim() ?? '';
}

/** Waits until fn() (in the page) is truthy; returns the milliseconds it took. */
async function within(page, what, ms, fn, arg) {
  const t0 = Date.now();
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 50 });
  } catch {
    fail(`${what}: not within ${ms} ms`);
  }
  return Date.now() - t0;
}

function parseCsv(text) {
  const rows = [];
  let row = [], cur = '', quoted = false, any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false; else cur += c;
    } else if (c === '"') { quoted = true; any = true; }
    else if (c === ',') { row.push(cur); cur = ''; any = true; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (any || cur) row.push(cur);
      rows.push(row); row = []; cur = ''; any = false;
    } else { cur += c; any = true; }
  }
  if (any || cur) { row.push(cur); rows.push(row); }
  return rows;
}

const browser = await chromium.launch({
  executablePath: env.LC_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // The machine's network is closed: no background, component or sync traffic.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // ---- Finance: a commission rule (associate 5 %, store 2 %) before anything is sold ----------
  const fin = await newPage(browser, 'finance', LAPTOP);
  await staffLogin(fin, 'finance', env.LC_FINANCE_TOKEN);
  await fin.waitForURL(/#\/finance/);
  await fin.getByRole('button', { name: 'Create rule' }).click();
  await fin.locator('[data-rules] td', { hasText: 'v1' }).first().waitFor();
  step('finance created commission rule v1');
  // Roles: finance cannot open ops pages (sent back to its own).
  await fin.goto(`${URL}#/rooms`);
  await fin.waitForURL(/#\/finance/);
  if ((await fin.getByRole('navigation', { name: 'Main navigation' }).getByRole('link').allTextContents()).join('|') !== 'Finance|Reach & conversion') fail('finance navigation');

  // ---- Ops: a private room, a product, live, pinned, a flash sale, an invite for the associate
  const ops = await newPage(browser, 'ops', LAPTOP);
  await staffLogin(ops, 'ops', env.LC_OPS_TOKEN);
  await ops.waitForURL(/#\/rooms$/);
  await ops.getByLabel('Title').fill('VIP spring preview');
  await ops.getByLabel('Visibility').selectOption('VISIBILITY_PRIVATE');
  await ops.getByLabel('Objective').selectOption('OBJECTIVE_PURCHASE');
  await ops.getByLabel('Format').selectOption('FORMAT_SALES_DRIVEN');
  await ops.getByRole('button', { name: 'Create room' }).click();
  await ops.waitForURL(/#\/rooms\/\d+$/);
  const roomId = ops.url().split('/').pop();
  step(`ops created private room ${roomId}`);
  const newProduct = ops.getByRole('form', { name: 'New product' });
  await newProduct.getByLabel('Name').fill('Quilted bag');
  await newProduct.getByLabel('Price (yuan)').fill('25900');
  await newProduct.getByLabel('SKU code').fill('BAG-BLK');
  await newProduct.getByLabel('Stock').fill('20');
  await newProduct.getByRole('button', { name: 'Create and attach' }).click();
  await ops.getByRole('button', { name: 'Pin Quilted bag' }).waitFor();
  await ops.getByRole('button', { name: 'Go live' }).click();
  await ops.getByRole('button', { name: 'End session' }).waitFor();
  await ops.waitForFunction(() => !document.querySelector('button[aria-label="Pin Quilted bag"]')?.disabled);
  await ops.getByRole('button', { name: 'Pin Quilted bag' }).click();
  await ops.locator('.badge.pinned').waitFor();
  const flash = ops.getByRole('form', { name: 'New flash sale' });
  await flash.getByLabel('Sale price (yuan)').fill('19900');
  await flash.getByLabel('Stock').fill('5');
  await flash.getByRole('button', { name: 'Create flash sale' }).click();
  await ops.getByText('Flash sale created').waitFor();
  const start = ops.getByRole('button', { name: /^Start flash sale/ });
  if (await start.count()) await start.first().click();
  await ops.locator('td', { hasText: /^Active$/ }).first().waitFor();
  const invite = ops.getByRole('form', { name: 'Issue invites' });
  await invite.getByLabel('Cohort').fill('VIP');
  await invite.getByLabel('On behalf of').selectOption(ASSOCIATE);
  await invite.getByRole('button', { name: 'Issue invites' }).click();
  const inviteUrl = await ops.getByLabel('Invite link 1', { exact: true }).inputValue();
  if (!inviteUrl.includes('#/h5?') || !inviteUrl.includes('invite=')) fail(`invite link: ${inviteUrl}`);
  await ops.locator('img.qr').first().waitFor();
  await shot(ops, '1-ops-room');
  step('ops: product attached, live, pinned, flash sale active, invite issued for the associate');
  // The locale switch: the same page in Chinese, then back.
  await ops.getByLabel('Language').selectOption('zh-CN');
  await ops.getByRole('heading', { name: '邀请' }).waitFor();
  await shot(ops, '1-ops-room-zh');
  await ops.getByLabel('语言').selectOption('en');
  await ops.getByRole('heading', { name: 'Invites' }).waitFor();

  await ops.goto(`${URL}#/live/${roomId}`);
  await ops.locator('[data-kpi="concurrent"]').waitFor();
  await ops.getByText(/^Pinned: Quilted bag/).waitFor();
  if ((await kpi(ops, 'concurrent')) !== '0') fail(`viewers before anyone joined: ${await kpi(ops, 'concurrent')}`);

  // ---- The viewer: the invite link on a phone, sign in, join, view, flash-buy, pay ------------
  const viewer = await newPage(browser, 'viewer', PHONE, 'zh-CN');
  await open(viewer, inviteUrl, 'H5 (invite link)');
  const code = `alice${Date.now() % 100000}`;
  await viewer.getByLabel('登录码').fill(code);
  const joinedAt = Date.now();
  await viewer.getByRole('button', { name: '登录', exact: true }).click();
  await viewer.locator('[data-live-count]').waitFor();
  step(`viewer local-${code} joined with the invite`);
  const seenViewer = await within(ops, 'dashboard shows the viewer', DEADLINE_MS + 1000, () => Number(document.querySelector('[data-kpi="concurrent"] .kpi-value')?.textContent) >= 1);
  const viewerMs = Date.now() - joinedAt;
  if (viewerMs > DEADLINE_MS) fail(`the dashboard showed the viewer ${viewerMs} ms after sign-in`);
  step(`dashboard showed the viewer ${viewerMs} ms after the viewer pressed sign-in (sign-in, join, then the dashboard's next poll)`);
  await viewer.locator('[data-pinned]').waitFor();
  await viewer.getByRole('button', { name: 'Quilted bag', exact: true }).click(); // opens the product: the funnel's "viewed"
  await viewer.getByRole('button', { name: '以秒杀价立即抢购 Quilted bag' }).click();
  const address = viewer.getByRole('form', { name: '收货地址' });
  await address.getByLabel('收货人').fill('Alice');
  await address.getByLabel('手机号').fill('13800000000');
  await address.getByLabel('省份').fill('上海');
  await address.getByLabel('城市').fill('上海');
  await address.getByLabel('详细地址').fill('中山东一路 1 号');
  await address.getByRole('button', { name: '提交订单' }).click();
  await viewer.getByRole('button', { name: '支付（沙箱）' }).click();
  await viewer.locator('[data-order-status="ORDER_STATUS_PAID"]').waitFor();
  const paidAt = Date.now();
  step('viewer paid the flash-sale order in the sandbox');
  await shot(viewer, '2-h5-paid');
  const seenOrder = await within(ops, 'dashboard shows the order', DEADLINE_MS, () => document.querySelector('[data-kpi="orders"] .kpi-value')?.textContent === '1');
  step(`dashboard showed the order ${Date.now() - paidAt} ms after payment (${seenOrder} ms waiting)`);
  if ((await kpi(ops, 'gmv')) !== '¥19,900.00') fail(`dashboard GMV ${await kpi(ops, 'gmv')}`);
  if ((await kpi(ops, 'buyers')) !== '1') fail(`dashboard buyers ${await kpi(ops, 'buyers')}`);
  await ops.locator('td', { hasText: /^Lin$/ }).first().waitFor({ timeout: 4000 }); // top associates
  await within(ops, 'flash stock left 4', 3000, () => [...document.querySelectorAll('[data-stock]')].some((e) => e.textContent === '4'));
  await shot(ops, '3-ops-dashboard');

  // ---- The associate on a phone: the client watching, the alerts, the commission ------------
  // The viewer's first join with the associate's invite made them the associate's client before
  // the join itself reached attribution: the associate sees them watching, and the joined alert.
  // Ops open the room to associates' own invites, three each (over the API: a room setting).
  const opened = await fetch(new globalThis.URL(`../v1/rooms/${roomId}`, URL), {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${env.LC_OPS_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ associate_invites: { enabled: true, quota_per_associate: 3 } }),
  });
  if (!opened.ok) fail(`opening the room to associates' invites: ${opened.status} ${await opened.text()}`);
  const assoc = await newPage(browser, 'associate', PHONE);
  await staffLogin(assoc, 'associate', env.LC_ASSOCIATE_TOKEN);
  await assoc.waitForURL(/#\/associate/);
  // The associate's own invites: the room with 3 left, two issued from the page, their links kept.
  const myRoom = assoc.locator(`[data-room="${roomId}"]`);
  await myRoom.locator('[data-quota-left="3"]').waitFor({ timeout: 5000 });
  const myForm = assoc.getByRole('form', { name: 'Issue invites to VIP spring preview' });
  await myForm.getByLabel('How many').fill('2');
  await myForm.getByLabel('Cohort').fill('My VIPs');
  await myForm.getByRole('button', { name: 'Issue invites' }).click();
  await myRoom.locator('[data-quota-left="1"]').waitFor({ timeout: 5000 });
  const myUrl = await myRoom.getByLabel('Invite link 1', { exact: true }).inputValue();
  if (!myUrl.includes('#/h5?') || !myUrl.includes('invite=')) fail(`associate's invite link: ${myUrl}`);
  await within(assoc, "the associate's invites list their links", 5000, () => document.querySelectorAll('[data-my-invites] [data-invite-link]').length === 2);
  // Past the quota: refused on the page, nothing issued.
  await myForm.getByLabel('How many').fill('2');
  await myForm.getByRole('button', { name: 'Issue invites' }).click();
  await assoc.getByText('More than the invites left (1).').waitFor({ timeout: 3000 });
  step('associate issued 2 of 3 own invites; the list shows their links and 1 left');
  await assoc.locator(`[data-watching="local-${code}"]`).waitFor({ timeout: 5000 });
  await assoc.locator('[data-alert="ALERT_KIND_PAID"]').waitFor({ timeout: 5000 });
  await assoc.locator('[data-alert="ALERT_KIND_JOINED_LIVESTREAM"]').waitFor({ timeout: 5000 });
  await within(assoc, 'the associate sees the commission', 5000, () => document.querySelector('[data-kpi="commission-total"] .kpi-value')?.textContent === '¥995.00');
  step('associate sees the client watching, the paid alert and ¥995.00 commission');
  await shot(assoc, '4-associate');

  // ---- Finance: the statement, the drill-down, the CSV --------------------------------------
  await fin.getByRole('button', { name: 'Show statement' }).click();
  const net = fin.locator(`[data-net="${ASSOCIATE}"]`);
  await net.waitFor();
  const associateNet = (await net.textContent()).trim();
  if (associateNet !== '¥995.00') fail(`statement: the associate's net is ${associateNet}`);
  await fin.getByRole('button', { name: 'Order lines of Lin' }).click();
  await fin.locator('[data-lines] tbody tr').first().waitFor();
  const lineRows = await fin.locator('[data-lines] tbody tr').count();
  await shot(fin, '5-finance-statement');
  // The CSV of the associate's own statement, then of every recipient: in each, the order lines
  // add up to the total row, which is what the page shows.
  const fen = (text) => BigInt(text.replace(/[^\d-]/g, ''));
  const exportCsv = async () => {
    const [download] = await Promise.all([fin.waitForEvent('download'), fin.getByRole('button', { name: 'Export CSV' }).click()]);
    const rows = parseCsv(readFileSync(await download.path(), 'utf8'));
    if (rows[0][0] !== 'order_id') fail(`CSV header: ${rows[0]}`);
    const amount = rows[0].indexOf('amount_fen');
    const totalsAt = rows.findIndex((r) => r[0] === 'total');
    const lines = rows.slice(1, totalsAt).filter((r) => r.length > 1);
    const tHeader = rows[totalsAt];
    const all = rows.find((r) => r[0] === 'all');
    return {
      lines: lines.length,
      linesFen: lines.reduce((sum, r) => sum + BigInt(r[amount]), 0n),
      netFen: BigInt(all[tHeader.indexOf('net_fen')]),
      groupFen: (id) => BigInt(rows.find((r) => r[0] === 'group' && r[tHeader.indexOf('recipient_id')] === id)?.[tHeader.indexOf('net_fen')] ?? '0'),
    };
  };
  await fin.getByLabel('Associate', { exact: true }).selectOption(ASSOCIATE);
  await fin.getByRole('button', { name: 'Show statement' }).click();
  await fin.locator('[data-kpi="net"] .kpi-value', { hasText: '¥995.00' }).waitFor();
  const mine = await exportCsv();
  if (mine.linesFen !== mine.netFen || mine.netFen !== 99500n || mine.groupFen(ASSOCIATE) !== fen(associateNet)) fail(`the associate's CSV: lines ${mine.linesFen}, total ${mine.netFen}, page ${associateNet}`);
  await fin.getByLabel('Associate', { exact: true }).selectOption('');
  await fin.getByLabel('Group by').selectOption('STATEMENT_GROUPING_RECIPIENT');
  await fin.getByRole('button', { name: 'Show statement' }).click();
  await fin.locator('[data-kpi="net"] .kpi-value', { hasText: '¥1,393.00' }).waitFor(); // 5 % + 2 % of ¥19,900
  const uiTotal = await kpi(fin, 'net');
  const every = await exportCsv();
  if (every.linesFen !== every.netFen || every.netFen !== fen(uiTotal)) fail(`the CSV: lines ${every.linesFen}, total ${every.netFen}, page ${uiTotal}`);
  if (lineRows < 1) fail('no order lines in the drill-down');
  await shot(fin, '5-finance-statement-recipients');
  step(`finance: associate ${associateNet} (CSV ${mine.lines} lines = its total), all recipients ${uiTotal} (CSV ${every.lines} lines = its total)`);

  // ---- Reports: the scatter with this session --------------------------------------------------
  await ops.goto(`${URL}#/reports`);
  await ops.locator('[data-kpi="matched"] .kpi-value', { hasText: /^[1-9]/ }).waitFor();
  await ops.locator('table td', { hasText: 'VIP spring preview' }).first().waitFor();
  await shot(ops, '6-ops-reports');

  // ---- A session that expires returns to login and keeps what was typed ---------------------
  // (The token is swapped for one that expired; the console notices within 5 s without a request.
  // A 401 from the gateway takes the same way back: unit-tested, since the browser logs every 401.)
  await ops.goto(`${URL}#/rooms`);
  await ops.getByLabel('Title').fill('Half-typed room');
  await ops.evaluate(() => sessionStorage.setItem('lc.token.staff', 'lc1.' + btoa('x|ops|b|s|1|2').replace(/=+$/, '') + '.sig'));
  await ops.waitForURL(/#\/login/, { timeout: 7000 });
  await ops.getByText('Your session has expired').waitFor();
  await ops.getByLabel('Access token').fill(env.LC_OPS_TOKEN);
  await ops.getByRole('button', { name: 'Sign in' }).click();
  await ops.waitForURL(/#\/rooms$/);
  if ((await ops.getByLabel('Title').inputValue()) !== 'Half-typed room') fail('the typed title was lost');
  step('an expired session went back to login and kept the typed title');

  for (const [name, ms] of loads) if (ms > LOAD_BUDGET_MS) fail(`${name} loaded in ${ms} ms (budget ${LOAD_BUDGET_MS})`);
  step(`page loads: ${loads.map(([n, ms]) => `${n} ${ms} ms`).join(', ')}`);
  if (errors.length) fail(`browser console errors:\n${errors.join('\n')}`);
  step('no browser console errors');
  console.log('console e2e flow: 1 passed, 0 failed');
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  if (errors.length) console.error(`browser console errors:\n${errors.join('\n')}`);
  await Promise.all(
    browser.contexts().flatMap((c, i) => c.pages().map((p, j) => p.screenshot({ path: `${SHOTS}/failure-${i}-${j}.png`, fullPage: true }).catch(() => {}))),
  );
  process.exitCode = 1;
} finally {
  await browser.close();
}
