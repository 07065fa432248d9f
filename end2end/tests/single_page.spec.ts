import { test, expect, Page } from '@playwright/test';
import { collectErrors, expectSamePage, markPage, waitForHydration } from './helpers';

// With WebAssembly the app is one page: after the first load, moving between sections and running
// actions never loads a page again. A marker set on `window` after hydration would be gone after
// any full page load, so each step checks that it survived.

function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

async function section(page: Page, name: string, url: RegExp, heading: string) {
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  await expect(page).toHaveURL(url);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
  await expect(page.getByRole('navigation').getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
  await expectSamePage(page);
}

test('signed up once, every section and every action runs without loading a page', async ({ page }) => {
  const errors = collectErrors(page);
  const username = uniqueName('spa');
  await page.goto('/signup');
  await waitForHydration(page);
  await markPage(page);

  // Sign up: a server function, then the router goes to the account page; the top bar follows.
  await page.locator('#f-username').fill(username);
  await page.locator('#f-email').fill(`${username}@example.com`);
  await page.locator('#f-password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
  await expect(page.getByTestId('username')).toHaveText(username);
  await expect(page.getByTestId('signed-in-as')).toHaveText(username);
  await expectSamePage(page);

  await section(page, 'Overview', /\/$/, 'Billing Center');
  await expect(page.getByTestId('account-name')).toHaveText(username);
  await section(page, 'Wallet', /\/wallet$/, 'Wallet');
  await expect(page.getByTestId('balance-cash')).toHaveText('¥0.00');

  // A refused form: the error at its field, focus on it, nothing reloaded.
  await page.locator('#f-amount').fill('0');
  await page.getByTestId('top-up').click();
  await expect(page.getByTestId('error-amount')).toBeVisible();
  await expect(page.locator('#f-amount')).toBeFocused();
  await expect(page.locator('#f-amount')).toHaveValue('0');
  await expectSamePage(page);

  // A bank-transfer top-up: the router goes to its page.
  await page.locator('#f-amount').fill('88.00');
  await page.getByLabel('Bank transfer').check();
  await page.getByTestId('top-up').click();
  await expect(page).toHaveURL(/\/wallet\/top-ups\/\d+$/);
  await expect(page.getByTestId('transfer-reference')).toHaveText(/^BT-/);
  await expectSamePage(page);
  await page.getByRole('link', { name: 'Back to the wallet' }).click();
  await expect(page.getByTestId('top-ups')).toContainText('¥88.00');
  await expectSamePage(page);

  await section(page, 'Workspaces', /\/workspaces$/, 'Workspaces');
  const workspace = uniqueName('ws').replace(/_/g, '-');
  await page.locator('#f-workspace-id').fill(workspace);
  await page.locator('#f-workspace-name').fill('Production');
  await page.getByTestId('bind').click();
  await expect(page.getByTestId('api-key')).toHaveText(/^bcw_/);
  await expect(page.getByTestId('workspaces')).toContainText(workspace);
  await expectSamePage(page);

  await section(page, 'Bills', /\/bills$/, 'Bills');
  await page.getByTestId('tab-transactions').click();
  await expect(page).toHaveURL(/view=transactions/);
  await page.locator('#f-from').fill('2026-01-01');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/from=2026-01-01/);
  await expect(page.locator('#f-from')).toHaveValue('2026-01-01');
  await expectSamePage(page);

  // The five tabs of bill management, each its own statement.
  for (const [tab, title] of [
    ['monthly', 'Monthly bills'],
    ['vouchers', 'Voucher details'],
    ['prepaid_cards', 'Prepaid card details'],
    ['consumption', 'Consumption details'],
  ]) {
    await page.getByTestId(`tab-${tab}`).click();
    await expect(page).toHaveURL(new RegExp(`view=${tab}`));
    await expect(page.getByRole('heading', { level: 2 }).last()).toHaveText(title);
    await expect(page.getByTestId(`tab-${tab}`)).toHaveAttribute('aria-current', 'page');
  }
  await expectSamePage(page);

  await section(page, 'Deduction preview', /\/preview$/, 'Deduction preview');
  await section(page, 'Account', /\/account$/, 'Account');
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/signin\?signed_out=1$/);
  await expect(page.getByTestId('signed-in-as')).toHaveCount(0);
  await expectSamePage(page);
  expect(errors).toEqual([]);
});
