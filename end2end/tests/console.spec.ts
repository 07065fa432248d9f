import { test, expect, chromium, request as playwrightRequest } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { consoleKey, consoleOrigin, consolePort, consoleServerURL } from './console_setup';
import { collectErrors } from './helpers';

// The console's side (issue 15): a page of another site (the console, on localhost) frames the
// workspace billing panel of the Billing Center that trusts it, in a browser that blocks
// third-party cookies. The panel must need none, show each role what it may see, and tell the
// console its height.

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url');

function consoleToken(ws: string, role: string, lang = 'en'): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = b64(
    JSON.stringify({ iss: 'console', aud: 'billing-center', sub: 'e2e-user', ws, role, lang, iat: now, exp: now + 600 }),
  );
  const signature = createHmac('sha256', consoleKey).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${b64(signature)}`;
}

function consolePage(ws: string): string {
  const frame = (role: string) =>
    `<iframe data-role="${role}" style="width:100%;height:120px;border:0" src="${consoleServerURL}/embed/workspaces/${ws}?token=${consoleToken(ws, role)}"></iframe>`;
  return `<!DOCTYPE html><html><body><h1>Console</h1>
${frame('owner')}${frame('administrator')}${frame('member')}
<script>
window.__resized = [];
window.addEventListener('message', (event) => {
  if (event.origin !== ${JSON.stringify(consoleServerURL)}) return;
  if (!event.data || event.data.type !== 'billing-center:resize') return;
  for (const frame of document.querySelectorAll('iframe')) {
    if (frame.contentWindow === event.source) {
      frame.style.height = event.data.height + 'px';
      window.__resized.push({ role: frame.dataset.role, height: event.data.height });
    }
  }
});
</script></body></html>`;
}

let server: Server;
const ws = `ws-e2e-${Date.now() % 1_000_000}`;

test.beforeAll(async () => {
  // The customer binds the workspace with the console's owner token; the console reports usage
  // with its service token.
  const api = await playwrightRequest.newContext({ baseURL: consoleServerURL });
  const username = `owner${Date.now() % 1_000_000}${Math.floor(Math.random() * 1000)}`;
  const signedUp = await api.post('/api/v1/accounts', {
    data: { username, email: `${username}@example.com`, password: 'correct horse battery' },
  });
  expect(signedUp.status()).toBe(201);
  const csrf = (await signedUp.json()).csrf_token;
  const bound = await api.post('/api/v1/workspaces', {
    data: { workspace_id: ws, name: 'E2E', console_token: consoleToken(ws, 'owner') },
    headers: { 'x-csrf-token': csrf },
  });
  expect(bound.status(), await bound.text()).toBe(201);
  const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
  const reported = await api.post('/api/v1/usage', {
    data: { records: [{ id: 'e2e-1', item: 'logs', retention_days: 7, quantity: '12.5', day: today }] },
    headers: { authorization: `Bearer ${consoleToken(ws, 'service')}` },
  });
  expect((await reported.json()).accepted).toBe(1);
  await api.dispose();

  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(consolePage(ws));
  });
  await new Promise<void>((resolve) => server.listen(consolePort, 'localhost', () => resolve()));
});

test.afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

test('the console frames the panel: each role sees what it may, with no cookie, and learns its height', async ({}, testInfo) => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--test-third-party-cookie-phaseout'],
  });
  const context = await browser.newContext({
    viewport: testInfo.project.use.viewport ?? { width: 1280, height: 900 },
    userAgent: testInfo.project.use.userAgent,
  });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${consoleOrigin}/`);

  const owner = page.frameLocator('iframe[data-role="owner"]');
  await expect(owner.getByTestId('panel')).toBeVisible();
  await expect(owner.getByTestId('panel-actions').locator('a')).toHaveCount(4);
  for (const link of await owner.getByTestId('panel-actions').locator('a').all()) {
    await expect(link).toHaveAttribute('target', '_blank');
  }
  await expect(owner.getByTestId('panel-usage-today')).toContainText('12.5');
  await expect(owner.getByTestId('chart-daily-cost').locator('svg')).toBeVisible();
  await expect(owner.getByTestId('chart-usage').locator('polyline')).toHaveCount(1);
  // The chart's numbers as a table: 30 days, today's quantity in the last row.
  await expect(owner.getByTestId('panel-usage-30-days').locator('tbody tr')).toHaveCount(30);
  await expect(owner.getByTestId('panel-usage-30-days').locator('tbody tr').last()).toContainText('12.5');

  const admin = page.frameLocator('iframe[data-role="administrator"]');
  await expect(admin.getByTestId('panel')).toBeVisible();
  await expect(admin.getByTestId('panel-actions')).toHaveCount(0);

  const member = page.frameLocator('iframe[data-role="member"]');
  await expect(member.getByTestId('panel-refused')).toBeVisible();
  await expect(member.getByTestId('panel')).toHaveCount(0);

  // No cookie was needed, nor set, inside the frames.
  for (const frame of page.frames().filter((f) => f.url().includes('/embed/'))) {
    expect(await frame.evaluate(() => document.cookie)).toBe('');
  }

  // The panel told its height to the console (an allowed origin), and the frame grew to it.
  await expect
    .poll(async () => page.evaluate(() => (window as any).__resized.filter((r: any) => r.role === 'owner').length))
    .toBeGreaterThan(0);
  // The frame is as tall as the last height the panel reported.
  const reported = await page.evaluate(
    () => (window as any).__resized.filter((r: any) => r.role === 'owner').at(-1).height,
  );
  expect(reported).toBeGreaterThan(200);
  await expect
    .poll(async () =>
      Math.round(await page.locator('iframe[data-role="owner"]').evaluate((f) => f.getBoundingClientRect().height)),
    )
    .toBe(await page.evaluate(() => (window as any).__resized.filter((r: any) => r.role === 'owner').at(-1).height));

  // The month picker moves inside the frame with the token in its links (still no cookie).
  await owner.getByTestId('month-previous').click();
  await expect(owner.getByTestId('panel-month')).not.toHaveText(
    new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' }).slice(0, 7),
  );
  await expect(owner.getByTestId('panel')).toBeVisible();
  expect(errors).toEqual([]);

  await browser.close();
});

test('only the console may frame the panel', async ({ request }) => {
  const embed = await request.get(`${consoleServerURL}/embed/workspaces/${ws}?token=${consoleToken(ws, 'owner')}`);
  expect(embed.status()).toBe(200);
  expect(embed.headers()['content-security-policy']).toContain(`frame-ancestors ${consoleOrigin}`);
  expect(embed.headers()['x-frame-options']).toBeUndefined();
  // Every other page may not be framed at all.
  const home = await request.get(`${consoleServerURL}/`);
  expect(home.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(home.headers()['x-frame-options']).toBe('DENY');
  // A member's token: a 403 page without data.
  const member = await request.get(`${consoleServerURL}/embed/workspaces/${ws}?token=${consoleToken(ws, 'member')}`);
  expect(member.status()).toBe(403);
  expect(await member.text()).not.toContain('panel-balances');
});
