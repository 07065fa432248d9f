// Prints Playwright's totals as one plain line ("e2e: N passed, N failed") for CI's log reader.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let stats;
try {
  stats = JSON.parse(readFileSync(file, 'utf8')).stats;
} catch (e) {
  console.log(`e2e: 0 passed, 1 failed`);
  console.error(`no Playwright results at ${file}: ${e.message}`);
  process.exit(0);
}
const passed = stats.expected + stats.flaky;
console.log(`e2e: ${passed} passed, ${stats.unexpected} failed` + (stats.skipped ? `, ${stats.skipped} skipped` : ''));
