import { randomBytes } from 'node:crypto';
import { formatAddress } from '../contracts';
import { parseIp } from './udp-address';

/**
 * Just enough of STUN (RFC 5389) to ask and answer the reflexive-address question: a Binding Request and a Binding
 * Success Response carrying XOR-MAPPED-ADDRESS. No npm package in the tree does STUN, and the rest of the protocol
 * (authentication, FINGERPRINT, error responses, TURN) is not needed here.
 */
export const STUN_MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;
const FAMILY_V4 = 0x01;
const FAMILY_V6 = 0x02;

export interface MappedAddress { address: string; port: number }

/** A Binding Request without attributes; `transactionId` is 12 bytes (random unless given). */
export function encodeBindingRequest(transactionId: Buffer = randomBytes(12)): Buffer {
  const out = Buffer.alloc(HEADER);
  writeHeader(out, BINDING_REQUEST, 0, transactionId);
  return out;
}

/**
 * The transaction id of a well-formed Binding Request, or null for anything else. Attributes must tile the declared
 * length exactly and are otherwise ignored.
 */
export function decodeBindingRequest(packet: Buffer): Buffer | null {
  return wellFormed(packet, BINDING_REQUEST) ? packet.subarray(8, HEADER) : null;
}

/** A Binding Success Response telling the requester its address (IPv4, IPv4-mapped or IPv6) as this side saw it. */
export function encodeBindingResponse(transactionId: Buffer, mapped: MappedAddress): Buffer {
  const ip = parseIp(mapped.address);
  if (ip === null) throw new Error(`not an IP address: ${mapped.address}`);
  const size = ip.family === 4 ? 4 : 16;
  const out = Buffer.alloc(HEADER + 8 + size);
  writeHeader(out, BINDING_SUCCESS, 8 + size, transactionId);
  out.writeUInt16BE(XOR_MAPPED_ADDRESS, HEADER);
  out.writeUInt16BE(4 + size, HEADER + 2);
  out.writeUInt8(ip.family === 4 ? FAMILY_V4 : FAMILY_V6, HEADER + 5);
  out.writeUInt16BE(mapped.port ^ (STUN_MAGIC_COOKIE >>> 16), HEADER + 6);
  for (let i = 0; i < size; i++) out[HEADER + 8 + i] = Number((ip.value >> BigInt(8 * (size - 1 - i))) & 0xffn);
  xorAddress(out, HEADER + 8, size);
  return out;
}

/** The XOR-MAPPED-ADDRESS of a Binding Success Response to `transactionId`, or null for anything else. */
export function decodeBindingResponse(packet: Buffer, transactionId: Buffer): MappedAddress | null {
  if (!wellFormed(packet, BINDING_SUCCESS) || !packet.subarray(8, HEADER).equals(transactionId)) return null;
  for (let at = HEADER; at < packet.length; at += 4 + padded(packet.readUInt16BE(at + 2))) {
    if (packet.readUInt16BE(at) !== XOR_MAPPED_ADDRESS) continue;
    const family = packet[at + 5];
    const size = family === FAMILY_V4 ? 4 : family === FAMILY_V6 ? 16 : 0;
    if (size === 0 || packet.readUInt16BE(at + 2) !== 4 + size) return null;
    const raw = Buffer.from(packet.subarray(at + 8, at + 8 + size));
    xorAddress(raw, 0, size, packet);
    let value = 0n;
    for (const byte of raw) value = (value << 8n) | BigInt(byte);
    return { address: formatAddress(family === FAMILY_V4 ? 4 : 6, value), port: packet.readUInt16BE(at + 6) ^ (STUN_MAGIC_COOKIE >>> 16) };
  }
  return null;
}

/** XOR with the cookie then the transaction id (RFC 5389 §15.2), read from `message`'s header. */
function xorAddress(target: Buffer, at: number, size: number, message: Buffer = target): void {
  for (let i = 0; i < size; i++) target[at + i] ^= message[4 + i];
}

function writeHeader(out: Buffer, type: number, length: number, transactionId: Buffer): void {
  if (transactionId.length !== 12) throw new Error('a STUN transaction id is 12 bytes');
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(length, 2);
  out.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  transactionId.copy(out, 8);
}

/** The given type, the magic cookie, a length that is exactly the rest of the packet, and attributes that tile it. */
function wellFormed(packet: Buffer, type: number): boolean {
  if (packet.length < HEADER || packet.readUInt16BE(0) !== type || packet.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return false;
  const length = packet.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER + length !== packet.length) return false;
  let at = HEADER;
  while (at + 4 <= packet.length) at += 4 + padded(packet.readUInt16BE(at + 2));
  return at === packet.length;
}

const padded = (length: number): number => (length + 3) & ~3;
