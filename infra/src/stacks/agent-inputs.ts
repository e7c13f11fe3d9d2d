// The inputs every agent needs, whichever cloud it runs in: literal where configured, Terraform variables otherwise.
import type { Construct } from 'constructs';
import type { InfraConfig } from '../config';
import type { AgentCloudInitOptions, Cloud } from '../shared/cloud-init';
import { secretVariable, settingOrVariable } from '../variables';

export type AgentInputs = Omit<AgentCloudInitOptions, 'cloud' | 'nodeName'>;

export function agentInputs(scope: Construct, config: InfraConfig): AgentInputs {
  return {
    controlPlaneUrl: settingOrVariable(scope, 'control_plane_url', config.controlPlaneUrl, 'URL agents use to reach the control plane'),
    tenantId: settingOrVariable(scope, 'tenant_id', config.tenantId, 'MeshGate tenant the agents join'),
    tags: config.agentTags,
    enrollmentKey: secretVariable(scope, 'enrollment_key', 'Enrollment (pre-auth) key the agents register with').stringValue,
  };
}

export function repoUrl(scope: Construct, config: InfraConfig): string {
  return settingOrVariable(scope, 'meshgate_repo_url', config.meshgateRepoUrl, 'Git URL of the MeshGate repository to build');
}

export function nodeName(config: InfraConfig, cloud: Cloud, index: number): string {
  return `${config.namePrefix}-${cloud}-${index}`;
}
