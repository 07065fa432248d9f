import { test, expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { collectErrors, waitForHydration } from './helpers';

// Every run of every project gets its own usernames: the e2e database lives for the whole run.
function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

const PASSWORD = 'correct horse battery';

async function signUp(page: Page, username: string, password = PASSWORD) {
  await page.goto('/signup');
  await page.locator('#f-username').fill(username);
  await page.locator('#f-email').fill(`${username}@example.com`);
  await page.locator('#f-password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });

    test('sign up, sign out, a wrong password, then sign in', async ({ page }) => {
      const errors = collectErrors(page);
      const username = uniqueName(js ? 'js' : 'nojs');

      // A common password is refused at its field, and what was typed (but the password) stays.
      await signUp(page, username, 'password1');
      await expect(page.getByTestId('error-password')).toContainText('most common passwords');
      await expect(page.locator('#f-username')).toHaveValue(username);
      await expect(page.locator('#f-password')).toHaveValue('');
      expect(page.url()).not.toContain('password1');

      await signUp(page, username);
      await expect(page).toHaveURL(/\/account\?welcome=1$/);
      await page.goto('/');
      await expect(page.getByTestId('account-name')).toHaveText(username);
      await expect(page.getByTestId('balance-cash')).toHaveText('¥0.00');
      await expect(page.getByTestId('no-movements')).toBeVisible();
      await page.goto('/account?welcome=1');
      await expect(page.getByTestId('username')).toHaveText(username);
      await expect(page.getByTestId('signed-in-as')).toHaveText(username);
      if (js) await waitForHydration(page);

      await page.getByTestId('sign-out').click();
      await expect(page).toHaveURL(/\/signin\?signed_out=1$/);
      await expect(page.getByTestId('signed-out')).toBeVisible();
      await page.goto('/account');
      await expect(page.getByTestId('username')).toHaveCount(0);

      await page.goto('/signin');
      await page.locator('#f-login').fill(username);
      await page.locator('#f-password').fill('not my password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByTestId('form-error')).toHaveText('The login or the password is wrong.');
      await expect(page.locator('#f-login')).toHaveValue(username);

      await page.locator('#f-login').fill(`${username}@example.com`);
      await page.locator('#f-password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(/\/account$/);
      await expect(page.getByTestId('username')).toHaveText(username);
      if (js) {
        await waitForHydration(page);
        expect(errors).toEqual([]);
      }
    });

    test('an operator created on the command line signs in at /ops and sees the audit log', async ({ page }) => {
      const username = uniqueName(js ? 'opsjs' : 'opsnojs');
      // The same database file the server under test uses (playwright.config.ts).
      const root = path.resolve(__dirname, '..', '..');
      execFileSync(path.join(root, 'target/debug/billing-center'), ['operator', 'create', '--username', username], {
        cwd: root,
        input: `${PASSWORD}\n`,
        env: { ...process.env, DATABASE_URL: 'sqlite://target/e2e/billing-center.db' },
      });
      await page.goto('/ops');
      await page.locator('#f-ops-login').fill(username);
      await page.locator('#f-ops-password').fill('wrong password here');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByTestId('form-error')).toHaveText('The login or the password is wrong.');
      await page.locator('#f-ops-password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByTestId('operator')).toHaveText(username);
      await expect(page.getByTestId('audit')).toContainText('operator.sign_in');
    });

    test('the profile saves and a wrong current password is shown at its field', async ({ page }) => {
      const username = uniqueName(js ? 'pjs' : 'pnojs');
      await signUp(page, username);
      await expect(page.getByTestId('username')).toHaveText(username);
      if (js) await waitForHydration(page);
      await page.locator('#f-company').fill('Acme 有限公司');
      await page.getByRole('button', { name: 'Save' }).click();
      await expect(page.getByTestId('notice')).toHaveText('Saved.');
      await expect(page.locator('#f-company')).toHaveValue('Acme 有限公司');

      await page.locator('#f-current_password').fill('not it');
      await page.locator('#f-new_password').fill('a much better secret');
      await page.getByRole('button', { name: 'Change password' }).click();
      await expect(page.getByTestId('error-current_password')).toHaveText('The current password is wrong.');
    });
  });
}
