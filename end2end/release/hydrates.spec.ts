import { test, expect } from '@playwright/test';

test('the release build hydrates every section of the demo and pays by the QR code in the page', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  const encodings = new Set<string>();
  page.on('response', (r) => {
    if (r.url().endsWith('_bg.wasm')) encodings.add(r.headers()['content-encoding'] ?? 'none');
  });
  await page.goto('/signin', { waitUntil: 'load' });
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => ((window as any).__sameDocument = 'still here'));
  await page.locator('input[name=login]').fill('demo');
  await page.locator('input[name=password]').fill('billing-center-demo');
  await page.locator('form button[type=submit]').first().click();
  await expect(page).not.toHaveURL(/\/signin/);
  for (const [name, url] of [
    ['Wallet', /\/wallet$/],
    ['Bills', /\/bills/],
    ['Workspaces', /\/workspaces$/],
    ['Overview', /\/$/],
  ] as const) {
    await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
    await expect(page).toHaveURL(url);
    await expect(page.getByRole('navigation').getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
  }
  await page.getByRole('navigation').getByRole('link', { name: 'Wallet', exact: true }).click();
  await page.locator('#f-amount').fill('12.00');
  await page.getByTestId('top-up').click();
  await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+$/);
  await expect(page.getByTestId('payment-qr').locator('svg')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe('still here');
  expect([...encodings]).toEqual(['br']);
  expect(errors).toEqual([]);
});
