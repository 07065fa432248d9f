import { test, expect } from '@playwright/test';
import { collectErrors, operatorToken, PASSWORD, shanghaiDay, signUp, uniqueName, waitForHydration } from './helpers';

// Cloud settlement end to end with the marketplace sandbox: subscribe on "Alibaba Cloud
// Marketplace" (the sandbox calls the server's SPI, signed), switch a workspace to it on its
// page, report and settle a day, see the cloud pay it in the statement and the metering arrive at
// the marketplace, then unsubscribe: the workspace is back on the account.

test('subscribe in the marketplace sandbox, settle a workspace through it, unsubscribe', async ({ page, request }, testInfo) => {
  const errors = collectErrors(page);
  // Months of their own, far from the other specs' settled days (a month whose usage is all
  // settled is closed).
  const day = shanghaiDay(150 + 31 * (testInfo.project.name === 'phone' ? 1 : 0));
  const username = uniqueName('cloud');
  await signUp(page, username);
  await page.goto('/workspaces');
  await waitForHydration(page);
  const workspace = uniqueName('ws').replace(/_/g, '-');
  await page.locator('#f-workspace-id').fill(workspace);
  await page.locator('#f-workspace-name').fill('Cloud-paid');
  await page.getByTestId('bind').click();
  const key = (await page.getByTestId('api-key').textContent())!.trim();

  // The buyer subscribes on the marketplace.
  const aliUid = `${Date.now()}`;
  await page.goto('/sandbox/marketplace');
  await page.getByTestId('ali-uid').fill(aliUid);
  await page.getByTestId('subscribe').click();
  const instance = (await page.getByTestId('instance-id').textContent())!.trim();
  expect(instance).toMatch(/^bc-aliyun-[0-9a-f]{32}$/);

  // The account holder switches the workspace; a wrong account id is refused at its field.
  await page.goto(`/workspaces/${workspace}`);
  await waitForHydration(page);
  await expect(page.getByTestId('current-settlement')).toHaveText('this Billing Center account');
  await page.getByTestId('settlement-choice').selectOption('aliyun');
  await page.locator('#f-account_id').fill('42');
  await page.locator('#f-instance_id').fill(instance);
  await page.getByTestId('save-settlement').click();
  await expect(page.getByTestId('error-instance_id')).toBeVisible();
  await page.locator('#f-account_id').fill(aliUid);
  await page.getByTestId('save-settlement').click();
  await expect(page.getByTestId('current-settlement')).toHaveText('Alibaba Cloud');
  await expect(page.getByTestId('cloud-accounts')).toContainText(instance);

  // A day of usage, settled: the cloud pays it (3 hosts of network, 6.00).
  const reported = await request.post('/api/v1/usage', {
    data: { records: [{ id: 'n1', item: 'network', quantity: '3', day }] },
    headers: { authorization: `Bearer ${key}` },
  });
  expect(reported.status(), await reported.text()).toBe(200);
  const settled = await request.post('/api/v1/ops/settlements', {
    data: { day },
    headers: { authorization: `Bearer ${operatorToken()}` },
  });
  expect(settled.status(), await settled.text()).toBe(200);
  await page.goto('/bills');
  await waitForHydration(page);
  await page.locator('#f-from').fill(day);
  await page.locator('#f-to').fill(day);
  await page.getByRole('button', { name: 'Show' }).click();
  const statement = page.getByTestId('statement');
  await expect(statement.locator('thead')).toContainText('Cloud account');
  await expect(statement.locator('tbody tr')).toHaveCount(1);
  await expect(statement.locator('tbody tr').first()).toContainText('¥6.00');

  // The metering reaches the marketplace (the worker pushes every few seconds): 600 units of 0.01.
  await expect
    .poll(async () => {
      await page.goto('/sandbox/marketplace');
      return (await page.getByTestId('metering').textContent()) ?? '';
    }, { timeout: 30_000 })
    .toContain(instance);
  await expect(page.getByTestId('metering').locator('tr', { hasText: instance })).toContainText('600');

  // Unsubscribe: the workspace settles through the account again.
  await page.getByTestId(`release-${instance}`).click();
  await expect(page.getByTestId('ended')).toContainText(instance);
  await page.goto(`/workspaces/${workspace}`);
  await expect(page.getByTestId('current-settlement')).toHaveText('this Billing Center account');
  expect(errors).toEqual([]);
});

