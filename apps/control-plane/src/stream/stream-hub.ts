import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { ConfigPatch } from '@meshgate/contracts';

/** One open config stream, as the hub sees it. */
export interface PatchListener {
  patch(patch: ConfigPatch): void;
  /** The node was removed (or the server is stopping): end the stream. */
  closed(): void;
}

/**
 * The open config streams by node. A committed change set is fanned out only to the nodes it names; nodes nobody
 * is listening for cost nothing. Plain listeners rather than a Subject per node: a change to every node's firewall
 * calls 10,000 of them in one go, and an observable chain per call was a tenth of that fan-out's CPU.
 */
@Injectable()
export class StreamHub implements BeforeApplicationShutdown {
  private listeners = new Map<string, Set<PatchListener>>();
  private open = 0;

  listening(nodeId: string): boolean {
    return this.listeners.has(nodeId);
  }

  /** Open streams for the node. */
  streamsOf(nodeId: string): number {
    return this.listeners.get(nodeId)?.size ?? 0;
  }

  /** Open streams in all. */
  get streamCount(): number {
    return this.open;
  }

  publish(nodeId: string, patch: ConfigPatch): void {
    const listeners = this.listeners.get(nodeId);
    if (listeners) for (const listener of listeners) listener.patch(patch);
  }

  /** Ends every open stream for the node: it was removed and its token is dead. */
  close(nodeId: string): void {
    const listeners = this.listeners.get(nodeId);
    if (!listeners) return;
    this.listeners.delete(nodeId);
    for (const listener of listeners) {
      listeners.delete(listener);
      this.open--;
      listener.closed();
    }
  }

  /**
   * Ends every open stream before the HTTP server closes: hijacked SSE responses are never idle, so the server would
   * otherwise wait for them forever and a shutdown (SIGTERM, restart) would hang while agents are connected.
   */
  beforeApplicationShutdown(): void {
    for (const nodeId of [...this.listeners.keys()]) this.close(nodeId);
  }

  /** Adds a stream for the node; the returned function removes it (a no-op once the node's streams were closed). */
  subscribe(nodeId: string, listener: PatchListener): () => void {
    let listeners = this.listeners.get(nodeId);
    if (!listeners) this.listeners.set(nodeId, (listeners = new Set()));
    listeners.add(listener);
    this.open++;
    const held = listeners;
    return () => {
      if (!held.delete(listener)) return;
      this.open--;
      if (held.size === 0 && this.listeners.get(nodeId) === held) this.listeners.delete(nodeId);
    };
  }
}
