import type { PeerConfig } from '../contracts';

/** A peer as the live interface has it (`wg show <if> dump`). */
export interface LivePeer {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  persistentKeepalive: number;
  /** Unix seconds of the last handshake, 0 when there was none. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
}

/** What the interface looks like right now. */
export interface LiveInterface {
  publicKey: string | null;
  listenPort: number | null;
  up: boolean;
  /** "address/prefix" */
  addresses: string[];
  /** Destinations of the routes the agent manages on the interface. */
  routes: string[];
  peers: LivePeer[];
  /** The interface's fwmark (`wg show <if> dump`), 0 when off. */
  fwmark: number;
}

/** One change to the interface; a reconcile plan is a list of these, applied in order. */
export type PlanStep =
  | { kind: 'set-private-key' }
  | { kind: 'set-listen-port'; port: number }
  | { kind: 'add-address'; address: string }
  | { kind: 'remove-address'; address: string }
  | { kind: 'set-link-up' }
  | { kind: 'remove-peer'; publicKey: string }
  /** `setEndpoint` false keeps the endpoint the peer roamed to. */
  | { kind: 'upsert-peer'; peer: PeerConfig; setEndpoint: boolean }
  /** The path manager's choice of path (direct candidate or relay); the reconciler never plans it. */
  | { kind: 'set-endpoint'; publicKey: string; endpoint: string }
  /**
   * Sends the peer one keepalive now, to its current endpoint: persistent keepalive goes off and back to
   * `persistentKeepalive` (> 0), and turning it on makes WireGuard send one at once. Path probing only.
   */
  | { kind: 'send-keepalive'; publicKey: string; persistentKeepalive: number }
  | { kind: 'add-route'; destination: string }
  | { kind: 'remove-route'; destination: string };

/**
 * Everything platform-specific about a WireGuard interface. The reconciler, heartbeat and drift repair talk only to
 * this, so another platform is one new adapter.
 */
export interface WireGuardPort {
  readonly interfaceName: string;
  /** The live state, or null when the interface is missing or its userspace daemon is gone. */
  read(): Promise<LiveInterface | null>;
  /** Creates the interface (replacing a broken leftover of the same name). */
  create(): Promise<void>;
  /** Applies the steps in order; peer steps may be batched into one call. */
  apply(steps: PlanStep[]): Promise<void>;
  /** Removes the interface. */
  destroy(): Promise<void>;
}
