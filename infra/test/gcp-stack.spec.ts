import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
import { DataGoogleComputeImage } from '@cdktf/provider-google/lib/data-google-compute-image';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { agentCloudInit } from '../src/shared/cloud-init';
import { file, parseCloudConfig, resources, synthStack, Synthesized } from './helpers';

const SECRET = 'mgk_live_gcpQ93TESTSECRET_0007';
const URL = 'https://cp.mesh.example.com';

describe('gcp stack', () => {
  let defaults: Synthesized;
  let configured: Synthesized;

  beforeAll(() => {
    defaults = synthStack('gcp');
    configured = synthStack('gcp', {
      gcp_project: 'mesh-prod-123',
      gcp_region: 'europe-west1',
      gcp_zone: 'europe-west1-c',
      gcp_machine_type: 'e2-small',
      gcp_node_count: '2',
      control_plane_url: URL,
      tenant_id: 'acme',
      enrollment_key: SECRET,
      meshgate_repo_url: 'https://git.example.com/meshgate/meshgate.git',
      ssh_allowed_cidrs: '203.0.113.0/24',
      api_allowed_cidrs: '192.0.2.0/24',
    });
  });

  const firewalls = (s: Synthesized) => Object.values(resources(s.json, 'google_compute_firewall'));
  const instances = (s: Synthesized) => resources(s.json, 'google_compute_instance');
  const userData = (s: Synthesized, name = 'agent-0') => parseCloudConfig(instances(s)[name].metadata['user-data']);

  it('opens exactly UDP 51820 to the world and nothing else by default', () => {
    expect(firewalls(defaults)).toHaveLength(1);
    expect(firewalls(defaults)[0]).toMatchObject({
      direction: 'INGRESS',
      source_ranges: ['0.0.0.0/0'],
      allow: [{ protocol: 'udp', ports: ['51820'] }],
      target_tags: ['meshgate-agent'],
    });
    expect(defaults.text).toHaveResourceWithProperties(ComputeFirewall, { name: 'meshgate-agents-allow-wireguard' });
  });

  it('adds SSH from the configured CIDRs with the same rule set as AWS, and no API port on agents', () => {
    const byName = Object.fromEntries(firewalls(configured).map((rule) => [rule.name, rule]));
    expect(Object.keys(byName).sort()).toEqual(['meshgate-agents-allow-ssh', 'meshgate-agents-allow-wireguard']);
    expect(byName['meshgate-agents-allow-ssh']).toMatchObject({ allow: [{ protocol: 'tcp', ports: ['22'] }], source_ranges: ['203.0.113.0/24'] });
    expect(byName['meshgate-agents-allow-wireguard']).toMatchObject({ allow: [{ protocol: 'udp', ports: ['51820'] }], source_ranges: ['0.0.0.0/0'] });
  });

  it('tags every instance with the tag the firewall rules target', () => {
    for (const instance of Object.values(instances(configured))) expect(instance.tags).toEqual(['meshgate-agent']);
  });

  it('has a custom-mode network and a subnetwork in the configured region', () => {
    expect(Object.values(resources(configured.json, 'google_compute_network'))[0]).toMatchObject({ auto_create_subnetworks: false });
    expect(Object.values(resources(configured.json, 'google_compute_subnetwork'))[0]).toMatchObject({
      region: 'europe-west1',
      ip_cidr_range: '10.41.1.0/24',
    });
  });

  it('uses the configured project, region and zone', () => {
    expect(configured.text).toHaveProviderWithProperties(GoogleProvider, { project: 'mesh-prod-123', region: 'europe-west1', zone: 'europe-west1-c' });
    expect(defaults.json.provider.google[0]).not.toHaveProperty('project');
  });

  it('boots Ubuntu 22.04 from the ubuntu-2204-lts family', () => {
    expect(defaults.text).toHaveDataSourceWithProperties(DataGoogleComputeImage, { family: 'ubuntu-2204-lts', project: 'ubuntu-os-cloud' });
    for (const instance of Object.values(instances(configured))) {
      expect(instance.boot_disk.initialize_params.image).toBe('${data.google_compute_image.ubuntu-jammy.self_link}');
      expect(instance).toMatchObject({ machine_type: 'e2-small', zone: 'europe-west1-c' });
      expect(instance.network_interface[0].access_config).toEqual([{}]);
    }
  });

  it('follows the configured count', () => {
    expect(Object.keys(instances(defaults))).toEqual(['agent-0']);
    expect(Object.values(instances(configured)).map((i) => i.name)).toEqual(['meshgate-gcp-0', 'meshgate-gcp-1']);
    expect(Object.keys(instances(synthStack('gcp', { gcp_node_count: '5' })))).toHaveLength(5);
  });

  it('uses the shared agent cloud-init, with GCP metadata for the endpoint', () => {
    const config = userData(configured, 'agent-1');
    expect(config.packages).toEqual(['curl', 'ca-certificates', 'gnupg']);
    const agentJson = JSON.parse(file(config, '/etc/meshgate/agent.json').content);
    expect(agentJson).toMatchObject({ control_plane_url: URL, tenant_id: 'acme', node_name: 'meshgate-gcp-1' });
    expect(file(config, '/etc/systemd/system/meshgate-agent.service.d/cloud-endpoint.conf').content).toContain('ExecStart=/usr/local/sbin/meshgate-agent-start');
    expect(file(config, '/usr/local/sbin/meshgate-agent-start').content).toContain("-H 'Metadata-Flavor: Google'");

    // Same builder as AWS: only the cloud and node name differ.
    const shared = agentCloudInit({
      cloud: 'gcp',
      nodeName: 'meshgate-gcp-1',
      controlPlaneUrl: URL,
      tenantId: 'acme',
      enrollmentKey: '${var.enrollment_key}',
      tags: [],
    });
    expect(parseCloudConfig(shared).write_files.map((f) => f.path)).toEqual(config.write_files.map((f) => f.path));
  });

  it('replaces an instance when its user data changes, not when the image does', () => {
    const instance = instances(configured)['agent-1'];
    expect(instance.lifecycle).toEqual({
      ignore_changes: ['boot_disk[0].initialize_params[0].image'],
      replace_triggered_by: ['terraform_data.agent-1-user-data'],
    });
    expect(resources(configured.json, 'terraform_data')['agent-1-user-data'].input).toEqual({ user_data: instance.metadata['user-data'] });
  });

  it('never puts the enrollment key in the synthesized JSON', () => {
    expect(configured.text).not.toContain(SECRET);
    expect(configured.json.variable.enrollment_key.sensitive).toBe(true);
    expect(file(userData(configured), '/etc/meshgate/enrollment-key').content).toBe('${base64encode(var.enrollment_key)}');
  });
});
