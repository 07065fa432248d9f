import { test, expect, Page, Browser } from '@playwright/test';
import { collectErrors, expectSamePage, markPage, waitForHydration } from './helpers';

// Paying an Alipay top-up from where the customer is (issue 13, "Paying from a phone"): the
// sandbox plays Alipay's side of each way. On a desktop the QR code is in the top-up's page and
// the page follows the payment by itself; a phone browser goes to Alipay's mobile checkout; inside
// WeChat, which blocks Alipay, the page says how to open it in the system browser.

const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const ANDROID = 'Mozilla/5.0 (Linux; Android 13; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';

function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

async function signUpAndTopUp(page: Page, prefix: string, amount: string) {
  const username = uniqueName(prefix);
  await page.goto('/signup');
  await page.locator('#f-username').fill(username);
  await page.locator('#f-email').fill(`${username}@example.com`);
  await page.locator('#f-password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
  await page.goto('/wallet');
  await page.locator('#f-amount').fill(amount);
  await page.getByTestId('top-up').click();
}

/** The page fits the phone's 375 px: nothing scrolls sideways (a long address wraps). */
async function fitsTheScreen(page: Page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
}

/** What scanning the code with a phone does: the phone opens the code's address and pays. */
async function payFromAPhone(browser: Browser, code: string, amount: string) {
  const phone = await browser.newContext({ userAgent: ANDROID, viewport: { width: 375, height: 812 } });
  const scan = await phone.newPage();
  await scan.goto(code);
  await expect(scan.getByTestId('sandbox-amount')).toHaveText(`¥${amount}`);
  await fitsTheScreen(scan);
  await scan.getByTestId('sandbox-pay').click();
  await expect(scan.getByTestId('sandbox-paid')).toBeVisible();
  return { phone, scan };
}

test.describe('on a desktop', () => {
  test.beforeEach(({}, info) => test.skip(info.project.name !== 'desktop', 'a desktop browser'));
  test.use({ userAgent: DESKTOP });

  test('the QR code is in the page, and the page follows the payment by itself', async ({ page, browser }) => {
    const errors = collectErrors(page);
    const username = uniqueName('qr');
    await page.goto('/signup');
    await waitForHydration(page);
    await markPage(page);
    await page.locator('#f-username').fill(username);
    await page.locator('#f-email').fill(`${username}@example.com`);
    await page.locator('#f-password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect(page).toHaveURL(/\/account\?welcome=1$/);
    await page.getByRole('navigation').getByRole('link', { name: 'Wallet', exact: true }).click();
    await page.locator('#f-amount').fill('88.80');
    await page.getByTestId('top-up').click();

    await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+$/);
    const qr = page.getByTestId('payment-qr');
    await expect(qr.locator('svg')).toBeVisible();
    await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'false');
    const code = (await qr.getAttribute('data-code'))!;
    expect(code).toContain('/sandbox/alipay/scan?');

    const { phone } = await payFromAPhone(browser, code, '88.80');
    // No click, no reload: the page asks for the status and shows the credit.
    await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'true', { timeout: 15_000 });
    await expect(page.getByTestId('payment-qr')).toHaveCount(0);
    await expectSamePage(page);

    // The same code paid again credits nothing more.
    const again = await phone.newPage();
    await again.goto(code);
    await again.getByTestId('sandbox-pay').click();
    await page.getByRole('navigation').getByRole('link', { name: 'Wallet', exact: true }).click();
    await expect(page.getByTestId('balance-cash')).toHaveText('¥88.80');
    await phone.close();
    expect(errors).toEqual([]);
  });

  test("Alipay's website is the alternative to the code", async ({ page }) => {
    await signUpAndTopUp(page, 'web', '12.00');
    await expect(page.getByTestId('payment-qr').locator('svg')).toBeVisible();
    await page.getByTestId('continue-to-pay').click();
    await expect(page).toHaveURL(/\/sandbox\/alipay\/gateway\.do\?/);
    await expect(page.getByTestId('sandbox-amount')).toHaveText('¥12.00');
    await page.getByTestId('sandbox-pay').click();
    await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+\?/);
    await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'true');
  });

  test.describe('without JavaScript', () => {
    test.use({ javaScriptEnabled: false });

    test('the page with the code is complete, and shows the credit once refreshed', async ({ page, browser }) => {
      await signUpAndTopUp(page, 'qrnojs', '30.00');
      await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+$/);
      const code = (await page.getByTestId('payment-qr').getAttribute('data-code'))!;
      await expect(page.getByTestId('payment-qr').locator('svg')).toBeVisible();
      const { phone } = await payFromAPhone(browser, code, '30.00');
      await page.getByTestId('refresh').click();
      await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'true');
      await phone.close();
    });
  });
});

test.describe('on a phone', () => {
  test.beforeEach(({}, info) => test.skip(info.project.name !== 'phone', 'a phone'));

  test.describe('in its browser', () => {
    test.use({ userAgent: ANDROID });

    test("Alipay's mobile checkout, then back to the top-up, credited", async ({ page }) => {
      const errors = collectErrors(page);
      await signUpAndTopUp(page, 'wap', '66.00');
      // Straight to the gateway's mobile checkout (it hands over to the Alipay app): no QR code.
      await expect(page).toHaveURL(/\/sandbox\/alipay\/gateway\.do\?/);
      await expect(page.getByTestId('sandbox-amount')).toHaveText('¥66.00');
      await expect(page.getByTestId('sandbox-qr')).toHaveCount(0);
      await expect(page.getByTestId('sandbox-quit')).toBeVisible();
      await fitsTheScreen(page);
      await page.getByTestId('sandbox-pay').click();
      await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+\?/);
      await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'true');
      expect(errors).toEqual([]);
    });

    test('giving up at the checkout comes back to the top-up, still waiting', async ({ page }) => {
      await signUpAndTopUp(page, 'quit', '9.90');
      await expect(page).toHaveURL(/\/sandbox\/alipay\/gateway\.do\?/);
      await page.getByTestId('sandbox-quit').click();
      await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+$/);
      await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'false');
      // Paying later goes to the mobile checkout again.
      await page.getByTestId('continue-to-pay').click();
      await expect(page).toHaveURL(/\/sandbox\/alipay\/gateway\.do\?/);
    });
  });

  // The phone project's browser is WeChat's (playwright.config.ts).
  test('inside WeChat: how to open the page in the browser, instead of a dead end', async ({ page }) => {
    const errors = collectErrors(page);
    await signUpAndTopUp(page, 'wechat', '20.00');
    await expect(page).toHaveURL(/\/wallet\/top-ups\/(\d+)$/);
    const id = page.url().match(/\/wallet\/top-ups\/(\d+)$/)![1];
    const guide = page.getByTestId('open-in-browser');
    await expect(guide).toContainText('Open in browser');
    await expect(page.getByTestId('page-address')).toHaveText(new RegExp(`/wallet/top-ups/${id}$`));
    await expect(page.getByTestId('continue-to-pay')).toHaveCount(0);
    await expect(page.getByTestId('payment-qr')).toHaveCount(0);
    await expect(page.getByTestId('top-up-status')).toHaveAttribute('data-paid', 'false');
    await fitsTheScreen(page);
    expect(errors).toEqual([]);
  });
});
