import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Testing } from 'cdktf';
import { buildStacks } from '../src/app';
import { SECRET_VARS_FILE, writeSecretVarFiles } from '../src/secrets';
import { danglingReferences, synthStack, testConfig, TerraformJson } from './helpers';

const ENROLLMENT_KEY = 'mgk_FULLSYNTH_TESTSECRET_5521';
const JWT = 'jwt_FULLSYNTH_TESTSECRET_9910_a81b3c44';
const STACKS = ['aws', 'gcp', 'control-plane'];

describe('the app (full synth)', () => {
  let outdir: string;
  const stackJson = (name: string): TerraformJson => JSON.parse(readFileSync(join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8'));

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'meshgate-infra-synth-'));
    const config = testConfig({ enrollment_key: ENROLLMENT_KEY, jwt_secret: JWT });
    const app = new App({ outdir, stackTraces: false });
    const stacks = buildStacks(app, config);
    app.synth();
    writeSecretVarFiles(outdir, Object.values(stacks), config.secrets);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('writes the three stacks, each a parseable cdk.tf.json', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stacks).sort()).toEqual([...STACKS].sort());
    for (const name of STACKS) {
      const json = stackJson(name);
      expect(Object.keys(json.terraform.required_providers)).toEqual([name === 'gcp' ? 'google' : 'aws']);
      expect(json.terraform.backend).toEqual({ local: { path: `../../../terraform.${name}.tfstate` } });
    }
  });

  it('has no stack depending on another, so `cdktf deploy aws gcp` needs no control-plane run', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    for (const name of STACKS) expect(manifest.stacks[name].dependencies).toEqual([]);
  });

  it('refers only to resources, data sources and variables declared in the same stack', () => {
    // The check itself catches a dangling reference.
    expect(danglingReferences({ resource: { aws_vpc: { main: { cidr_block: '${var.cidr}', tags: { a: '${aws_eip.gone.id}' } } } } })).toEqual([
      'var.cidr',
      'aws_eip.gone',
    ]);
    for (const name of STACKS) expect(danglingReferences(stackJson(name))).toEqual([]);
  });

  it('keeps every secret out of the synthesized output and hands it to Terraform in a root-only tfvars file', () => {
    const synthesized = STACKS.map((name) => readFileSync(join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8')).join('\n');
    expect(synthesized).not.toContain(ENROLLMENT_KEY);
    expect(synthesized).not.toContain(JWT);
    // Base64 of the env line would be just as bad.
    expect(synthesized).not.toContain(Buffer.from(`MESHGATE_AUTH_TOKEN=${ENROLLMENT_KEY}`).toString('base64').slice(0, 24));

    const vars = (name: string) => join(outdir, 'stacks', name, SECRET_VARS_FILE);
    expect(JSON.parse(readFileSync(vars('aws'), 'utf8'))).toEqual({ enrollment_key: ENROLLMENT_KEY });
    expect(JSON.parse(readFileSync(vars('gcp'), 'utf8'))).toEqual({ enrollment_key: ENROLLMENT_KEY });
    expect(JSON.parse(readFileSync(vars('control-plane'), 'utf8'))).toEqual({ jwt_secret: JWT });
    for (const name of STACKS) expect(statSync(vars(name)).mode & 0o777).toBe(0o600);
  });

  it('removes a secrets file once the secret is no longer configured', () => {
    const app = new App({ outdir, stackTraces: false });
    const stacks = buildStacks(app, testConfig());
    app.synth();
    writeSecretVarFiles(outdir, Object.values(stacks), {});
    for (const name of STACKS) expect(existsSync(join(outdir, 'stacks', name, SECRET_VARS_FILE))).toBe(false);
  });

  it('succeeds through Testing.fullSynth as well', () => {
    const dir = Testing.fullSynth(buildStacks(Testing.app(), testConfig()).aws);
    try {
      expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
      expect(existsSync(join(dir, 'stacks', 'aws', 'cdk.tf.json'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs main.ts the way `cdktf synth` does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-infra-main-'));
    try {
      execFileSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', 'main.ts'], {
        cwd: join(__dirname, '..'),
        env: { PATH: process.env.PATH, CDKTF_OUTDIR: dir, MESHGATE_CONFIG_FILE: '/nonexistent', MESHGATE_ENROLLMENT_KEY: ENROLLMENT_KEY },
        stdio: 'pipe',
      });
      expect(readFileSync(join(dir, 'stacks', 'aws', 'cdk.tf.json'), 'utf8')).not.toContain(ENROLLMENT_KEY);
      expect(JSON.parse(readFileSync(join(dir, 'stacks', 'aws', SECRET_VARS_FILE), 'utf8'))).toEqual({ enrollment_key: ENROLLMENT_KEY });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails synth naming the bad setting', () => {
    let stderr = '';
    try {
      execFileSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', 'main.ts'], {
        cwd: join(__dirname, '..'),
        env: { PATH: process.env.PATH, CDKTF_OUTDIR: join(tmpdir(), 'meshgate-never'), MESHGATE_CONFIG_FILE: '/nonexistent', MESHGATE_AWS_NODE_COUNT: 'many' },
        stdio: 'pipe',
      });
    } catch (err) {
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(stderr).toContain('invalid setting aws_node_count');
  });
});

describe('state backend', () => {
  it('is S3 with a key per stack and native locking when selected', () => {
    const { json } = synthStack('aws', { state_backend: 's3', state_bucket: 'mesh-state', state_prefix: 'prod' });
    expect(json.terraform.backend).toEqual({
      s3: { bucket: 'mesh-state', key: 'prod/aws.tfstate', region: 'us-east-1', encrypt: true, use_lockfile: true },
    });
  });

  it('is GCS with a prefix per stack when selected', () => {
    const { json } = synthStack('controlPlane', { state_backend: 'gcs', state_bucket: 'mesh-state' });
    expect(json.terraform.backend).toEqual({ gcs: { bucket: 'mesh-state', prefix: 'meshgate/control-plane' } });
  });
});
