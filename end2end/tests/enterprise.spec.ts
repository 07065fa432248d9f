import { test, expect, Browser, Page } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { consoleKey, consoleServerURL } from './console_setup';
import { PASSWORD, collectErrors, signUp, uniqueName, waitForHydration } from './helpers';

// Enterprise verification and change binding (issue 18), on the server that trusts a console:
// a customer submits the enterprise with its licence, an operator rejects it with a reason, the
// customer submits again (the licence on file kept), the operator approves; a second account of
// the same enterprise moves the workspace onto itself from the console's link; both histories
// show the move. With and without JavaScript.

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
const CODE = '9144030071526726XG';
const root = path.resolve(__dirname, '..', '..');

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url');
function ownerToken(ws: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = b64(JSON.stringify({ iss: 'console', aud: 'billing-center', sub: 'e2e-owner', ws, role: 'owner', iat: now, exp: now + 600 }));
  return `${header}.${claims}.${b64(createHmac('sha256', consoleKey).update(`${header}.${claims}`).digest())}`;
}

function newOperator(): string {
  const username = uniqueName('opent');
  execFileSync(path.join(root, 'target/debug/billing-center'), ['operator', 'create', '--username', username], {
    cwd: root,
    input: `${PASSWORD}\n`,
    env: { ...process.env, DATABASE_URL: 'sqlite://target/e2e/billing-center-console.db' },
  });
  return username;
}

async function submit(page: Page, js: boolean, withLicence: boolean) {
  await page.goto('/account/enterprise');
  await expect(page.getByTestId('enterprise-form')).toBeVisible();
  if (js) await waitForHydration(page);
  await page.locator('#f-enterprise_name').fill('示例科技有限公司');
  await page.locator('#f-credit_code').fill(CODE);
  await page.locator('#f-contact_name').fill('王小明');
  await page.locator('#f-contact_phone').fill('+86 138 0000 0000');
  if (withLicence) await page.getByTestId('licence-file').setInputFiles({ name: 'licence.png', mimeType: 'image/png', buffer: PNG });
  await page.getByTestId('submit-verification').click();
  await expect(page.getByTestId('verification-state')).toHaveText('Waiting for review');
}

async function review(browser: Browser, js: boolean, account: string, decision: 'approve' | 'reject') {
  const operator = newOperator();
  const context = await browser.newContext({ javaScriptEnabled: js, baseURL: consoleServerURL });
  const page = await context.newPage();
  await page.goto('/ops');
  await page.locator('#f-ops-login').fill(operator);
  await page.locator('#f-ops-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const item = page.getByTestId('queue-reviews').locator('li', { hasText: account });
  await item.getByRole('link').click();
  await expect(page.getByTestId('licence')).toHaveText('licence.png');
  if (js) await waitForHydration(page);
  if (decision === 'approve') {
    await page.getByTestId('approve').click();
    await expect(page.getByTestId('verification-state')).toHaveText('Verified');
  } else {
    await page.locator('#f-reason').fill('The licence is not legible.');
    await page.getByTestId('reject').click();
    await expect(page.getByTestId('verification-state')).toHaveText('Not approved');
  }
  await context.close();
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js, baseURL: consoleServerURL });

    test('verified accounts of one enterprise move a workspace between them', async ({ page, browser }) => {
      // Two customers and three operator reviews in one story: more than the default 30 s on a
      // slow moment of the CI machine.
      test.slow();
      const errors = collectErrors(page);
      const first = uniqueName(js ? 'entjs' : 'entnojs');
      const ws = `ws-move-${Date.now() % 1_000_000}-${js ? 'j' : 'n'}${Math.floor(Math.random() * 1000)}`;
      await signUp(page, first);
      // Bound from the console's link.
      await page.goto(`/bind?token=${ownerToken(ws)}`);
      if (js) await waitForHydration(page);
      await page.getByTestId('bind-offered').click();
      await expect(page.getByTestId('api-key')).toBeVisible();

      // A licence that is not an image or a PDF is refused at its field.
      await page.goto('/account/enterprise');
      await expect(page.getByTestId('verification-state')).toHaveText('Not verified');
      if (js) await waitForHydration(page);
      await page.locator('#f-enterprise_name').fill('示例科技有限公司');
      await page.locator('#f-credit_code').fill('9144030071526726XH');
      await page.locator('#f-contact_name').fill('王小明');
      await page.locator('#f-contact_phone').fill('+86 138 0000 0000');
      await page.getByTestId('submit-verification').click();
      await expect(page.getByTestId('error-credit_code')).toBeVisible();

      await submit(page, js, true);
      // Withdrawn, then submitted again (the licence on file kept).
      await page.getByTestId('withdraw-verification').click();
      await expect(page.getByTestId('verification-state')).toHaveText('Withdrawn');
      await submit(page, js, false);
      await review(browser, js, first, 'reject');
      await page.goto('/account/enterprise');
      await expect(page.getByTestId('rejection-reason')).toContainText('The licence is not legible.');
      // Submitted again, the licence on file kept.
      await submit(page, js, false);
      await expect(page.getByTestId('licence')).toHaveText('licence.png');
      await review(browser, js, first, 'approve');

      // A second account of the same enterprise takes the workspace over from the console's link.
      const context = await browser.newContext({ javaScriptEnabled: js, baseURL: consoleServerURL });
      const second = await context.newPage();
      const other = uniqueName(js ? 'ent2js' : 'ent2nojs');
      await signUp(second, other);
      await submit(second, js, true);
      await review(browser, js, other, 'approve');
      await second.goto(`/bind?token=${ownerToken(ws)}`);
      await expect(second.getByTestId('move-offer')).toBeVisible();
      if (js) await waitForHydration(second);
      await second.getByTestId('change-binding').click();
      await expect(second.getByTestId('api-key')).toBeVisible();
      await second.goto('/workspaces');
      await expect(second.getByTestId('moves')).toContainText(first);
      await context.close();

      await page.goto('/workspaces');
      await expect(page.getByTestId('moves')).toContainText(other);
      if (js) expect(errors).toEqual([]);
    });
  });
}
