import { Module } from '@nestjs/common';
import { AgentArtifact } from './agent-artifact';
import { DownloadsController } from './downloads.controller';

/** GET /install.sh and /downloads/*: the agent installer and the bundled agent, served without credentials. */
@Module({ controllers: [DownloadsController], providers: [AgentArtifact] })
export class DownloadsModule {}
