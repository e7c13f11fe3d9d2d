import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { file, only, parseCloudConfig, resources, synthStack, Synthesized } from './helpers';

const SECRET = 'mgk_live_Zx81KqTESTSECRET_4471';
const URL = 'https://cp.mesh.example.com:8443';

describe('aws stack', () => {
  let defaults: Synthesized;
  let configured: Synthesized;

  beforeAll(() => {
    defaults = synthStack('aws');
    configured = synthStack('aws', {
      control_plane_url: URL,
      tenant_id: 'acme',
      enrollment_key: SECRET,
      meshgate_repo_url: 'https://git.example.com/meshgate/meshgate.git',
      meshgate_version: 'v1.4.2',
      agent_tags: 'web,eu',
      ssh_allowed_cidrs: '203.0.113.0/24,198.51.100.7/32',
      api_allowed_cidrs: '192.0.2.0/24',
      aws_node_count: '3',
      aws_key_name: 'ops',
    });
  });

  describe('security group', () => {
    it('opens exactly UDP 51820 to the world and nothing else by default', () => {
      const ingress = Object.values(resources(defaults.json, 'aws_vpc_security_group_ingress_rule'));
      expect(ingress).toHaveLength(1);
      expect(ingress[0]).toMatchObject({ ip_protocol: 'udp', from_port: 51820, to_port: 51820, cidr_ipv4: '0.0.0.0/0' });
      expect(defaults.text).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, {
        ip_protocol: 'udp',
        from_port: 51820,
        cidr_ipv4: '0.0.0.0/0',
      });
      // Inline rules would bypass the count above.
      expect(only(defaults.json, 'aws_security_group')).not.toHaveProperty('ingress');
    });

    it('allows all egress (packages, peers, the control plane)', () => {
      expect(only(defaults.json, 'aws_vpc_security_group_egress_rule')).toMatchObject({ ip_protocol: '-1', cidr_ipv4: '0.0.0.0/0' });
    });

    it('adds SSH only from the configured CIDRs, and no API port on agents', () => {
      const ingress = Object.values(resources(configured.json, 'aws_vpc_security_group_ingress_rule'));
      const ssh = ingress.filter((rule) => rule.from_port === 22);
      expect(ssh.map((rule) => rule.cidr_ipv4).sort()).toEqual(['198.51.100.7/32', '203.0.113.0/24']);
      expect(ssh.every((rule) => rule.ip_protocol === 'tcp' && rule.to_port === 22)).toBe(true);
      expect(ingress.filter((rule) => rule.from_port === 8080)).toEqual([]);
      expect(ingress.filter((rule) => rule.cidr_ipv4 === '0.0.0.0/0').map((rule) => rule.from_port)).toEqual([51820]);
    });

    it('attaches every rule to the stack security group', () => {
      for (const rule of Object.values(resources(configured.json, 'aws_vpc_security_group_ingress_rule'))) {
        expect(rule.security_group_id).toMatch(/^\$\{aws_security_group\.[^.]+\.id\}$/);
      }
    });
  });

  describe('network', () => {
    it('has a VPC, a public subnet routed to an internet gateway', () => {
      const vpc = only(defaults.json, 'aws_vpc');
      expect(vpc.cidr_block).toBe('10.40.0.0/16');
      const subnet = only(defaults.json, 'aws_subnet');
      expect(subnet).toMatchObject({ availability_zone: 'us-east-1a', map_public_ip_on_launch: true });
      const routes = only(defaults.json, 'aws_route_table');
      expect(routes.route).toEqual([expect.objectContaining({ cidr_block: '0.0.0.0/0', gateway_id: expect.stringMatching(/aws_internet_gateway/) })]);
      expect(only(defaults.json, 'aws_route_table_association').subnet_id).toMatch(/aws_subnet/);
    });
  });

  describe('instances', () => {
    it('use Ubuntu 22.04 amd64 from Canonical', () => {
      expect(defaults.text).toHaveDataSourceWithProperties(DataAwsAmi, { most_recent: true, owners: ['099720109477'] });
      const ami = defaults.json.data.aws_ami['ubuntu-jammy'];
      const nameFilter = ami.filter.find((f: { name: string }) => f.name === 'name');
      expect(nameFilter.values).toEqual(['ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*']);
      for (const instance of Object.values(resources(configured.json, 'aws_instance'))) {
        expect(instance.ami).toBe('${data.aws_ami.ubuntu-jammy.id}');
      }
    });

    it('follow the configured count', () => {
      expect(Object.keys(resources(defaults.json, 'aws_instance'))).toEqual(['agent-0']);
      expect(Object.keys(resources(configured.json, 'aws_instance')).sort()).toEqual(['agent-0', 'agent-1', 'agent-2']);
      expect(configured.json.output.agent_public_ips.value).toHaveLength(3);
      expect(resources(synthStack('aws', { aws_node_count: '0' }).json, 'aws_instance')).toEqual({});
    });

    it('use the configured type and key, require IMDSv2 and are replaced when their user data changes', () => {
      expect(configured.text).toHaveResourceWithProperties(Instance, {
        instance_type: 't3.micro',
        key_name: 'ops',
        associate_public_ip_address: true,
        user_data_replace_on_change: true,
        metadata_options: { http_endpoint: 'enabled', http_tokens: 'required' },
        tags: { Name: 'meshgate-aws-2' },
      });
    });
  });

  describe('cloud-init', () => {
    it('installs only Node.js 20 and curl itself: no git, no build tools, no swap', () => {
      const config = userData(configured);
      expect(config.packages).toEqual(['curl', 'ca-certificates', 'gnupg']);
      expect(config).not.toHaveProperty('swap');
      const join = file(config, '/usr/local/sbin/meshgate-join').content;
      expect(join).toContain('https://deb.nodesource.com/node_20.x');
      expect(join).toContain('apt-get install -y nodejs');
      expect(join).not.toMatch(/git |npm /);
      expect(config.runcmd).toEqual([['/usr/local/sbin/meshgate-join']]);
    });

    it("joins with the control plane's install.sh, the enrollment key read from a root-only file", () => {
      const join = file(userData(configured), '/usr/local/sbin/meshgate-join').content;
      expect(join).toContain(`url='${URL}'`);
      expect(join).toContain('curl -fsSL -o /run/meshgate-install.sh "$url/install.sh"');
      expect(join).toContain('MESHGATE_WAIT_SECONDS=600 sh /run/meshgate-install.sh --auth-key file:/etc/meshgate/enrollment-key');
      expect(join).toContain('rm -f /run/meshgate-install.sh /etc/meshgate/enrollment-key');
    });

    it('writes the agent config with the configured control plane URL', () => {
      const config = userData(configured, 1);
      const agentJson = file(config, '/etc/meshgate/agent.json');
      expect(agentJson.permissions).toBe('0600');
      expect(JSON.parse(agentJson.content)).toEqual({
        control_plane_url: URL,
        tenant_id: 'acme',
        node_name: 'meshgate-aws-1',
        interface_name: 'mg0',
        listen_port: 51820,
        heartbeat_interval: 30,
        tags: ['web', 'eu'],
        state_dir: '/var/lib/meshgate',
      });
    });

    it("runs the installed agent's unit through a start script that publishes its public IP as endpoint", () => {
      const config = userData(configured);
      expect(file(config, '/etc/systemd/system/meshgate-agent.service.d/cloud-endpoint.conf').content)
        .toBe('[Service]\nExecStart=\nExecStart=/usr/local/sbin/meshgate-agent-start\n');
      const start = file(config, '/usr/local/sbin/meshgate-agent-start').content;
      expect(start).toContain('exec /usr/bin/node /usr/lib/meshgate/meshgate-agent.js --config /etc/meshgate/agent.json');
      expect(start).toContain('http://169.254.169.254/latest/meta-data/public-ipv4');
      expect(start).toContain('export MESHGATE_ENDPOINT="$ip:51820"');
    });

    it('makes unconfigured inputs required Terraform variables', () => {
      const agentJson = JSON.parse(file(userData(defaults), '/etc/meshgate/agent.json').content);
      expect(agentJson.control_plane_url).toBe('${var.control_plane_url}');
      expect(agentJson.tenant_id).toBe('${var.tenant_id}');
      for (const name of ['control_plane_url', 'tenant_id']) {
        expect(defaults.json.variable[name]).toMatchObject({ type: 'string', nullable: false });
        expect(defaults.json.variable[name]).not.toHaveProperty('default');
        expect(defaults.json.variable[name].validation[0].condition).toContain(`var.${name}`);
      }
      expect(configured.json.variable).not.toHaveProperty('control_plane_url');
      // Agents download the control plane's build: they need no repository.
      expect(defaults.json.variable).not.toHaveProperty('meshgate_repo_url');
    });
  });

  describe('secrets', () => {
    it('never puts the enrollment key in the synthesized JSON', () => {
      expect(configured.text).not.toContain(SECRET);
      expect(JSON.stringify(configured.json)).not.toContain(SECRET);
    });

    it('passes it as a sensitive variable into a root-only file', () => {
      expect(configured.json.variable.enrollment_key).toMatchObject({ sensitive: true, type: 'string' });
      expect(configured.json.variable.enrollment_key).not.toHaveProperty('default');
      const key = file(userData(configured), '/etc/meshgate/enrollment-key');
      expect(key).toMatchObject({ permissions: '0600', encoding: 'b64' });
      expect(key.content).toBe('${base64encode(var.enrollment_key)}');
    });
  });
});

function userData(s: Synthesized, index = 0) {
  return parseCloudConfig(resources(s.json, 'aws_instance')[`agent-${index}`].user_data);
}
