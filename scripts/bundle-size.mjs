// Prints the size of the site's WASM + JS bundle, raw and brotli-compressed (what a browser
// downloads): `node scripts/bundle-size.mjs [target/site/pkg]`. scripts/site.sh --release runs it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'target/site/pkg';
let raw = 0;
let brotli = 0;
for (const name of readdirSync(dir).filter((n) => n.endsWith('.wasm') || n.endsWith('.js')).sort()) {
  const bytes = readFileSync(join(dir, name));
  const compressed = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  raw += bytes.length;
  brotli += compressed;
  console.log(`${name.padEnd(28)} ${String(bytes.length).padStart(9)} B raw ${String(compressed).padStart(8)} B brotli`);
}
const budget = 250 * 1024;
console.log(`bundle (WASM + JS): ${raw} B raw, ${brotli} B brotli (${(brotli / 1024).toFixed(1)} KiB; budget 250 KiB: ${brotli <= budget ? 'within' : 'OVER'})`);