// AWS Marketplace, as a buyer meets it: subscribe at "AWS" (the sandbox), "Set up your account"
// posts the registration token to the fulfillment URL, Billing Center resolves it and asks the
// buyer to sign up, then to pick the workspace it pays for (one button each; the subscription
// travels in a cookie, never in a URL); a settled day is metered to AWS; unsubscribing at AWS (an SNS message) switches back.
test('AWS Marketplace: fulfillment, sign up, choose a workspace, metering, unsubscribe', async ({ page, request }, testInfo) => {
  const errors = collectErrors(page);
  const day = shanghaiDay(215 + 31 * (testInfo.project.name === 'phone' ? 1 : 0));
  const awsAccount = `${Date.now()}`.slice(-12).padStart(12, '7');
  await page.goto('/sandbox/marketplace');
  await page.getByTestId('aws-account-id').fill(awsAccount);
  await page.getByTestId('subscribe-aws').click();
  await page.getByTestId('set-up-account').click();
  // The subscription travels in a cookie; the address says only where the buyer came from.
  await expect(page).toHaveURL(/\/workspaces\?aws=ready$/);
  await expect(page.getByTestId('aws-offer')).toBeVisible();

  // A new buyer signs up from there and comes back to the offer.
  const username = uniqueName('aws');
  await page.getByTestId('aws-offer').getByRole('link', { name: 'Sign up' }).click();
  await page.locator('#f-username').fill(username);
  await page.locator('#f-email').fill(`${username}@example.com`);
  await page.locator('#f-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/workspaces\?aws=ready$/);
  await waitForHydration(page);
  const instance = (await page.getByTestId('aws-instance').textContent())!.trim();
  expect(instance).toMatch(/^bc-aws-[0-9a-f]{32}$/);
  await expect(page.getByTestId('aws-offer')).toContainText(awsAccount);
  const workspace = uniqueName('ws').replace(/_/g, '-');
  await page.locator('#f-workspace-id').fill(workspace);
  await page.locator('#f-workspace-name').fill('AWS-paid');
  await page.getByTestId('bind').click();
  const key = (await page.getByTestId('api-key').textContent())!.trim();
  await page.getByTestId(`aws-choose-${workspace}`).click();
  await expect(page).toHaveURL(new RegExp(`/workspaces/${workspace}\\?saved=settlement`));
  await expect(page.getByTestId('current-settlement')).toHaveText('AWS');
  await expect(page.getByTestId('cloud-accounts')).toContainText(instance);

  const reported = await request.post('/api/v1/usage', {
    data: { records: [{ id: 'n1', item: 'network', quantity: '3', day }] },
    headers: { authorization: `Bearer ${key}` },
  });
  expect(reported.status(), await reported.text()).toBe(200);
  const settled = await request.post('/api/v1/ops/settlements', {
    data: { day },
    headers: { authorization: `Bearer ${operatorToken()}` },
  });
  expect(settled.status(), await settled.text()).toBe(200);
  // BatchMeterUsage reaches "AWS": 600 units (fen) for the buyer's AWS account.
  await expect
    .poll(async () => {
      await page.goto('/sandbox/marketplace');
      return (await page.getByTestId('metering').textContent()) ?? '';
    }, { timeout: 30_000 })
    .toContain(awsAccount);
  await expect(page.getByTestId('metering').locator('tr', { hasText: awsAccount })).toContainText('600');

  await page.getByTestId(`release-${instance}`).click();
  await expect(page.getByTestId('ended')).toContainText(instance);
  await page.goto(`/workspaces/${workspace}`);
  await expect(page.getByTestId('current-settlement')).toHaveText('this Billing Center account');
  expect(errors).toEqual([]);
});
