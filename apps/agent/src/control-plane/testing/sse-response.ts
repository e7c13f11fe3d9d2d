import type { ConfigPatch, NodeConfig } from '../../contracts';

/** For specs: a config stream's body as the control plane writes it, `id:` being each frame's version. */
export const sseResponse = (events: Array<['config' | 'patch', NodeConfig | ConfigPatch]>): Response =>
  new Response(events.map(([name, data]) => `event: ${name}\nid: ${data.version}\ndata: ${JSON.stringify(data)}\n\n`).join(''));
