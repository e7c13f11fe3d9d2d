// Where each stack keeps its Terraform state: local files by default, or one S3 / GCS bucket shared by all stacks
// with a key per stack.
import { GcsBackend, LocalBackend, S3Backend, TerraformStack } from 'cdktf';
import type { InfraConfig } from './config';

export function configureBackend(stack: TerraformStack, stackName: string, config: InfraConfig): void {
  switch (config.stateBackend) {
    case 'local':
      // Relative to the stack's working directory (cdktf.out/stacks/<name>): keep state at the project root,
      // out of the synth output, which is regenerated.
      new LocalBackend(stack, { path: `../../../terraform.${stackName}.tfstate` });
      return;
    case 's3': {
      const backend = new S3Backend(stack, {
        bucket: requireBucket(config),
        key: `${config.statePrefix}/${stackName}.tfstate`,
        region: config.stateRegion ?? config.awsRegion,
        encrypt: true,
      });
      // S3-native state locking (Terraform >= 1.10); the cdktf 0.21 binding predates the option.
      backend.addOverride('use_lockfile', true);
      return;
    }
    case 'gcs':
      // GCS locks state natively.
      new GcsBackend(stack, { bucket: requireBucket(config), prefix: `${config.statePrefix}/${stackName}` });
      return;
    default: {
      const unknown: never = config.stateBackend;
      throw new Error(`unknown state backend ${String(unknown)}`);
    }
  }
}

function requireBucket(config: InfraConfig): string {
  // loadConfig() already enforces this; the check keeps the function honest when called with a hand-made config.
  if (!config.stateBucket) throw new Error(`state_bucket is required for the ${config.stateBackend} backend`);
  return config.stateBucket;
}
