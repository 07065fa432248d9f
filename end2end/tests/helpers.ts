import { expect, Page } from '@playwright/test';

/** Waits until the WASM bundle has hydrated the page (App sets body[data-hydrated]). */
export async function waitForHydration(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Collects page errors and console errors, which include Leptos hydration mismatches. A form
 * the server refuses answers 4xx, which Chromium logs as a failed resource: that is expected, a
 * 5xx is not. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && !/responded with a status of 4\d\d/.test(text)) errors.push(`console: ${text} (${m.location().url})`);
  });
  return errors;
}

/** Marks the page's window; `expectSamePage` then proves no full page load happened since. */
export async function markPage(page: Page) {
  await page.evaluate(() => ((window as any).__sameDocument = 'still here'));
}

export async function expectSamePage(page: Page) {
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe('still here');
}
