import type { App } from 'cdktf';
import type { InfraConfig } from './config';
import { AwsAgentsStack } from './stacks/aws-stack';
import { ControlPlaneStack } from './stacks/control-plane-stack';
import { GcpAgentsStack } from './stacks/gcp-stack';

export const STACK_NAMES = { aws: 'aws', gcp: 'gcp', controlPlane: 'control-plane' } as const;

/** The three stacks; they share no Terraform state, so each deploys on its own (`cdktf deploy aws gcp`). */
export function buildStacks(app: App, config: InfraConfig) {
  return {
    aws: new AwsAgentsStack(app, STACK_NAMES.aws, config),
    gcp: new GcpAgentsStack(app, STACK_NAMES.gcp, config),
    controlPlane: new ControlPlaneStack(app, STACK_NAMES.controlPlane, config),
  };
}
