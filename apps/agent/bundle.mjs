#!/usr/bin/env node
// The agent as one self-contained file: apps/agent/src/main.ts bundled by esbuild with its runtime dependencies
// inlined, so a machine needs only Node.js >= 20. Writes <outdir>/meshgate-agent.js (mode 0755, with a shebang)
// and meshgate-agent.js.sha256 (sha256sum's format). The version is the package's, plus `git describe` when the
// sources are a git checkout: 0.1.0+333e7d9-dirty.
//
//   node apps/agent/bundle.mjs [--outdir DIR]        (npm run build:agent: dist/agent)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(root, 'dist/agent') } } });
const outfile = join(resolve(values.outdir), 'meshgate-agent.js');

function gitDescribe() {
  try {
    return execFileSync('git', ['describe', '--tags', '--always', '--dirty'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString().trim().replace(/[^0-9A-Za-z.-]/g, '-');
  } catch {
    return null; // not a checkout, or no git: the package version alone
  }
}

const { version: packageVersion } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const described = gitDescribe();
const version = described ? `${packageVersion}+${described}` : packageVersion;

await build({
  entryPoints: [join(root, 'apps/agent/src/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The repository's paths map @meshgate/* to their sources, and turn on the decorators the contracts use.
  tsconfig: join(root, 'tsconfig.json'),
  define: { MESHGATE_AGENT_VERSION: JSON.stringify(version) },
  legalComments: 'eof',
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
const bundle = readFileSync(outfile);
const sha256 = createHash('sha256').update(bundle).digest('hex');
writeFileSync(`${outfile}.sha256`, `${sha256}  meshgate-agent.js\n`);
process.stdout.write(`built ${outfile}: meshgate-agent ${version}, ${bundle.length} bytes, sha256 ${sha256}\n`);
