import { createLogger } from '../logger';
import { CommandError } from '../wireguard/command-runner';
import { ResolvedRegistration } from './resolved-registration';

/** resolvectl cannot run here (no systemd-resolved): the edge is a RunCommand that records argv and plays resolved. */
function registration(resolved: { running: boolean; failDns?: boolean }) {
  const calls: string[][] = [];
  const lines: Array<{ level: string; msg: string }> = [];
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
  const reg = new ResolvedRegistration({
    logger,
    run: async (file, args) => {
      calls.push([file, ...args]);
      if (args[0] === 'status' && !resolved.running) throw new CommandError('resolvectl status', 1, 'Failed to get global data: Unit dbus-org.freedesktop.resolve1.service not found.');
      if (args[0] === 'dns' && resolved.failDns) throw new CommandError('resolvectl dns', 1, 'Failed to set DNS configuration: Link mg0 not known');
      return '';
    },
  });
  return { reg, calls, lines };
}

describe('ResolvedRegistration', () => {
  it('routes the mesh domain to the overlay address on the interface, once per change', async () => {
    const { reg, calls } = registration({ running: true });
    expect(await reg.register('mg0', '100.64.0.7', 'acme.mesh')).toBe(true);
    expect(await reg.register('mg0', '100.64.0.7', 'acme.mesh')).toBe(true);
    expect(calls).toEqual([
      ['resolvectl', 'status'],
      ['resolvectl', 'domain', 'mg0', '~acme.mesh'],
      ['resolvectl', 'dns', 'mg0', '100.64.0.7'],
    ]);
    calls.length = 0;
    expect(await reg.register('mg0', '100.64.0.7', 'beta.mesh')).toBe(true);
    await reg.revert('mg0');
    await reg.revert('mg0');
    expect(calls).toEqual([
      ['resolvectl', 'status'],
      ['resolvectl', 'domain', 'mg0', '~beta.mesh'],
      ['resolvectl', 'dns', 'mg0', '100.64.0.7'],
      ['resolvectl', 'revert', 'mg0'],
    ]);
  });

  it('without resolved, says once at info what to do instead and returns false', async () => {
    const { reg, calls, lines } = registration({ running: false });
    expect(await reg.register('mg0', '100.64.0.7', 'acme.mesh')).toBe(false);
    expect(await reg.register('mg0', '100.64.0.7', 'acme.mesh')).toBe(false);
    expect(calls).toEqual([['resolvectl', 'status'], ['resolvectl', 'status']]);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: expect.stringMatching(/systemd-resolved is not running/), example: 'dig @100.64.0.7 <node-name>.acme.mesh' }),
    ]);
    await reg.revert('mg0');
    expect(calls).toHaveLength(2);
  });

  it('returns false with a warning when resolved refuses, and tries again on the next call', async () => {
    const resolved = { running: true, failDns: true };
    const { reg, calls, lines } = registration(resolved);
    expect(await reg.register('mg0', '100.64.0.7', 'acme.mesh')).toBe(false);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', err: expect.objectContaining({ message: expect.stringMatching(/Link mg0 not known/) }) })]);
    resolved.failDns = false;
    expect(await reg.register('mg0', '100.64.0.7', 'acme.mesh')).toBe(true);
    expect(calls.filter((c) => c[1] === 'dns')).toHaveLength(2);
  });
});
