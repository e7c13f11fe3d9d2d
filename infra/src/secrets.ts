// Hands secrets found in the config/env to Terraform without putting them in cdk.tf.json: each stack that declares
// a sensitive variable gets `secrets.auto.tfvars.json` (mode 0600) in its working directory, which Terraform loads
// automatically when cdktf runs plan/apply there. Without configured secrets the file is removed, so a stale value
// never outlives its removal from the config.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerraformStack, TerraformVariable } from 'cdktf';
import type { Secrets } from './config';

export const SECRET_VARS_FILE = 'secrets.auto.tfvars.json';

/** Stack output dirs follow cdktf's layout: <outdir>/stacks/<stack name>. */
export function writeSecretVarFiles(outdir: string, stacks: TerraformStack[], secrets: Secrets): void {
  for (const stack of stacks) {
    const values: Record<string, string> = {};
    for (const construct of stack.node.findAll()) {
      if (!(construct instanceof TerraformVariable) || !construct.sensitive) continue;
      const name = construct.friendlyUniqueId as keyof Secrets;
      const value = secrets[name];
      if (value !== undefined) values[name] = value;
    }
    const file = join(outdir, 'stacks', stack.node.id, SECRET_VARS_FILE);
    if (Object.keys(values).length > 0) {
      writeFileSync(file, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
    } else if (existsSync(file)) {
      rmSync(file);
    }
  }
}
