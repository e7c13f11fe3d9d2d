import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyIdOf } from '../audit/checkpoint-signature';
import { loadConfig } from './app-config';
import { checkpointSigningKey } from './checkpoint-signing-key';

describe('the checkpoint signing key', () => {
  let dir: string;
  let databasePath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-checkpoint-key-'));
    databasePath = join(dir, 'meshgate.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const pem = (type: 'ed25519' | 'x25519') => generateKeyPairSync(type as 'ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  it('is generated once beside the database, readable by its owner only, and read back on the next start', () => {
    const first = checkpointSigningKey({}, databasePath);
    const file = join(dir, 'checkpoint-key.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(keyIdOf(checkpointSigningKey({}, databasePath))).toBe(keyIdOf(first));
  });

  it('is taken from CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE, and nothing is written then', () => {
    const given = pem('ed25519');
    const file = join(dir, 'given.pem');
    writeFileSync(file, given);
    const fromEnv = checkpointSigningKey({ CHECKPOINT_SIGNING_KEY: given }, databasePath);
    expect(keyIdOf(checkpointSigningKey({ CHECKPOINT_SIGNING_KEY_FILE: file }, databasePath))).toBe(keyIdOf(fromEnv));
    expect(() => statSync(join(dir, 'checkpoint-key.pem'))).toThrow();
  });

  it('refuses at boot what is not one Ed25519 private key, naming the variable', () => {
    const base = { DATABASE_PATH: databasePath, JWT_SECRET: 'x'.repeat(40) };
    expect(() => loadConfig({ ...base, CHECKPOINT_SIGNING_KEY: 'not a key' })).toThrow(/^CHECKPOINT_SIGNING_KEY must be an Ed25519 private key/);
    expect(() => loadConfig({ ...base, CHECKPOINT_SIGNING_KEY: pem('x25519') })).toThrow(/CHECKPOINT_SIGNING_KEY must be an Ed25519 private key, got x25519/);
    expect(() => loadConfig({ ...base, CHECKPOINT_SIGNING_KEY_FILE: join(dir, 'missing.pem') })).toThrow(/CHECKPOINT_SIGNING_KEY_FILE cannot be read: ENOENT/);
    expect(() => loadConfig({ ...base, CHECKPOINT_SIGNING_KEY: pem('ed25519'), CHECKPOINT_SIGNING_KEY_FILE: join(dir, 'k.pem') })).toThrow(/exclusive/);
    expect(() => loadConfig({ ...base, CHECKPOINT_EVERY_EVENTS: '5' })).toThrow(/CHECKPOINT_EVERY_EVENTS must be between 10 and/);
    expect(() => loadConfig({ ...base, CHECKPOINT_EVERY_MINUTES: '0' })).toThrow(/CHECKPOINT_EVERY_MINUTES must be between 1 and/);
    expect(loadConfig({ ...base, CHECKPOINT_EVERY_EVENTS: '50', CHECKPOINT_EVERY_MINUTES: '5' })).toMatchObject({ checkpointEveryEvents: 50, checkpointEveryMinutes: 5 });
  });
});
