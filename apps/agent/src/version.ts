import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Set by the bundle build (apps/agent/bundle.mjs): the package version and `git describe`. */
declare const MESHGATE_AGENT_VERSION: string | undefined;

/** An unbundled run (dist/apps/agent or the sources, both three levels below the root) reads the root package. */
function unbundledVersion(): string {
  try {
    return `${JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')).version}-dev`;
  } catch {
    return 'dev';
  }
}

export const AGENT_VERSION: string = typeof MESHGATE_AGENT_VERSION === 'string' ? MESHGATE_AGENT_VERSION : unbundledVersion();
