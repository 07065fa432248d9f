import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { collectErrors, waitForHydration } from './helpers';

function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

const PASSWORD = 'correct horse battery';
const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const root = path.resolve(__dirname, '..', '..');

function cli(args: string[], input = ''): string {
  // The same database file the server under test uses (playwright.config.ts).
  return execFileSync(path.join(root, 'target/debug/billing-center'), args, {
    cwd: root,
    input,
    env: { ...process.env, DATABASE_URL: 'sqlite://target/e2e/billing-center.db' },
  }).toString();
}

/** A new operator and an API token for it, made on the command line. */
function operatorToken(): string {
  const username = uniqueName('op');
  cli(['operator', 'create', '--username', username], `${PASSWORD}\n`);
  return cli(['operator', 'token', '--username', username]).trim();
}

async function ops(request: APIRequestContext, token: string, endpoint: string, body: object) {
  const response = await request.post(`/api/v1/ops/${endpoint}`, { data: body, headers: { authorization: `Bearer ${token}` } });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}

async function signUp(page: Page, username: string) {
  await page.goto('/signup');
  await page.locator('#f-username').fill(username);
  await page.locator('#f-email').fill(`${username}@example.com`);
  await page.locator('#f-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    // A desktop browser (paying.spec.ts covers phones and WeChat): a phone project's WeChat
    // browser would be told to open the page elsewhere.
    test.use({ javaScriptEnabled: js, userAgent: DESKTOP });

    test('top up through the sandbox QR checkout', async ({ page }) => {
      const errors = collectErrors(page);
      await signUp(page, uniqueName(js ? 'tjs' : 'tnojs'));
      await page.goto('/');
      await page.getByTestId('go-top-up').click();
      await expect(page).toHaveURL(/\/wallet#top-up$/);
      if (js) await waitForHydration(page);

      // The payment methods are radio buttons of their own size, each beside its label.
      for (const name of ['Alipay', 'Bank transfer']) {
        const radio = page.getByRole('radio', { name });
        const box = (await radio.boundingBox())!;
        expect(box.width).toBeLessThan(32);
        const label = (await page.locator('label.choice', { has: radio }).boundingBox())!;
        expect(label.height).toBeLessThan(48);
        expect(box.y).toBeGreaterThanOrEqual(label.y - 1);
        expect(box.y + box.height).toBeLessThanOrEqual(label.y + label.height + 1);
      }

      // A bad amount is refused at its field and opens nothing.
      await page.locator('#f-amount').fill('12.345');
      await page.getByTestId('top-up').click();
      await expect(page.getByTestId('error-amount')).toContainText('at most two decimals');
      // With JavaScript the form keeps what was typed; without, the page comes back from a URL
      // anyone could write, and a money form is never pre-filled from one.
      await expect(page.locator('#f-amount')).toHaveValue(js ? '12.345' : '');

      await page.locator('#f-amount').fill('1234.56');
      await page.getByTestId('top-up').click();
      // The top-up's page with the QR code to scan; Alipay's website is the alternative.
      await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+$/);
      await expect(page.getByTestId('payment-qr').locator('svg')).toBeVisible();
      await page.getByTestId('continue-to-pay').click();
      // The sandbox gateway, playing Alipay: a QR code of this checkout and a pay button.
      await expect(page).toHaveURL(/\/sandbox\/alipay\/gateway\.do\?/);
      await expect(page.getByTestId('sandbox-amount')).toHaveText('¥1234.56');
      await expect(page.getByTestId('sandbox-qr').locator('svg')).toBeVisible();
      await page.getByTestId('sandbox-pay').click();

      // Back on the return page: the notification has already credited the wallet.
      await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+\?/);
      await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'true');
      await expect(page.getByTestId('top-up-amount')).toHaveText('¥1,234.56');
      await page.goto('/');
      await expect(page.getByTestId('balance-cash')).toHaveText('¥1,234.56');
      await expect(page.getByTestId('movements')).toContainText('Top-up');
      // Coming back to the return page credits nothing more.
      await page.goBack();
      await page.reload();
      await page.goto('/wallet');
      await expect(page.getByTestId('balance-cash')).toHaveText('¥1,234.56');
      await expect(page.getByTestId('top-ups')).toContainText('Credited');
      if (js) expect(errors).toEqual([]);
    });

    test('a bank transfer shows the payee and a reference, and the recorded transfer credits it', async ({ page, request }) => {
      const username = uniqueName(js ? 'bjs' : 'bnojs');
      await signUp(page, username);
      await page.goto('/wallet');
      await page.locator('#f-amount').fill('500');
      await page.locator('input[name=method][value=bank_transfer]').check();
      await page.getByTestId('top-up').click();
      await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+$/);
      await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'false');
      await expect(page.getByTestId('payee-account')).not.toBeEmpty();
      const reference = (await page.getByTestId('transfer-reference').textContent())!.trim();
      expect(reference).toMatch(/^BT-[2-9A-HJ-NP-Z]{10}$/);

      await ops(request, operatorToken(), 'bank-transfers', { account: username, amount: '500', reference });
      await page.reload();
      await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'true');
      await expect(page.getByTestId('bank-transfer')).toHaveCount(0);
      await page.goto('/wallet');
      await expect(page.getByTestId('balance-cash')).toHaveText('¥500.00');
    });

    test('activate a code and buy a prepaid card, and see the balances change', async ({ page, request }) => {
      const errors = collectErrors(page);
      const username = uniqueName(js ? 'cjs' : 'cnojs');
      await signUp(page, username);
      const token = operatorToken();
      const { codes } = await ops(request, token, 'vouchers', { face_value: '50', valid_days: 30, count: 1 });
      await ops(request, token, 'bank-transfers', { account: username, amount: '20000', reference: uniqueName('r') });

      await page.goto('/');
      await page.getByTestId('go-activate').click();
      await expect(page).toHaveURL(/\/wallet#vouchers$/);
      if (js) await waitForHydration(page);
      await page.locator('#f-code').fill('2222-3333-4444-5555');
      await page.getByTestId('activate').click();
      await expect(page.getByTestId('error-code')).toHaveText('No activation code matches. Check it and try again.');
      await page.locator('#f-code').fill(codes[0].toLowerCase());
      await page.getByTestId('activate').click();
      await expect(page.getByTestId('notice')).toContainText('Voucher activated.');
      await expect(page.getByTestId('balance-vouchers')).toHaveText('¥50.00');
      await expect(page.getByTestId('vouchers')).toContainText('Regular voucher');

      if (js) await waitForHydration(page);
      if (js) {
        // The preview is computed in the browser: typing asks the server nothing.
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        await page.locator('#f-denomination').fill('50000');
        await expect(page.getByTestId('preview-refused')).toHaveText('Not enough cash for this card. Top up first.');
        await page.locator('#f-denomination').fill('10000');
        await expect(page.getByTestId('preview-gift')).toHaveText('¥1,000.00');
        await expect(page.getByTestId('preview-cash-after')).toHaveText('¥10,000.00');
        expect(requests).toEqual([]);
      } else {
        // Without JavaScript the server refuses what it cannot sell, at the field.
        await page.locator('#f-denomination').fill('50000');
        await page.getByTestId('buy-card').click();
        await expect(page.getByTestId('error-denomination')).toHaveText('Not enough cash for this card. Top up first.');
        await page.locator('#f-denomination').fill('10000');
      }
      await page.getByTestId('buy-card').click();
      await expect(page.getByTestId('notice')).toContainText('Prepaid card bought.');
      await expect(page.getByTestId('balance-cards')).toHaveText('¥10,000.00');
      await expect(page.getByTestId('balance-cash')).toHaveText('¥10,000.00');
      await expect(page.getByTestId('balance-vouchers')).toHaveText('¥1,050.00');
      await expect(page.getByTestId('cards')).toContainText('Bought');

      // The deduction preview starts from this wallet.
      await page.getByTestId('preview-with-wallet').click();
      await expect(page).toHaveURL(/\/preview\?/);
      await expect(page.locator('input[name="cash"]')).toHaveValue('10000.00');
      const balances = await page.locator('input[name$="_balance"]').evaluateAll((inputs) =>
        inputs.map((i) => (i as HTMLInputElement).value).filter((v) => v !== '').sort());
      expect(balances).toEqual(['1000.00', '10000.00', '50.00']);
      await expect(page.getByTestId('total')).toHaveText('¥162.50');
      if (js) expect(errors).toEqual([]);
    });
  });
}
