// Builds the web console: one bundled, minified script and one stylesheet under <outdir>/assets, and index.html.
// Usage: node apps/console/build.mjs [outdir]   (default dist/apps/console). No CDN, nothing fetched at run time.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, '../../dist/apps/console'));
const started = Date.now();

rmSync(outdir, { recursive: true, force: true });
mkdirSync(join(outdir, 'assets'), { recursive: true });
await build({
  entryPoints: [join(here, 'src/main.ts'), join(here, 'src/styles.css')],
  entryNames: '[name]',
  outdir: join(outdir, 'assets'),
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  target: ['es2022'],
  // Wire types come from libs/contracts as `import type` only: nothing of it (class-validator) reaches the bundle.
  tsconfig: join(here, 'tsconfig.json'),
  logLevel: 'warning',
});
copyFileSync(join(here, 'src/index.html'), join(outdir, 'index.html'));
process.stdout.write(`console built into ${outdir} in ${Date.now() - started} ms\n`);
