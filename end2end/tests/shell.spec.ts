import { test, expect } from '@playwright/test';
import { collectErrors, expectSamePage, markPage, waitForHydration } from './helpers';

test('the language follows Accept-Language, can be switched, and is remembered', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, locale: 'zh-CN', extraHTTPHeaders: { 'Accept-Language': 'zh-CN,zh;q=0.9' } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto('/preview');
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('扣费预览');
  await waitForHydration(page);
  // After hydration the page is still Chinese and still live.
  await page.locator('input[name=c1_amount]').fill('40.00');
  await expect(page.getByTestId('total')).toHaveText('¥172.50');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('扣费预览');

  // The switch renders the app again in place: no page load, the form keeps working.
  await markPage(page);
  await page.getByRole('link', { name: 'English' }).click();
  await expect(page).toHaveURL(/\/preview$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Deduction preview');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expectSamePage(page);
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('link', { name: 'Deduction preview' }).first()).toBeVisible();
  expect(errors).toEqual([]);
  await context.close();
});

test('the navigation reaches every section and marks the current one', async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
  const nav = page.getByRole('navigation');
  for (const name of ['Overview', 'Wallet', 'Bills', 'Workspaces', 'Support', 'Account', 'Deduction preview']) {
    await expect(nav.getByRole('link', { name })).toBeVisible({ visible: true }).catch(async () => {
      // On phones the strip scrolls: the link exists even when scrolled out of view.
      await expect(nav.getByRole('link', { name })).toHaveCount(1);
    });
  }
  await nav.getByRole('link', { name: 'Deduction preview' }).click();
  await expect(page).toHaveURL(/\/preview$/);
  await expect(nav.getByRole('link', { name: 'Deduction preview' })).toHaveAttribute('aria-current', 'page');
});

test('the layout fits the viewport without sideways scrolling', async ({ page }, testInfo) => {
  await page.goto('/preview');
  await waitForHydration(page);
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
  const direction = await page.locator('nav ul').evaluate((ul) => getComputedStyle(ul).flexDirection + '/' + getComputedStyle(ul).display);
  if (testInfo.project.name === 'phone') {
    expect(direction).toBe('row/flex'); // a tab strip under the top bar
  } else {
    expect(direction).not.toBe('row/flex'); // a sidebar
  }
  await expect(page.getByRole('link', { name: 'English' })).toBeInViewport();
});

test('an unknown address shows the not-found page with status 404', async ({ page }) => {
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
});

test('while the payment sandbox is on every page says so, before and after hydration', async ({ page }) => {
  const errors = collectErrors(page);
  for (const path of ['/', '/wallet', '/preview']) {
    await page.goto(path);
    await expect(page.getByTestId('sandbox-banner')).toBeVisible();
    await waitForHydration(page);
    await expect(page.getByTestId('sandbox-banner')).toHaveCount(1);
    await expect(page.getByTestId('sandbox-banner')).toContainText('Sandbox payments');
  }
  expect(errors).toEqual([]);
});
