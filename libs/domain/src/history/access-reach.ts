import { nodeReach } from '../policy/evaluate';
import { Reach } from '../policy/ports';
import { TenantHistory } from './tenant-history';

/** What node `srcId` could reach on node `dstId` in the folded state: nothing when either is out of the mesh. */
export function accessReach(history: TenantHistory, srcId: string, dstId: string): Reach {
  const src = history.nodes.get(srcId);
  const dst = history.nodes.get(dstId);
  if (!src || !dst || !history.inMesh(src) || !history.inMesh(dst)) return [];
  return nodeReach(history.policy.compiled, history.identity(src), history.identity(dst), new Set(history.open.keys()));
}
