import { defineConfig, devices } from '@playwright/test';
import { consoleKey, consoleOrigin, consoleServerPort, consoleServerURL } from './tests/console_setup';

// Browser tests run in Debian's Chromium (never a downloaded browser) against the debug server
// that scripts/site.sh builds. The server is started here and waited for on /readyz (ready, not merely alive).
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const smtpPort = Number(process.env.E2E_SMTP_PORT ?? 3125);

const chromium = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
};

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  use: { baseURL, launchOptions: chromium, trace: 'off' },
  projects: [
    { name: 'desktop', use: { viewport: { width: 1280, height: 900 } } },
    {
      name: 'phone',
      use: {
        ...devices['Pixel 5'],
        viewport: { width: 375, height: 812 },
        // The WeChat in-app browser on Android.
        userAgent:
          'Mozilla/5.0 (Linux; Android 13; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.44',
      },
    },
  ],
  webServer: [
    {
      // A real SMTP server (aiosmtpd, installed by scripts/bootstrap.sh --test): each message it
      // receives is a JSON file in target/e2e/mail, which tests/mail.spec.ts reads the links from.
      command: '.tools/smtp/bin/python scripts/smtp-sink.py --dir target/e2e/mail --port ' + smtpPort,
      cwd: '..',
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: './target/debug/billing-center serve',
      cwd: '..',
      url: `${baseURL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: 'target/site',
        DATABASE_URL: 'sqlite://target/e2e/billing-center.db',
        RUST_LOG: 'warn',
        PAYMENT_SANDBOX: 'on',
        // Every test signs up from 127.0.0.1; the default (10 an hour per address) is for production.
        SIGN_UPS_PER_HOUR: '1000',
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        SMTP_FROM: 'Billing Center <billing@example.com>',
        PUBLIC_URL: baseURL,
        // The built-in marketplace (tests/cloud.spec.ts subscribes and unsubscribes in it).
        MARKETPLACE_SANDBOX: 'on',
      },
    },
    {
      // A Billing Center that trusts a console (tests/console.spec.ts): the console's pages are
      // served by the test itself from another origin (localhost, another port).
      command: './target/debug/billing-center serve',
      cwd: '..',
      url: `${consoleServerURL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${consoleServerPort}`,
        LEPTOS_SITE_ROOT: 'target/site',
        DATABASE_URL: 'sqlite://target/e2e/billing-center-console.db',
        RUST_LOG: 'warn',
        SIGN_UPS_PER_HOUR: '1000',
        CONSOLE_SIGNING_KEY: consoleKey,
        CONSOLE_ORIGINS: consoleOrigin,
      },
    },
  ],
});
