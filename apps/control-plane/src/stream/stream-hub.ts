import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { ConfigPatch } from '@meshgate/contracts';

/**
 * One Subject per node with open streams. A committed change set is fanned out only to the nodes it names; nodes
 * nobody is listening for cost nothing.
 */
@Injectable()
export class StreamHub implements BeforeApplicationShutdown {
  private subjects = new Map<string, { subject: Subject<ConfigPatch>; listeners: number }>();
  private open = 0;

  listening(nodeId: string): boolean {
    return this.subjects.has(nodeId);
  }

  /** Open streams for the node. */
  streamsOf(nodeId: string): number {
    return this.subjects.get(nodeId)?.listeners ?? 0;
  }

  /** Open streams in all. */
  get streamCount(): number {
    return this.open;
  }

  publish(nodeId: string, patch: ConfigPatch): void {
    this.subjects.get(nodeId)?.subject.next(patch);
  }

  /** Completes every open stream for the node: it was removed and its token is dead. */
  close(nodeId: string): void {
    this.subjects.get(nodeId)?.subject.complete();
    this.subjects.delete(nodeId);
  }

  /**
   * Ends every open stream before the HTTP server closes: hijacked SSE responses are never idle, so the server would
   * otherwise wait for them forever and a shutdown (SIGTERM, restart) would hang while agents are connected.
   */
  beforeApplicationShutdown(): void {
    for (const nodeId of [...this.subjects.keys()]) this.close(nodeId);
  }

  patches(nodeId: string): Observable<ConfigPatch> {
    return new Observable<ConfigPatch>((subscriber) => {
      let entry = this.subjects.get(nodeId);
      if (!entry) this.subjects.set(nodeId, (entry = { subject: new Subject(), listeners: 0 }));
      entry.listeners++;
      this.open++;
      const subscription = entry.subject.subscribe(subscriber);
      const held = entry;
      return () => {
        subscription.unsubscribe();
        held.listeners--;
        this.open--;
        if (held.listeners === 0 && this.subjects.get(nodeId) === held) this.subjects.delete(nodeId);
      };
    });
  }
}
