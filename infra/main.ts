// Entry point for `cdktf synth|deploy`: settings from env / infra/config, three stacks, secrets beside them.
import { App } from 'cdktf';
import { buildStacks } from './src/app';
import { loadConfig } from './src/config';
import { writeSecretVarFiles } from './src/secrets';

const config = loadConfig();
const app = new App();
const stacks = buildStacks(app, config);
app.synth();
writeSecretVarFiles(app.outdir, Object.values(stacks), config.secrets);
