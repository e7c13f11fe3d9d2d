// Agents on Compute Engine: the same rule set and cloud-init as on AWS, Ubuntu 22.04 from ubuntu-os-cloud.
import { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance';
import { DataGoogleComputeImage } from '@cdktf/provider-google/lib/data-google-compute-image';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { DataResource, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { configureBackend } from '../backend';
import type { InfraConfig } from '../config';
import { GcpNetwork } from '../gcp/network';
import { agentCloudInit } from '../shared/cloud-init';
import { ingressRules } from '../shared/firewall-rules';
import { agentInputs, nodeName } from './agent-inputs';

/** `type.name`, the bare form Terraform wants in lifecycle arguments (cdktf would render `${type.name}`). */
function bareReference(resource: DataResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}

export const UBUNTU_IMAGE = { family: 'ubuntu-2204-lts', project: 'ubuntu-os-cloud' };

export class GcpAgentsStack extends TerraformStack {
  readonly instances: ComputeInstance[] = [];

  constructor(scope: Construct, id: string, config: InfraConfig) {
    super(scope, id);
    configureBackend(this, id, config);
    // Without gcp_project the provider takes the project from GOOGLE_PROJECT / gcloud at deploy time.
    new GoogleProvider(this, 'google', {
      project: config.gcpProject,
      region: config.gcpRegion,
      zone: config.gcpZone,
      defaultLabels: { project: config.namePrefix, component: 'agent', managed_by: 'cdktf' },
    });

    const targetTag = `${config.namePrefix}-agent`;
    const network = new GcpNetwork(this, 'network', {
      name: `${config.namePrefix}-agents`,
      region: config.gcpRegion,
      subnetCidr: '10.41.1.0/24',
      targetTag,
      ingress: ingressRules(config, 'agent'),
    });
    const image = new DataGoogleComputeImage(this, 'ubuntu-jammy', UBUNTU_IMAGE);
    const inputs = agentInputs(this, config);

    for (let index = 0; index < config.gcpNodeCount; index++) {
      const name = nodeName(config, 'gcp', index);
      const userData = agentCloudInit({ ...inputs, cloud: 'gcp', nodeName: name });
      // GCP updates metadata in place and cloud-init runs once per instance, so a changed user data would never be
      // applied: replace the instance instead, as user_data_replace_on_change does on AWS.
      const userDataVersion = new DataResource(this, `agent-${index}-user-data`, { input: { user_data: userData } });
      this.instances.push(
        new ComputeInstance(this, `agent-${index}`, {
          name,
          machineType: config.gcpMachineType,
          zone: config.gcpZone,
          tags: [targetTag],
          bootDisk: { initializeParams: { image: image.selfLink, size: 16, type: 'pd-balanced' } },
          networkInterface: [{ subnetwork: network.subnetwork.id, accessConfig: [{}] }],
          // Ubuntu's cloud-init reads the `user-data` metadata key on GCE.
          metadata: { 'user-data': userData },
          shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
          allowStoppingForUpdate: true,
          // A newer image alone must not replace running nodes; they patch themselves with unattended-upgrades.
          lifecycle: { ignoreChanges: ['boot_disk[0].initialize_params[0].image'], replaceTriggeredBy: [bareReference(userDataVersion)] },
        }),
      );
    }

    new TerraformOutput(this, 'agent_public_ips', {
      description: 'Public IPv4 addresses of the GCP agents (their WireGuard endpoints)',
      value: this.instances.map((instance) => instance.networkInterface.get(0).accessConfig.get(0).natIp),
    });
  }
}
