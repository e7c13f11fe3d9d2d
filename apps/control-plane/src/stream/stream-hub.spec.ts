import type { ConfigPatch } from '@meshgate/contracts';
import { PatchListener, StreamHub } from './stream-hub';

const patch = (version: number): ConfigPatch => ({ version, baseVersion: version - 1, peersUpserted: [], peersRemoved: [] });

function stream(hub: StreamHub, nodeId: string) {
  const got: number[] = [];
  const state = { closed: false, unsubscribe: () => undefined as void };
  const listener: PatchListener = {
    patch: (p) => got.push(p.version),
    // As the config stream does: ending the stream unsubscribes it.
    closed: () => ((state.closed = true), state.unsubscribe()),
  };
  state.unsubscribe = hub.subscribe(nodeId, listener);
  return { got, state };
}

describe('StreamHub', () => {
  it('sends a patch to the open streams of the node it names, and to nobody else', () => {
    const hub = new StreamHub();
    const [a1, a2, b] = [stream(hub, 'a'), stream(hub, 'a'), stream(hub, 'b')];
    hub.publish('a', patch(2));
    hub.publish('c', patch(9));
    expect([a1.got, a2.got, b.got]).toEqual([[2], [2], []]);
    expect([hub.streamsOf('a'), hub.streamsOf('b'), hub.streamsOf('c'), hub.streamCount]).toEqual([2, 1, 0, 3]);
    expect(hub.listening('c')).toBe(false);
  });

  it('counts a stream once whether it unsubscribes, is closed, or both', () => {
    const hub = new StreamHub();
    const [a1, a2, b] = [stream(hub, 'a'), stream(hub, 'a'), stream(hub, 'b')];
    a1.state.unsubscribe();
    a1.state.unsubscribe();
    expect([hub.streamsOf('a'), hub.streamCount]).toEqual([1, 2]);
    hub.close('a');
    expect([a1.state.closed, a2.state.closed, b.state.closed]).toEqual([false, true, false]);
    expect([hub.listening('a'), hub.streamCount]).toEqual([false, 1]);
    hub.publish('a', patch(3));
    expect(a2.got).toEqual([]);
    hub.beforeApplicationShutdown();
    expect([b.state.closed, hub.streamCount]).toEqual([true, 0]);
  });
});
