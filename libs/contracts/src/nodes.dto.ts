import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { IsCidr } from './cidr.decorator';
import { IsOmittable } from './omittable.decorator';
import { IsTimestamp } from './timestamp.decorator';

/** A WireGuard key: 32 bytes in standard base64 (44 characters, one '=' of padding). */
export const WG_KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** DNS-label-like node names: they appear in policies. */
export const NODE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Tailscale's tag syntax, `tag:web`; a bare `web` is read as `tag:web` (and answered so). */
export const TAG_PATTERN = /^(tag:)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const TAG_MESSAGE = 'each tag must be "tag:<name>" (or a bare <name>), the name lowercase letters, digits and dashes';
/** host:port, host being an IPv4 address, a bracketed IPv6 address or a DNS name. */
export const ENDPOINT_PATTERN =
  /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$/;

/** Candidate endpoints a heartbeat may report. */
export const MAX_CANDIDATES = 8;

export class RegisterNodeDto {
  @IsString() @Matches(NODE_NAME_PATTERN, { message: 'name must be lowercase letters, digits and dashes (1-63)' })
  name!: string;
  @IsString() @Matches(WG_KEY_PATTERN, { message: 'publicKey must be a base64 WireGuard key (32 bytes)' })
  publicKey!: string;
  @IsOmittable() @IsString() @Matches(ENDPOINT_PATTERN, { message: 'endpoint must be host:port' })
  endpoint?: string;
  @IsOmittable() @IsInt() @Min(1) @Max(65535) listenPort?: number;
  @IsOmittable() @IsArray() @ArrayMaxSize(32)
  @Matches(TAG_PATTERN, { each: true, message: TAG_MESSAGE })
  tags?: string[];
  /** Prefixes this node offers to route for the mesh (subnet router), or 0.0.0.0/0 (exit node). */
  @IsOmittable() @IsArray() @ArrayMaxSize(64)
  @IsCidr({ each: true, message: 'each advertised route must be an IPv4 or IPv6 prefix such as 10.1.0.0/24' })
  advertiseRoutes?: string[];
  /** Name of the exit node to send internet traffic through. */
  @IsOmittable() @IsString() @Matches(NODE_NAME_PATTERN, { message: 'exitNode must be a node name' })
  exitNode?: string;
}

/** PUT /api/v1/nodes/:id/routes: the advertised routes an admin approves (replaces the approved set). */
export class ApproveRoutesDto {
  @IsArray() @ArrayMaxSize(64)
  @IsCidr({ each: true, message: 'each route must be an IPv4 or IPv6 prefix such as 10.1.0.0/24' })
  approved!: string[];
}

export class PeerStatsDto {
  @IsString() @Matches(WG_KEY_PATTERN, { message: 'publicKey must be a base64 WireGuard key (32 bytes)' })
  publicKey!: string;
  @IsOmittable() @IsTimestamp() lastHandshakeAt?: string;
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) rxBytes!: number;
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) txBytes!: number;
}

export class HeartbeatDto {
  @IsOmittable() @IsString() @Matches(ENDPOINT_PATTERN, { message: 'endpoint must be host:port' })
  endpoint?: string;
  @IsOmittable() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) rxBytes?: number;
  @IsOmittable() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) txBytes?: number;
  @IsOmittable() @IsArray() @ArrayMaxSize(20000) @ValidateNested({ each: true }) @Type(() => PeerStatsDto)
  peers?: PeerStatsDto[];
  /**
   * Where the node may be dialled directly, best first: its reflexive address (from a relay's reflector) when its
   * NAT keeps the WireGuard port, then its local addresses with the listen port. Omitted: unchanged.
   */
  @IsOmittable() @IsArray() @ArrayMaxSize(MAX_CANDIDATES)
  @Matches(ENDPOINT_PATTERN, { each: true, message: 'each candidate must be host:port' })
  candidates?: string[];
}

