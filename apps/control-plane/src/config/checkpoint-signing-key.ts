import { createPrivateKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function parse(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error(`${source} must be an Ed25519 private key in PEM (PKCS#8, as \`openssl genpkey -algorithm ed25519\` writes it)`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source} must be an Ed25519 private key, got ${key.asymmetricKeyType}`);
  return key;
}

/**
 * The checkpoint signing key: CHECKPOINT_SIGNING_KEY (the PEM itself), CHECKPOINT_SIGNING_KEY_FILE (a path to it), or
 * one generated once and kept beside the database as `checkpoint-key.pem` (mode 0600), as the JWT secret is. Replicas
 * on one PostgreSQL database should be given the same key: each signs while it leads. Errors name the variable.
 */
export function checkpointSigningKey(env: { CHECKPOINT_SIGNING_KEY?: string; CHECKPOINT_SIGNING_KEY_FILE?: string }, databasePath: string): KeyObject {
  const given = env.CHECKPOINT_SIGNING_KEY;
  const file = env.CHECKPOINT_SIGNING_KEY_FILE;
  if (given && file) throw new Error('CHECKPOINT_SIGNING_KEY and CHECKPOINT_SIGNING_KEY_FILE are exclusive: set one');
  if (given) return parse(given, 'CHECKPOINT_SIGNING_KEY');
  if (file) {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`CHECKPOINT_SIGNING_KEY_FILE cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (${file})`);
    }
    return parse(pem, 'CHECKPOINT_SIGNING_KEY_FILE');
  }
  const generated = join(dirname(databasePath), 'checkpoint-key.pem');
  if (existsSync(generated)) {
    if ((statSync(generated).mode & 0o077) !== 0) chmodSync(generated, 0o600);
    return parse(readFileSync(generated, 'utf8'), `the generated key ${generated} (set CHECKPOINT_SIGNING_KEY_FILE to use another)`);
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(generated, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  return privateKey;
}
