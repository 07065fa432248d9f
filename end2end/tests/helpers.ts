import { expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

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

export const PASSWORD = 'correct horse battery';
const root = path.resolve(__dirname, '..', '..');

/** Every run of every project gets its own names: the e2e database lives for the whole run. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** The debug binary's CLI on the e2e database. */
export function cli(args: string[], input = ''): string {
  return execFileSync(path.join(root, 'target/debug/billing-center'), args, {
    cwd: root,
    input,
    env: { ...process.env, DATABASE_URL: 'sqlite://target/e2e/billing-center.db' },
  }).toString();
}

/** A new operator's API token. */
export function operatorToken(): string {
  const username = uniqueName('op');
  cli(['operator', 'create', '--username', username], `${PASSWORD}\n`);
  return cli(['operator', 'token', '--username', username]).trim();
}

/** A past day in Asia/Shanghai (the server's settlement timezone), `daysAgo` days back. */
export function shanghaiDay(daysAgo: number): string {
  return new Date(Date.now() + 8 * 3600_000 - daysAgo * 86_400_000).toISOString().slice(0, 10);
}

/** Signs up on the page and lands on the welcome. */
export async function signUp(page: Page, username: string) {
  await page.goto('/signup');
  await page.locator('#f-username').fill(username);
  await page.locator('#f-email').fill(`${username}@example.com`);
  await page.locator('#f-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
}
