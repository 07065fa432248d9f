import { test, expect } from '@playwright/test';

// Many people at once: every signed-in render of a page is the same page. Leptos 0.8 writes a
// page's lazy-route preload links and its title after the stream, outside the request's reactive
// owner; under concurrent requests the links of other requests landed in a response (hundreds of
// them) and the title's language signal was read from another request's arena (a panic, the
// connection dropped). The release build is where the split bundle's manifest makes those links.
test('concurrent renders of a signed-in page are each the whole page and nothing else', async ({ request }) => {
  const signedIn = await request.post('/api/v1/session', {
    data: { login: 'demo', password: 'billing-center-demo' },
  });
  expect(signedIn.status()).toBe(200);
  for (const path of ['/', '/wallet', '/bills']) {
    const pages = await Promise.all(
      Array.from({ length: 48 }, async () => {
        const response = await request.get(path);
        return { status: response.status(), body: await response.text() };
      }),
    );
    // The per-request nonce has the same length in every response, so the same page is the same
    // number of characters.
    const lengths = new Set(pages.map((p) => p.body.length));
    expect(pages.map((p) => p.status)).toEqual(pages.map(() => 200));
    expect([...lengths], `${path}: one length for every render`).toHaveLength(1);
    for (const { body } of pages) {
      expect(body).toContain('</html>');
      expect(body).toMatch(/<title>[^<]+ · Billing Center<\/title>/);
      const preloads = body.match(/<link[^>]*\.wasm"[^>]*>/g) ?? [];
      expect(new Set(preloads).size, `${path}: no preload link twice`).toBe(preloads.length);
    }
  }
});
