import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { file, only, parseCloudConfig, resources, synthStack, Synthesized } from './helpers';

const JWT = 'jwt-TESTSECRET-c0ntr0l-plane-91-8f3a2e77';

describe('control-plane stack', () => {
  let defaults: Synthesized;
  let configured: Synthesized;

  beforeAll(() => {
    defaults = synthStack('controlPlane');
    configured = synthStack('controlPlane', {
      jwt_secret: JWT,
      api_allowed_cidrs: '0.0.0.0/0',
      ssh_allowed_cidrs: '203.0.113.0/24',
      control_plane_volume_gb: '40',
      aws_region: 'eu-west-1',
      meshgate_repo_url: 'https://git.example.com/meshgate/meshgate.git',
    });
  });

  const cloudConfig = (s: Synthesized) => parseCloudConfig(only(s.json, 'aws_instance').user_data);

  it('runs one Ubuntu 22.04 instance', () => {
    const instance = only(defaults.json, 'aws_instance');
    expect(instance.ami).toBe('${data.aws_ami.ubuntu-jammy.id}');
    expect(instance.instance_type).toBe('t3.small');
    expect(defaults.json.data.aws_ami['ubuntu-jammy'].owners).toEqual(['099720109477']);
  });

  it('opens nothing by default, and the API and SSH only to the configured CIDRs', () => {
    expect(resources(defaults.json, 'aws_vpc_security_group_ingress_rule')).toEqual({});
    const ingress = Object.values(resources(configured.json, 'aws_vpc_security_group_ingress_rule'));
    expect(ingress.map((r) => [r.ip_protocol, r.from_port, r.cidr_ipv4]).sort()).toEqual([
      ['tcp', 22, '203.0.113.0/24'],
      ['tcp', 8080, '0.0.0.0/0'],
    ]);
  });

  it('keeps the database on an EBS volume in the instance AZ, attached to the instance', () => {
    const volume = only(configured.json, 'aws_ebs_volume');
    expect(volume).toMatchObject({ availability_zone: 'eu-west-1a', size: 40, type: 'gp3', encrypted: true });
    expect(only(configured.json, 'aws_subnet').availability_zone).toBe('eu-west-1a');
    expect(only(configured.json, 'aws_volume_attachment')).toMatchObject({
      volume_id: '${aws_ebs_volume.data.id}',
      instance_id: '${aws_instance.control-plane.id}',
      stop_instance_before_detaching: true,
    });
  });

  it('mounts the volume and points DATABASE_PATH at it', () => {
    const config = cloudConfig(configured);
    const volume = file(config, '/usr/local/sbin/meshgate-data-volume').content;
    // The NVMe device is named after the volume id, which Terraform fills in.
    expect(volume).toContain('/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${replace(aws_ebs_volume.data.id, "-", "")}');
    expect(volume).toContain('blkid "$dev" >/dev/null || mkfs.ext4');
    expect(volume).toContain('/var/lib/meshgate-control-plane ext4 defaults,nofail 0 2');
    const unit = file(config, '/etc/systemd/system/meshgate-control-plane.service').content;
    expect(unit).toContain('Environment=DATABASE_PATH=/var/lib/meshgate-control-plane/meshgate.db');
    expect(unit).toContain('Environment=PORT=8080');
    expect(unit).toContain('RequiresMountsFor=/var/lib/meshgate-control-plane');
    expect(unit).toContain('User=meshgate');
    expect(file(config, '/usr/local/sbin/meshgate-control-plane-start').content).toContain(
      'exec /usr/bin/node /opt/meshgate/dist/apps/control-plane/main.js',
    );
    // Mount first, then build, then start.
    expect(config.runcmd.map((cmd) => cmd[0])).toEqual([
      '/usr/local/sbin/meshgate-data-volume',
      '/usr/local/sbin/meshgate-install',
      'systemctl',
      'systemctl',
    ]);
    expect(config.runcmd[3]).toEqual(['systemctl', 'enable', '--now', 'meshgate-control-plane.service', 'meshgate-control-plane-health.timer']);
  });

  it('health-checks GET /health from a timer and restarts after repeated failures', () => {
    const config = cloudConfig(defaults);
    const check = file(config, '/usr/local/sbin/meshgate-control-plane-health').content;
    expect(check).toContain('http://127.0.0.1:8080/health');
    expect(check).toContain('systemctl restart meshgate-control-plane.service');
    expect(file(config, '/etc/systemd/system/meshgate-control-plane-health.timer').content).toContain('OnUnitActiveSec=30s');
  });

  it('recovers the instance on host failure and keeps its address stable', () => {
    expect(configured.text).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      metric_name: 'StatusCheckFailed_System',
      alarm_actions: ['arn:aws:automate:eu-west-1:ec2:recover'],
    });
    expect(configured.text).toHaveResourceWithProperties(Eip, { domain: 'vpc', instance: '${aws_instance.control-plane.id}' });
    expect(configured.json.output.control_plane_url.value).toBe('http://${aws_eip.address.public_ip}:8080');
  });

  it('stays on SQLite: one instance, no database, no load balancer, no database password', () => {
    for (const s of [defaults, configured]) {
      expect(Object.keys(resources(s.json, 'aws_instance'))).toEqual(['control-plane']);
      for (const type of ['aws_db_instance', 'aws_db_subnet_group', 'aws_lb', 'aws_lb_target_group', 'aws_lb_listener']) {
        expect(resources(s.json, type)).toEqual({});
      }
      expect(s.json.variable).not.toHaveProperty('database_password');
      expect(s.json.data).not.toHaveProperty('aws_availability_zones');
      expect(Object.keys(resources(s.json, 'aws_security_group'))).toHaveLength(1);
    }
  });

  it('never puts the JWT secret in the synthesized JSON', () => {
    expect(configured.text).not.toContain(JWT);
    expect(configured.json.variable.jwt_secret).toMatchObject({ sensitive: true, default: '' });
    const env = file(cloudConfig(configured), '/etc/meshgate/control-plane.env');
    expect(env).toMatchObject({ permissions: '0600', encoding: 'b64', content: '${base64encode("JWT_SECRET=${var.jwt_secret}")}' });
  });
});
