import { test, expect, Browser } from '@playwright/test';
import { PASSWORD, cli, collectErrors, expectSamePage, markPage, signUp, uniqueName, waitForHydration } from './helpers';

// The support center (issue 18): a customer submits a ticket with a file, a renamed executable is
// refused at its field, an operator answers from the work queue at /ops, the customer reads the
// answer and downloads the file, closes and rates the ticket. With and without JavaScript, desktop
// and phone.

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
const EXE = Buffer.from('4d5a90000300000004000000ffff0000b8000000', 'hex');

async function operatorAnswers(browser: Browser, customer: string, title: string, answer: string, js: boolean) {
  const username = uniqueName('opsup');
  cli(['operator', 'create', '--username', username], `${PASSWORD}\n`);
  const context = await browser.newContext({ javaScriptEnabled: js });
  const page = await context.newPage();
  await page.goto('/ops');
  await page.locator('#f-ops-login').fill(username);
  await page.locator('#f-ops-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('work-queue')).toBeVisible();
  await page.getByTestId('queue-unassigned').getByRole('link', { name: title }).click();
  await expect(page.getByTestId('ticket-title')).toHaveText(title);
  await expect(page.getByTestId('attachment')).toHaveText('receipt.png');
  if (js) await waitForHydration(page);
  await page.getByTestId('take-ticket').click();
  await expect(page.getByTestId('ticket-state')).toHaveText('In progress');
  await page.getByTestId('answer-body').fill(answer);
  await page.getByTestId('answer-files').setInputFiles({ name: 'steps.txt', mimeType: 'text/plain', buffer: Buffer.from('1. Open the wallet.\n') });
  await page.getByTestId('send-answer').click();
  await expect(page.getByTestId('ticket-state')).toHaveText('Replied');
  await expect(page.getByTestId('message').last()).toContainText(answer);
  // The customer's account, found by username: the ticket is in its dossier.
  await page.goto(`/ops/accounts?q=${customer.toUpperCase()}`);
  await page.getByTestId('account-hits').getByRole('link', { name: customer }).click();
  await expect(page.getByTestId('dossier-username')).toHaveText(customer);
  await expect(page.getByTestId('dossier-tickets')).toContainText(title);
  await context.close();
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });

    test('a ticket with a file is answered by an operator, then closed and rated', async ({ page, browser }) => {
      const errors = collectErrors(page);
      const username = uniqueName(js ? 'supjs' : 'supnojs');
      const title = `Top-up not credited ${username}`;
      await signUp(page, username);
      await page.goto('/support');
      await expect(page.getByTestId('no-tickets')).toBeVisible();
      await page.getByTestId('new-ticket').click();
      await expect(page.getByTestId('new-ticket-form')).toBeVisible();
      if (js) {
        await waitForHydration(page);
        // With WebAssembly the form is sent by fetch and the app moves on: no page load.
        await markPage(page);
      }

      // A renamed executable is refused at the file field; what was typed stays.
      await page.getByTestId('ticket-kind').selectOption('payment');
      await page.locator('#f-title').fill(title);
      await page.getByTestId('ticket-description').fill('I paid ¥500 by Alipay at 10:02 and the balance did not change.');
      await page.getByTestId('ticket-files').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: EXE });
      await page.getByTestId('submit-ticket').click();
      await expect(page.getByTestId('error-file')).toContainText('checked by their content');
      await expect(page.locator('#f-title')).toHaveValue(title);

      // The real receipt: the ticket opens on its thread.
      await page.getByTestId('ticket-files').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
      await page.getByTestId('submit-ticket').click();
      await expect(page.getByTestId('ticket-title')).toHaveText(title);
      await expect(page.getByTestId('ticket-state')).toHaveText('Open');
      await expect(page.getByTestId('attachment')).toHaveText('receipt.png');
      if (js) await expectSamePage(page);
      const ticketUrl = page.url();

      await operatorAnswers(browser, username, title, 'Credited now; sorry for the wait.', js);

      await page.goto(ticketUrl);
      await expect(page.getByTestId('ticket-state')).toHaveText('Replied');
      await expect(page.getByTestId('message').last()).toContainText('Credited now; sorry for the wait.');
      await expect(page.getByTestId('message').last().getByTestId('attachment')).toHaveText('steps.txt');
      // The file comes back as a download, byte for byte.
      const response = await page.request.get(await page.getByTestId('attachment').first().getAttribute('href') as string);
      expect(response.status()).toBe(200);
      expect(response.headers()['content-disposition']).toContain('attachment');
      expect(response.headers()['x-content-type-options']).toBe('nosniff');
      expect(Buffer.from(await response.body()).equals(PNG)).toBe(true);

      if (js) await waitForHydration(page);
      await page.getByTestId('close-ticket').click();
      await expect(page.getByTestId('ticket-state')).toHaveText('Closed');
      await expect(page.getByTestId('ticket-final')).toBeVisible();
      await page.getByTestId('rate-5').check();
      await page.getByTestId('send-rating').click();
      await expect(page.getByTestId('rating')).toContainText('★★★★★');

      // The list shows it, and filters.
      await page.goto('/support?state=closed&kind=payment');
      await expect(page.getByTestId('ticket-row')).toHaveCount(1);
      await page.goto('/support?state=open');
      await expect(page.getByTestId('no-tickets')).toBeVisible();
      if (js) expect(errors).toEqual([]);
    });
  });
}
