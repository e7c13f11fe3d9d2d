import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { GetTopologyHandler } from './queries/get-topology.handler';
import { TopologyController } from './topology.controller';
import { TopologyReadModel } from './topology.read-model';

@Module({ imports: [NodesModule], controllers: [TopologyController], providers: [TopologyReadModel, GetTopologyHandler] })
export class TopologyModule {}
