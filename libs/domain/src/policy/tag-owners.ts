import type { Role } from '../tenant/tenant';
import type { PolicyFile } from './policy-file';

/**
 * Tags in Tailscale's syntax. The API and old events may say `web`; everything past the edge says `tag:web`.
 */
export const canonicalTag = (tag: string): string => (tag.startsWith('tag:') ? tag : `tag:${tag}`);
export const canonicalTags = (tags: readonly string[]): string[] => [...new Set(tags.map(canonicalTag))].sort();

/**
 * Whether a user alias of a policy (`alice@example.com`, or headscale's domainless `alice@`, stored as `alice`) names
 * the user with this email. Emails are compared lower-cased; a domainless alias names the email's local part.
 */
export function userAliasMatches(alias: string, email: string): boolean {
  const a = alias.toLowerCase();
  const e = email.toLowerCase();
  return a.includes('@') || !e.includes('@') ? a === e : e.slice(0, e.lastIndexOf('@')) === a;
}

/**
 * Whether a member of a policy group names this user: a user alias (see userAliasMatches), or `idp:<group>` naming
 * every user whose IdP groups (from their latest single sign-on) include `<group>`.
 */
export function groupMemberMatches(member: string, user: { email?: string; groups?: readonly string[] }): boolean {
  if (member.startsWith('idp:')) return (user.groups ?? []).includes(member.slice('idp:'.length));
  return user.email !== undefined && userAliasMatches(member, user.email);
}

/** Who is putting tags on a node: a user (email, tenant role and IdP groups), or a tagged enrollment key (its tags). */
export interface TagPrincipal {
  email?: string;
  role?: Role;
  /** The user's IdP groups, for `idp:` members of the groups tagOwners names. */
  groups?: readonly string[];
  tags?: readonly string[];
}

export interface TagOwnership {
  /** May the principal put this tag (canonical or bare) on a node? */
  owns(tag: string): boolean;
}

/**
 * `tagOwners` as Tailscale reads it: a principal may put `tag:x` on a node only if the tag is declared and one of
 * its owners is the principal's user, a group the user is in, a tag the principal carries (a tagged enrollment key
 * acts as a node carrying its tags), or `autogroup:member` / `autogroup:admin` / `autogroup:owner` by the user's
 * tenant role. An undeclared tag is owned by nobody. (MeshGate has no it-admin or network-admin role: those
 * autogroups name nobody.)
 */
export function tagOwnership(policy: PolicyFile, principal: TagPrincipal): TagOwnership {
  const isUser = (u: string) => principal.email !== undefined && userAliasMatches(u, principal.email);
  const owner = (o: string): boolean => {
    if (o.startsWith('tag:')) return (principal.tags ?? []).map(canonicalTag).includes(o);
    if (o.startsWith('group:')) return principal.email !== undefined && (policy.groups.get(o) ?? []).some((m) => groupMemberMatches(m, principal));
    if (o === 'autogroup:member') return principal.role !== undefined;
    if (o === 'autogroup:admin') return principal.role === 'admin';
    if (o === 'autogroup:owner') return principal.role === 'owner';
    if (o.startsWith('autogroup:')) return false;
    return isUser(o);
  };
  return { owns: (tag) => (policy.tagOwners.get(canonicalTag(tag)) ?? []).some(owner) };
}

/** A principal tagOwners says nothing for. */
export const OWNS_NO_TAG: TagOwnership = { owns: () => false };

/** The tags of `tags` the principal may not put on a node, in order (empty: all allowed). */
export function unownedTags(ownership: TagOwnership, tags: readonly string[]): string[] {
  return canonicalTags(tags).filter((t) => !ownership.owns(t));
}
