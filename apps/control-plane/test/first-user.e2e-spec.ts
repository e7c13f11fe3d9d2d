/**
 * Registration by invitation lets exactly one uninvited user in: the deployment's first, who creates the first
 * tenant. Replicas each hold their own in-process lock, so "nobody has registered yet" is a race between them;
 * the database decides it (one first user, by a unique key), and the loser is refused like any later stranger.
 */
import { Client } from 'pg';
import { createTestDatabase, dropTestDatabase, requirePostgres, uniqueDatabaseName } from './support/postgres';
import { Replicas } from './support/replicas';
import { request, startServer } from './support/server';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';
const register = (baseUrl: string, i: number) =>
  request(baseUrl, 'POST', '/api/v1/auth/register', { body: { email: `first-${i}@example.com`, password: PASSWORD } });

/** Exactly one got in; every other answer is the invitation refusal, or a 409 for the race it lost. */
function expectOneFirstUser(replies: { status: number; body: { code?: string } }[]): void {
  const statuses = replies.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  for (const reply of replies.filter((r) => r.status !== 201)) {
    expect([403, 409]).toContain(reply.status);
    if (reply.status === 403) expect(reply.body.code).toBe('REGISTRATION_BY_INVITATION');
  }
}

describe('the first user of a deployment by invitation', () => {
  it('on PostgreSQL: of concurrent sign-ups through two replicas, exactly one gets in', async () => {
    const admin = requirePostgres();
    const name = uniqueDatabaseName('first_user');
    const url = await createTestDatabase(admin, name);
    const replicas = new Replicas(url, { REGISTRATION: 'invite' });
    const pg = new Client({ connectionString: url });
    try {
      const [a, b] = await Promise.all([replicas.start('first-a'), replicas.start('first-b')]);
      await pg.connect();
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => register((i % 2 ? a : b).baseUrl, i)));
      expectOneFirstUser(replies);
      const users = (await pg.query<{ email: string }>('SELECT email FROM users')).rows;
      expect(users).toHaveLength(1);
      expect(replies.find((r) => r.status === 201)!.body.email).toBe(users[0].email);
      // The refused left nothing behind, and later strangers are refused through either replica.
      expect(Number((await pg.query('SELECT count(*) AS n FROM events')).rows[0].n)).toBe(1);
      for (const replica of [a, b]) expect((await register(replica.baseUrl, 100)).status).toBe(403);
    } finally {
      await pg.end().catch(() => undefined);
      await replicas.killAll();
      await dropTestDatabase(admin, name);
    }
  });

  it('on SQLite: of concurrent sign-ups, exactly one gets in', async () => {
    const server = await startServer({ REGISTRATION: 'invite' });
    try {
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => register(server.baseUrl, i)));
      expectOneFirstUser(replies);
      expect((await register(server.baseUrl, 100)).status).toBe(403);
    } finally {
      await server.dispose();
    }
  });
});
