import { test, expect } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { collectErrors, PASSWORD, signUp, uniqueName, waitForHydration } from './helpers';

// Mail end to end: the server delivers over SMTP to the real SMTP server the config starts
// (scripts/smtp-sink.py), which writes each message as JSON; links are read from those files.
const MAIL_DIR = path.resolve(__dirname, '../../target/e2e/mail');

type Mail = { rcpt_tos: string[]; subject: string; text: string; html: string; message_id: string };

function mailTo(address: string): Mail[] {
  if (!fs.existsSync(MAIL_DIR)) return [];
  return fs
    .readdirSync(MAIL_DIR)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(MAIL_DIR, f), 'utf8')) as Mail)
    .filter((m) => m.rcpt_tos.includes(address));
}

/** The link starting with `prefix` in the latest mail to `address` with `subject`. */
async function linkIn(address: string, subject: string, prefix: string): Promise<string> {
  let link = '';
  await expect
    .poll(
      () => {
        const found = mailTo(address).filter((m) => m.subject === subject).pop();
        const match = found?.text.match(new RegExp(`${prefix.replace(/[.?]/g, '\\$&')}\\S+`));
        link = match ? match[0] : '';
        return link;
      },
      { timeout: 15_000, message: `a mail "${subject}" to ${address}` },
    )
    .not.toBe('');
  return link;
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });

    test('confirm the address, forget the password, reset it from the mailed link', async ({ page, baseURL }) => {
      const errors = collectErrors(page);
      const username = uniqueName(js ? 'mail' : 'mailnojs');
      const address = `${username}@example.com`;

      await signUp(page, username);
      await expect(page.getByTestId('email-unconfirmed')).toBeVisible();
      const confirm = await linkIn(address, 'Confirm your email address', `${baseURL}/confirm-email?token=`);
      await page.goto(confirm);
      await expect(page.getByTestId('email-confirmed')).toBeVisible();
      await page.goto('/account');
      await expect(page.getByTestId('username')).toHaveText(username);
      await expect(page.getByTestId('email-unconfirmed')).toHaveCount(0);

      // Notification settings: English mail, a higher threshold, one alert off.
      await page.goto('/account/notifications');
      if (js) await waitForHydration(page);
      await page.locator('#f-low_balance_threshold').fill('250');
      await page.getByTestId('alert-expiring').uncheck();
      await page.getByTestId('mail-language').selectOption('en');
      await page.getByTestId('save-notifications').click();
      await expect(page.getByTestId('notice')).toBeVisible();
      await page.goto('/account/notifications');
      await expect(page.locator('#f-low_balance_threshold')).toHaveValue('250.00');
      await expect(page.getByTestId('alert-expiring')).not.toBeChecked();
      await expect(page.getByTestId('alert-arrears')).toBeChecked();

      // Signed out (another browser, say).
      await page.context().clearCookies();

      // Forgot the password.
      await page.goto('/signin');
      if (js) await waitForHydration(page);
      await page.getByTestId('forgot-password').click();
      await expect(page).toHaveURL(/\/reset-password$/);
      await page.locator('#f-login').fill(username);
      await page.getByTestId('send-reset-link').click();
      await expect(page.getByTestId('reset-sent')).toBeVisible();
      const reset = await linkIn(address, 'Reset your password', `${baseURL}/reset-password?token=`);
      await page.goto(reset);
      if (js) await waitForHydration(page);
      await page.locator('#f-new_password').fill('short');
      await page.getByTestId('set-new-password').click();
      await expect(page.getByTestId('error-new_password')).toBeVisible();
      await page.locator('#f-new_password').fill('a brand new passphrase');
      await page.getByTestId('set-new-password').click();
      await expect(page).toHaveURL(/\/signin\?reset=1$/);
      await expect(page.getByTestId('password-reset')).toBeVisible();

      // The link works once.
      await page.goto(reset);
      await page.locator('#f-new_password').fill('another new passphrase');
      await page.getByTestId('set-new-password').click();
      await expect(page.getByTestId('form-error')).toContainText('unknown, used or expired');

      // The new password signs in; the old one does not.
      await page.goto('/signin');
      await page.locator('#f-login').fill(username);
      await page.locator('#f-password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByTestId('form-error')).toBeVisible();
      await page.locator('#f-password').fill('a brand new passphrase');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(/\/account$/);

      // Each mail went once.
      const mails = mailTo(address);
      expect(mails.map((m) => m.subject)).toEqual(['Confirm your email address', 'Reset your password']);
      expect(new Set(mails.map((m) => m.message_id)).size).toBe(2);
      expect(errors).toEqual([]);
    });
  });
}