/** POST /api/v1/nodes/:id/relay-paths (node token): relay the path to this peer (idempotent). */
export class RequestRelayPathDto {
  @IsString() @Matches(WG_KEY_PATTERN, { message: 'peer must be the base64 WireGuard key of one of the node\'s peers' })
  peer!: string;
}

export class CreateEnrollmentKeyDto {
  @IsOmittable() @IsBoolean() reusable?: boolean;
  /** Nodes enrolled with it are removed once inactive (offline, or never seen) for EPHEMERAL_NODE_TTL_SECONDS. */
  @IsOmittable() @IsBoolean() ephemeral?: boolean;
  @IsOmittable() @IsInt() @Min(60) @Max(365 * 24 * 3600) expiresInSeconds?: number;
  @IsOmittable() @IsArray() @ArrayMaxSize(32)
  @Matches(TAG_PATTERN, { each: true, message: TAG_MESSAGE })
  tags?: string[];
}

/** PUT /api/v1/nodes/:id/tags (owner/admin): the node's whole tag set; each new tag must be the caller's per tagOwners. */
export class RetagNodeDto {
  @IsArray() @ArrayMaxSize(32)
  @Matches(TAG_PATTERN, { each: true, message: TAG_MESSAGE })
  tags!: string[];
}

/** PUT /api/v1/nodes/:id/name (owner/admin): the node's new name, unique in the tenant. */
export class RenameNodeDto {
  @IsString() @Matches(NODE_NAME_PATTERN, { message: 'name must be lowercase letters, digits and dashes (1-63)' })
  name!: string;
}

/** POST /api/v1/nodes/:id/key (node token): the node's new WireGuard public key. */
export class RotateNodeKeyDto {
  @IsString() @Matches(WG_KEY_PATTERN, { message: 'publicKey must be a base64 WireGuard key (32 bytes)' })
  publicKey!: string;
}

/** PUT /api/v1/nodes/:id/key-expiry (owner/admin): `disabled: true` exempts the node from key expiry. */
export class SetNodeKeyExpiryDto {
  @IsBoolean() disabled!: boolean;
}

export interface NodeKeyView {
  publicKey: string;
  /** null: expiry disabled for this node. */
  keyExpiresAt: string | null;
  keyExpired: boolean;
}

export type NodeStatus = 'pending' | 'online' | 'offline';

export interface NodeView {
  id: string;
  name: string;
  publicKey: string;
  address: string;
  endpoint: string | null;
  /** Where the node may be dialled directly, as its heartbeats last said (best first). */
  candidates: string[];
  /** The IP address its heartbeats last came from (its NAT's public address, when behind one). */
  seenFrom?: string;
  /** `tag:web`. */
  tags: string[];
  /** Id of the user who owns the node; null for one no user owns (enrolled with a tagged key, or registered before owners were recorded). */
  owner: string | null;
  status: NodeStatus;
  lastSeenAt: string | null;
  advertisedRoutes: string[];
  approvedRoutes: string[];
  exitNode?: string;
  /** When the node's key expires (null: expiry disabled for it), and whether it has (the node is then out of the mesh). */
  keyExpiresAt: string | null;
  keyExpired: boolean;
  keyExpiryDisabled: boolean;
  ephemeral: boolean;
}

/** What a heartbeat answers once it is recorded. */
export interface HeartbeatAccepted { accepted: true }

export interface RegisteredNode {
  id: string;
  name: string;
  publicKey: string;
  address: string;
  tags: string[];
  nodeToken: string;
}

export interface EnrollmentKeyCreated {
  id: string;
  key: string;
  reusable: boolean;
  expiresAt: string | null;
  tags: string[];
  ephemeral: boolean;
}

/** An enrollment key as listed: never the key itself. */
export interface EnrollmentKeyView {
  id: string;
  reusable: boolean;
  expiresAt: string | null;
  tags: string[];
  /** The user who created it; null for keys created before creators were recorded. */
  createdBy: string | null;
  /** Nodes enrolled with it. */
  uses: number;
  ephemeral: boolean;
  revoked: boolean;
  createdAt: string;
}
