import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The release, from the repository's package.json (src/config and dist/apps/control-plane/config are as deep). */
export const VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
