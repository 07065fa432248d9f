// What a browser downloads of the site's code, and the precompressed copies the server sends:
// `node scripts/bundle-size.mjs [target/site/pkg]` (scripts/site.sh --release runs it).
//
// Every page is a lazy route, so the bundle is split (scripts/site.sh): a page's first load is the
// main module and its JS, the split loader, and the modules of that page (its own and the chunks it
// shares with others), as listed in __wasm_split_manifest.json. This prints each module, each
// page's first load, and the largest of them and the whole app against the budget (250 KiB
// brotli, issue 13). It also writes NAME.br beside every .wasm, .js and .css file (brotli quality 11),
// which the server sends to browsers that accept brotli.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'target/site/pkg';
const main = 'billing-center';
const loader = '__wasm_split.______________________.js';
const budget = 250 * 1024;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

const sizes = new Map();
for (const name of readdirSync(dir).filter((n) => /\.(wasm|js|css)$/.test(n)).sort()) {
  const bytes = readFileSync(join(dir, name));
  const compressed = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(join(dir, `${name}.br`), compressed);
  sizes.set(name, { raw: bytes.length, brotli: compressed.length });
}

const code = [...sizes].filter(([name]) => !name.endsWith('.css'));
for (const [name, { raw, brotli }] of code.filter(([, s]) => s.brotli >= 4096)) {
  console.log(`${name.padEnd(58)} ${String(raw).padStart(9)} B raw ${String(brotli).padStart(8)} B brotli`);
}
const small = code.filter(([, s]) => s.brotli < 4096);
if (small.length > 0) {
  const total = small.reduce((sum, [, s]) => sum + s.brotli, 0);
  console.log(`${`(${small.length} modules under 4 KiB each)`.padEnd(58)} ${''.padStart(15)} ${String(total).padStart(8)} B brotli`);
}

const brotliOf = (file) => {
  const size = sizes.get(file);
  if (!size) throw new Error(`${file} is missing from ${dir}`);
  return size.brotli;
};
const always = [`${main}.js`, `${main}_bg.wasm`, loader];
const base = always.reduce((sum, file) => sum + brotliOf(file), 0);
const manifest = JSON.parse(readFileSync(join(dir, '__wasm_split_manifest.json'), 'utf8'));
// "__wallet_route_view_<hash>" -> "wallet": the route types of app/src/routes.rs.
const pageOf = (split) => split.replace(/^_+/, '').replace(/_route_view_\d+$/, '');
const pages = Object.entries(manifest)
  .filter(([split]) => /_route_view_\d+$/.test(split))
  .map(([split, modules]) => {
    const own = modules.reduce((sum, stem) => sum + brotliOf(`${stem}.wasm`), 0);
    return { page: pageOf(split), own, total: base + own };
  })
  .sort((a, b) => b.total - a.total);

console.log(`\nfirst load of a page, brotli (main module + JS + loader = ${kib(base)}, then the page's own modules):`);
for (const { page, own, total } of pages) {
  console.log(`  ${page.padEnd(14)} ${kib(total).padStart(10)}  (+${kib(own)})`);
}
const whole = code.reduce((sum, [, s]) => sum + s.brotli, 0);
const largest = pages[0]?.total ?? base;
// Issue 13's budget, read both ways: what one page costs on its first load, and the whole app.
const verdict = (bytes) => (bytes <= budget ? 'within' : 'OVER');
console.log(
  `budget 250 KiB brotli: largest first load ${largest} B (${kib(largest)}, ${verdict(largest)}); ` +
    `whole app, every module ${whole} B (${kib(whole)}, ${verdict(whole)})`,
);
