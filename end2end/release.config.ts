import { defineConfig } from '@playwright/test';

// The release build, as `scripts/run.sh` serves it (type-erased WASM split at its lazy routes,
// precompressed files, a server built with the same `--cfg erase_components`; scripts/test.sh serves
// it from the debug server, E2E_RELEASE_SERVER, which shares that flag): a smoke test that
// it hydrates and moves between sections, since a server and a bundle built differently render
// HTML the browser cannot hydrate. The debug build's browser tests (playwright.config.ts) cover
// the features.
const port = Number(process.env.E2E_RELEASE_PORT ?? 3300);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './release',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/release-results.json' }]],
  use: {
    baseURL,
    trace: 'off',
    launchOptions: { executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] },
    viewport: { width: 1280, height: 900 },
  },
  webServer: {
    command: `${process.env.E2E_RELEASE_SERVER ?? './target/release/billing-center'} serve --demo`,
    cwd: '..',
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: 'target/site',
      DATABASE_URL: 'sqlite://target/e2e-release/billing-center.db',
      RUST_LOG: 'warn',
    },
  },
});
