import type { LoginResponse, TenantMembershipView } from '@meshgate/contracts';
import { ApiClient, TokenSource } from './api-client';
import { Credentials, CredentialsStore, PasswordCredential } from './credentials-store';
import { CliError, ExitCode } from './exit-codes';
import { Prompter } from './prompter';

/** A token this close to its expiry is renewed first, rather than failing halfway through a command. */
const EXPIRY_MARGIN_MS = 30_000;

export interface TenantChoice {
  tenant?: string;
  tenantId?: string;
}

/**
 * The logged-in session: the stored credentials and the client that uses them. The control plane has no refresh
 * token, so an expired (or refused) password login is renewed by asking for the password again at a terminal;
 * elsewhere it fails with the auth exit code.
 */
export class Session {
  constructor(readonly store: CredentialsStore, private readonly prompter: Prompter, private readonly now: () => number) {}

  /** The current server, for commands that need no login (status); `override` wins. */
  server(override?: string): string {
    if (override !== undefined) return parseServer(override);
    const stored = this.store.read();
    if (!stored) throw notLoggedIn();
    return stored.server;
  }

  client(): ApiClient {
    const stored = this.store.read();
    if (!stored) throw notLoggedIn();
    return new ApiClient(stored.server, this.tokenSource(stored));
  }

  current(): Credentials | null {
    return this.store.read();
  }

  /** Password login, scoped to the chosen tenant, or to the user's only one. Returns the stored credentials. */
  async loginWithPassword(server: string, email: string, password: string, choice: TenantChoice): Promise<Credentials> {
    const anonymous = new ApiClient(server, null);
    let login = await passwordLogin(anonymous, email, password, choice);
    let tenant = scopedTenant(login.tenants, choice);
    if (choice.tenant === undefined && choice.tenantId === undefined) {
      if (login.tenants.length > 1) {
        throw new CliError(ExitCode.USAGE, 'you belong to several tenants: log in with --tenant <name> (or --tenant-id <id>)',
          login.tenants.map((t) => `${t.name}  ${t.id}  (${t.role})`));
      }
      if (login.tenants.length === 1) {
        tenant = login.tenants[0];
        login = await passwordLogin(anonymous, email, password, { tenantId: tenant.id });
      }
    }
    const credentials: Credentials = {
      server,
      credential: { kind: 'password', email, token: login.accessToken, expiresAt: this.now() + login.expiresIn * 1000, tenant: tenant ?? null },
    };
    this.store.write(credentials);
    return credentials;
  }

  /** An API key acts in one tenant: it is checked with a read every role may do before it is kept. */
  async loginWithApiKey(server: string, key: string): Promise<Credentials> {
    const client = new ApiClient(server, { token: async () => key, renew: async () => { throw new CliError(ExitCode.AUTH, 'the API key was refused'); } });
    await client.request('GET', '/api/v1/tenants/current/settings');
    const credentials: Credentials = { server, credential: { kind: 'api-key', key } };
    this.store.write(credentials);
    return credentials;
  }

  private tokenSource(stored: Credentials): TokenSource {
    const credential = stored.credential;
    if (credential.kind === 'api-key') {
      return {
        token: async () => credential.key,
        renew: async () => {
          throw new CliError(ExitCode.AUTH, 'the API key was refused (expired, revoked, or its creator lost the role): meshgate login --api-key');
        },
      };
    }
    let current = credential;
    // Requests in flight together share one renewal: one question, one login.
    let renewal: Promise<PasswordCredential> | null = null;
    const renew = async (why: string) => {
      renewal ??= this.relogin(stored.server, current, why).finally(() => { renewal = null; });
      current = await renewal;
      return current.token;
    };
    return {
      token: async () => (current.expiresAt - EXPIRY_MARGIN_MS > this.now() ? current.token : renew('the session expired')),
      renew: () => renew('the server refused the session'),
    };
  }

  private async relogin(server: string, credential: PasswordCredential, why: string): Promise<PasswordCredential> {
    if (!this.prompter.interactive) throw new CliError(ExitCode.AUTH, `${why}: log in again (meshgate login)`);
    const password = await this.prompter.askSecret(`${why}. Password for ${credential.email}: `);
    if (password === null) throw new CliError(ExitCode.AUTH, `${why}: log in again (meshgate login)`);
    const choice = credential.tenant ? { tenantId: credential.tenant.id } : {};
    const login = await passwordLogin(new ApiClient(server, null), credential.email, password, choice);
    const renewed: PasswordCredential = {
      ...credential,
      token: login.accessToken,
      expiresAt: this.now() + login.expiresIn * 1000,
      tenant: credential.tenant ? scopedTenant(login.tenants, choice) ?? credential.tenant : null,
    };
    this.store.write({ server, credential: renewed });
    return renewed;
  }
}

/** `https://host[:port][/prefix]`, without a trailing slash; anything else is a usage error. */
export function parseServer(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(ExitCode.USAGE, `--server must be an http(s) URL such as https://meshgate.example.com (got "${text}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(ExitCode.USAGE, `--server must be an http or https URL (got "${text}")`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new CliError(ExitCode.USAGE, '--server must not carry a query, fragment or credentials');
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function notLoggedIn(): CliError {
  return new CliError(ExitCode.AUTH, 'not logged in: meshgate login --server <url>');
}

async function passwordLogin(client: ApiClient, email: string, password: string, choice: TenantChoice): Promise<LoginResponse> {
  const body: Record<string, string> = { email, password };
  if (choice.tenant !== undefined) body.tenant = choice.tenant;
  if (choice.tenantId !== undefined) body.tenantId = choice.tenantId;
  return (await client.request<LoginResponse>('POST', '/api/v1/auth/login', { body })).body;
}

function scopedTenant(tenants: TenantMembershipView[], choice: TenantChoice): TenantMembershipView | undefined {
  if (choice.tenantId !== undefined) return tenants.find((t) => t.id === choice.tenantId);
  if (choice.tenant !== undefined) return tenants.find((t) => t.name === choice.tenant);
  return undefined;
}
