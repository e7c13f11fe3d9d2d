// Entry point for `cdktf synth|deploy`: settings from env / infra/config, three stacks, secrets beside them.
import { App } from 'cdktf';
import { buildStacks } from './src/app';
import { ConfigError, loadConfig } from './src/config';
import { writeSecretVarFiles } from './src/secrets';

function main(): void {
  const config = loadConfig();
  const app = new App();
  const stacks = buildStacks(app, config);
  app.synth();
  writeSecretVarFiles(app.outdir, Object.values(stacks), config.secrets);
}

try {
  main();
} catch (err) {
  // A bad setting is the user's to fix: say which, without a stack trace.
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
