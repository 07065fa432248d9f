import { test, expect } from '@playwright/test';
import { collectErrors, operatorToken, shanghaiDay, signUp, uniqueName, waitForHydration } from './helpers';

// Bind a workspace on its page, report usage with the key it shows, settle the day as an operator,
// and read the bill and the movement on /bills; with and without JavaScript.

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled: js });

    test('bind a workspace, report usage with its key, settle, and see the bill and the movement', async ({ page, request }, testInfo) => {
      const errors = collectErrors(page);
      // Each run settles a day of its own, in a month of its own: a settled day takes no more
      // usage, and a month whose every usage day is settled is closed (no more usage for any of
      // its days). Days 31 apart are never in the same month.
      const run = (testInfo.project.name === 'phone' ? 2 : 0) + (js ? 0 : 1);
      const day = shanghaiDay(2 + 31 * run);
      const username = uniqueName(js ? 'ujs' : 'unojs');
      await signUp(page, username);

      await page.goto('/workspaces');
      if (js) await waitForHydration(page);
      await page.locator('#f-workspace-id').fill('bad id');
      await page.locator('#f-workspace-name').fill('Production');
      await page.getByTestId('bind').click();
      await expect(page.getByTestId('error-workspace_id')).toContainText('letters, digits');
      const workspace = uniqueName('ws').replace(/_/g, '-');
      await page.locator('#f-workspace-id').fill(workspace);
      await page.locator('#f-workspace-name').fill('生产环境');
      await page.getByTestId('bind').click();
      const key = (await page.getByTestId('api-key').textContent())!.trim();
      expect(key).toMatch(/^bcw_[0-9a-f]{64}$/);
      await expect(page.getByTestId('workspaces')).toContainText(workspace);
      // Shown once: a reload no longer has it.
      await page.reload();
      await expect(page.getByTestId('api-key')).toHaveCount(0);
      await expect(page.getByTestId('workspaces')).toContainText('生产环境');

      // The workspace reports a day of usage with its key: 2.5 million log lines kept 7 days (3.00)
      // and 3 hosts of network (6.00); one record twice.
      const records = [
        { id: 'r1', item: 'logs', retention_days: 7, quantity: '2500000', day },
        { id: 'r2', item: 'network', quantity: '3', day },
        { id: 'r1', item: 'logs', retention_days: 7, quantity: '2500000', day },
      ];
      const reported = await request.post('/api/v1/usage', {
        data: { records },
        headers: { authorization: `Bearer ${key}` },
      });
      expect(reported.status(), await reported.text()).toBe(200);
      expect(await reported.json()).toMatchObject({ accepted: 2, duplicates: 1, rejected: [] });

      // An operator settles the day (the server's own scheduler may have done it already).
      const token = operatorToken();
      const settled = await request.post('/api/v1/ops/settlements', {
        data: { day },
        headers: { authorization: `Bearer ${token}` },
      });
      expect(settled.status(), await settled.text()).toBe(200);
      expect(['settled', 'already_settled']).toContain((await settled.json()).status);

      await page.goto('/');
      await page.getByRole('navigation').getByRole('link', { name: 'Bills' }).click();
      await expect(page).toHaveURL(/\/bills$/);
      if (js) await waitForHydration(page);
      await page.locator('#f-from').fill(day);
      await page.locator('#f-to').fill(day);
      await page.getByRole('button', { name: 'Show' }).click();
      const statement = page.getByTestId('statement');
      await expect(statement.locator('tbody tr')).toHaveCount(2);
      // The item by its translated name, not its code.
      await expect(statement).toContainText('Logs');
      await expect(statement).toContainText('¥3.00');
      // What a cloud account paid has its own column, apart from cash.
      await expect(statement.locator('thead')).toContainText('Cloud account');
      await expect(statement).toContainText('¥6.00');
      await expect(statement.locator('tbody tr').first()).toContainText(workspace);
      const csvHref = await page.getByTestId('csv').getAttribute('href');

      // The bill was charged today (the day it was settled), so the movement is found up to today.
      await page.getByTestId('tab-transactions').click();
      await expect(page).toHaveURL(/view=transactions/);
      if (js) await waitForHydration(page);
      await page.locator('#f-to').fill(shanghaiDay(0));
      await page.getByRole('button', { name: 'Show' }).click();
      const movements = page.getByTestId('statement');
      await expect(movements.locator('tbody tr').first()).toContainText('Daily bill');
      await expect(movements.locator('tbody tr').first()).toContainText('¥9.00');

      // Nothing paid it but arrears, shown as what is owed after the bill.
      await expect(movements.locator('tbody tr').first()).toContainText('-¥9.00');

      // The consumption rows as CSV, UTF-8 with a BOM.
      const csv = await page.request.get(csvHref!);
      const body = Buffer.from(await csv.body());
      expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      expect(body.toString('utf8').trim().split('\r\n')).toHaveLength(3);
      if (js) expect(errors).toEqual([]);
    });
  });
}
