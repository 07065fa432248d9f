import { test, expect } from '@playwright/test';
import { collectErrors, waitForHydration } from './helpers';

// The worked example on /preview: voucher #1 50.00, prepaid card #2 200.00, cash 100.00;
// charges logs 120.50, time series 30.00, SMS 12.00.

test.describe('with JavaScript (hydrated)', () => {
  test('the plan is recomputed in the browser as the user types, without asking the server', async ({ page }) => {
    const errors = collectErrors(page);
    await page.goto('/preview');
    await waitForHydration(page);
    await expect(page.getByTestId('total')).toHaveText('¥162.50');

    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.locator('input[name=c0_amount]').fill('1234.56');
    await expect(page.getByTestId('total')).toHaveText('¥1,276.56');
    // Voucher 50 + card 200 pay first; cash 100 next; the rest (926.56) becomes arrears.
    await expect(page.getByTestId('cash-after')).toHaveText('-¥926.56');
    const line0 = page.locator('tr[data-charge="0"]');
    await expect(line0.locator('li[data-source="#1"]')).toContainText('¥50.00');
    // Line 0 leaves 884.56 unpaid; time series and SMS add 42.00 more to arrears.
    await expect(line0.locator('li[data-source="arrears"]')).toContainText('¥884.56');
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('restricted items skip vouchers and cloud settlement never uses cash', async ({ page }) => {
    await page.goto('/preview');
    await waitForHydration(page);
    await page.locator('select[name=c0_item]').selectOption('sms');
    await page.locator('select[name=settlement]').selectOption('cloud');
    const line0 = page.locator('tr[data-charge="0"]');
    await expect(line0.locator('li[data-source="#1"]')).toHaveCount(0);
    await expect(line0.locator('li[data-source="#2"]')).toContainText('¥120.50');
    await expect(page.locator('li[data-source="cash"]')).toHaveCount(0);
    await expect(page.getByTestId('cash-after')).toHaveText('¥100.00');
  });

  test('a bad amount shows an error at its field and no plan', async ({ page }) => {
    await page.goto('/preview');
    await waitForHydration(page);
    await page.locator('input[name=cash]').fill('12.345');
    await expect(page.locator('#cash-error')).toHaveText('At most 2 decimal places (fen).');
    await expect(page.locator('input[name=cash]')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByTestId('total')).toHaveCount(0);
    await page.locator('input[name=cash]').fill('12.34');
    await expect(page.locator('#cash-error')).toHaveText('');
    await expect(page.getByTestId('total')).toHaveText('¥162.50');
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the form posts to the server, which renders the same plan', async ({ page }) => {
    await page.goto('/preview');
    await page.locator('input[name=c0_amount]').fill('1234.56');
    await page.locator('select[name=c1_item]').selectOption('dial_testing');
    await page.getByRole('button', { name: 'Calculate' }).click();
    await expect(page).toHaveURL(/c0_amount=1234.56/);
    await expect(page.getByTestId('total')).toHaveText('¥1,276.56');
    await expect(page.getByTestId('cash-after')).toHaveText('-¥926.56');
    // The submitted values stay in the form.
    await expect(page.locator('input[name=c0_amount]')).toHaveValue('1234.56');
    await expect(page.locator('select[name=c1_item]')).toHaveValue('dial_testing');
  });

  test('bad input is shown at its field after submitting', async ({ page }) => {
    await page.goto('/preview');
    await page.locator('input[name=arrears]').fill('5.00');
    await page.getByRole('button', { name: 'Calculate' }).click();
    await expect(page.locator('#arrears-error')).toHaveText('Cash and arrears cannot both be above zero.');
    await expect(page.getByTestId('total')).toHaveCount(0);
  });
});
