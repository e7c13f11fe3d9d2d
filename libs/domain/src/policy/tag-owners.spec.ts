import { checkPolicy } from './policy';
import { DomainError } from '../shared/domain-error';
import { parsePolicyFile, PolicyFile } from './policy-file';
import { canonicalTag, tagOwnership, unownedTags, userAliasMatches } from './tag-owners';

function strict(doc: unknown): PolicyFile {
  const parsed = parsePolicyFile(doc, { strict: true });
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.policy;
}

describe('tag ownership (tagOwners)', () => {
  const policy = strict({
    groups: { 'group:sre': ['carol@example.com', 'dan@'] },
    tagOwners: {
      'tag:web': ['alice@example.com'],
      'tag:db': ['group:sre'],
      'tag:ci': ['autogroup:owner'],
      'tag:deploy': ['tag:ci'],
      'tag:lab': ['autogroup:member'],
      'tag:ops': ['autogroup:admin'],
      'tag:it': ['autogroup:it-admin'],
      'tag:sealed': [],
    },
    acls: [],
  });
  const owned = (who: Parameters<typeof tagOwnership>[1]) => {
    const o = tagOwnership(policy, who);
    return ['tag:web', 'tag:db', 'tag:ci', 'tag:deploy', 'tag:lab', 'tag:ops', 'tag:it', 'tag:sealed', 'tag:undeclared'].filter((t) => o.owns(t));
  };

  it('given a listed user, then that user owns the tag (compared as emails, any case)', () => {
    expect(owned({ email: 'alice@example.com', role: 'member' })).toEqual(['tag:web', 'tag:lab']);
    expect(owned({ email: 'ALICE@example.com', role: 'member' })).toEqual(['tag:web', 'tag:lab']);
  });

  it('given a listed group, then its members own the tag (a domainless member names the email\u2019s local part)', () => {
    expect(owned({ email: 'carol@example.com', role: 'member' })).toEqual(['tag:db', 'tag:lab']);
    expect(owned({ email: 'dan@other.example', role: 'member' })).toEqual(['tag:db', 'tag:lab']);
  });

  it('given autogroup:member/admin/owner, then the tenant role decides; it-admin names nobody in MeshGate', () => {
    expect(owned({ email: 'erin@example.com', role: 'admin' })).toEqual(['tag:lab', 'tag:ops']);
    expect(owned({ email: 'frank@example.com', role: 'owner' })).toEqual(['tag:ci', 'tag:lab']);
    expect(owned({ email: 'gina@example.com', role: 'auditor' })).toEqual(['tag:lab']);
  });

  it('given a tag as owner, then a principal carrying that tag (a tagged enrollment key) owns it, and nothing else', () => {
    expect(owned({ tags: ['tag:ci'] })).toEqual(['tag:deploy']);
    expect(owned({ tags: ['ci'] })).toEqual(['tag:deploy']);
    expect(owned({})).toEqual([]);
  });

  it('given an undeclared tag or one with no owners, then nobody owns it; bare names are the tags they name', () => {
    const owner = tagOwnership(policy, { email: 'frank@example.com', role: 'owner' });
    expect(unownedTags(owner, ['ci', 'tag:sealed', 'tag:undeclared'])).toEqual(['tag:sealed', 'tag:undeclared']);
    expect(canonicalTag('web')).toBe('tag:web');
    expect(canonicalTag('tag:web')).toBe('tag:web');
  });

  it('matches user aliases as Tailscale and headscale write them', () => {
    expect(userAliasMatches('alice@example.com', 'alice@example.com')).toBe(true);
    expect(userAliasMatches('alice', 'alice@example.com')).toBe(true);
    expect(userAliasMatches('alice', 'alicia@example.com')).toBe(false);
    expect(userAliasMatches('alice@example.org', 'alice@example.com')).toBe(false);
  });
});

describe('strict policy validation (what a new document must pass)', () => {
  const errors = (doc: unknown): string[] => {
    try {
      checkPolicy(doc, []);
    } catch (e) {
      return (e as DomainError).details ?? [(e as Error).message];
    }
    return [];
  };

  it('given a tag not declared in tagOwners, then each use is refused by its JSON path', () => {
    expect(errors({
      tagOwners: { 'tag:web': ['tag:ci'] },
      acls: [{ action: 'accept', src: ['tag:web', 'tag:ops'], dst: ['tag:db:5432', 'tag:web:80'] }],
      tests: [{ src: 'tag:qa', accept: ['tag:web:80'] }],
      autoApprovers: { routes: { '10.0.0.0/8': ['tag:router'] }, exitNode: ['tag:exit'] },
    })).toEqual([
      'tagOwners["tag:web"][0]: tag:ci is not declared in "tagOwners"',
      'acls[0].src[1]: tag:ops is not declared in "tagOwners"',
      'acls[0].dst[0]: tag:db is not declared in "tagOwners"',
      'tests[0].src: tag:qa is not declared in "tagOwners"',
      'autoApprovers.routes["10.0.0.0/8"][0]: tag:router is not declared in "tagOwners"',
      'autoApprovers.exitNode[0]: tag:exit is not declared in "tagOwners"',
    ]);
  });

  it('given port 0, then it is refused by its path; "*" and ports from 1 are fine', () => {
    expect(errors({ acls: [{ action: 'accept', src: ['*'], dst: ['*:0', '*:0-80', '*:22,0', '*:*', '*:1-65535'] }] })).toEqual([
      'acls[0].dst[0]: port 0 is not a port: use 1 to 65535, or "*"',
      'acls[0].dst[1]: port 0 is not a port: use 1 to 65535, or "*"',
      'acls[0].dst[2]: port 0 is not a port: use 1 to 65535, or "*"',
    ]);
  });

  it('given a stored (old) document, then it is still read as accepted: undeclared tags and all', () => {
    expect(parsePolicyFile({ acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db:0'] }] }).ok).toBe(true);
  });

  it('given autogroup:admin and autogroup:owner, then they are selectors in sources and destinations', () => {
    expect(errors({ acls: [{ action: 'accept', src: ['autogroup:admin'], dst: ['autogroup:owner:22'] }] })).toEqual([]);
  });
});
