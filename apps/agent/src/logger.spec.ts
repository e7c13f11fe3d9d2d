import { createLogger } from './logger';

describe('createLogger', () => {
  it('writes one JSON object per line and redacts secret-looking fields', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) }).child({ node: 'n1' });
    log.info('registered', { nodeToken: 'abc', authToken: 'k', privateKey: 'p', nodeId: 'id-1' });
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 'info', msg: 'registered', node: 'n1', nodeId: 'id-1' });
    expect(lines[0]).not.toMatch(/abc|"k"|"p"/);
  });

  it('drops entries below the configured level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', write: (l) => lines.push(l) });
    log.info('quiet');
    log.error('loud', { err: new Error('boom') });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).err).toBe('boom');
  });
});
