import { createLogger } from './logger';

describe('createLogger', () => {
  it('writes the shared schema (level name, ISO time, msg, service) and redacts secret-looking fields', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) }).child({ node: 'n1' });
    log.info('registered', { nodeToken: 'abc', authToken: 'k', privateKey: 'p', nodeId: 'id-1' });
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 'info', msg: 'registered', service: 'agent', node: 'n1', nodeId: 'id-1' });
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
    expect(lines[0]).not.toMatch(/abc|"k"|"p"/);
  });

  it('redacts secret-looking keys bound on a child logger too', () => {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l), base: { authToken: 'enrol-secret' } }).child({ nodeToken: 'node-secret' }).warn('x');
    expect(lines[0]).not.toMatch(/enrol-secret|node-secret/);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'warn', authToken: '[redacted]', nodeToken: '[redacted]' });
  });

  it('drops entries below the configured level, and serialises errors', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', write: (l) => lines.push(l) });
    log.info('quiet');
    const { warn } = log; // called unbound, as the reconciler does
    warn('unbound', { reason: new Error('why') });
    log.error('loud', { err: new Error('boom') });
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]).reason).toBe('why');
    expect(JSON.parse(lines[1]).err).toMatchObject({ type: 'Error', message: 'boom' });
  });
});
