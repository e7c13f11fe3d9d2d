import { AuditProjection } from './audit.projection';
import { ConfigProjection } from './config.projection';
import { DirectoryProjection } from './directory.projection';
import { NodesProjection } from './nodes.projection';
import { Projection } from './projection';

/** The projections in the order they run; replay builds the same list the server does. */
export function allProjections(nodes = new NodesProjection(), configs = new ConfigProjection()): Projection[] {
  return [new DirectoryProjection(), nodes, configs, new AuditProjection()];
}
