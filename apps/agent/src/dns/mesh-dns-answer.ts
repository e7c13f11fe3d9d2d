import * as dnsPacket from 'dns-packet';
import { lookupName, type MeshNames } from './mesh-names';

/** Names follow every config, so resolvers keep answers (and the absence of a name) for seconds only. */
export const MESH_DNS_TTL_SECONDS = 5;

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** The opcode and RD bits of a query's flags, which a response echoes. */
const ECHOED_FLAGS = 0x7800 | dnsPacket.RECURSION_DESIRED;

/**
 * The response to one DNS message, authoritative for the mesh domain and nothing else (not a recursive resolver:
 * other names are REFUSED). Null for what is not a query at all — undecodable bytes, or a response (answering
 * those could loop two servers) — which the caller drops.
 */
export function answerQuery(message: Buffer, names: MeshNames): dnsPacket.Packet | null {
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return null;
  }
  if (query.type !== 'query') return null;
  const questions = query.questions ?? [];
  const reply = (rcode: number, answers: dnsPacket.Answer[] = [], authorities: dnsPacket.Answer[] = []): dnsPacket.Packet => ({
    type: 'response',
    id: query.id,
    flags: ((query.flags ?? 0) & ECHOED_FLAGS) | dnsPacket.AUTHORITATIVE_ANSWER | rcode,
    questions,
    answers,
    authorities,
  });
  if (((query.flags ?? 0) >> 11) & 0xf) return reply(RCODE.NOTIMP); // an opcode other than QUERY (NOTIFY, UPDATE)
  if (questions.length !== 1) return reply(RCODE.FORMERR);
  const [question] = questions;
  if (question.class !== 'IN') return reply(RCODE.REFUSED);
  const found = lookupName(names, question.name);
  switch (found.kind) {
    case 'outside':
      return reply(RCODE.REFUSED);
    case 'absent':
      return reply(RCODE.NXDOMAIN, [], [soa(names)]);
    case 'apex':
      return question.type === 'SOA' ? reply(RCODE.NOERROR, [soa(names)]) : reply(RCODE.NOERROR, [], [soa(names)]);
    case 'address':
      // The overlay is IPv4: any other type (AAAA included) is NOERROR without answers ("no data"), never NXDOMAIN.
      return question.type === 'A'
        ? reply(RCODE.NOERROR, [{ type: 'A', name: question.name, ttl: MESH_DNS_TTL_SECONDS, data: found.address }])
        : reply(RCODE.NOERROR, [], [soa(names)]);
  }
}

/** The zone's SOA, in the authority section of negative answers: its minimum is how long they may be cached. */
function soa(names: MeshNames): dnsPacket.Answer {
  const ttl = MESH_DNS_TTL_SECONDS;
  return {
    type: 'SOA',
    name: names.domain,
    ttl,
    data: { mname: names.self, rname: `hostmaster.${names.domain}`, serial: names.serial >>> 0, refresh: ttl, retry: ttl, expire: ttl, minimum: ttl },
  };
}
