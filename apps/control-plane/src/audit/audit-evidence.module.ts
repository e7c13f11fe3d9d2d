import { Module } from '@nestjs/common';
import { AuditEvidenceController } from './audit-evidence.controller';
import { AuditExporter } from './audit-exporter';
import { AuditStreamController } from './audit-stream.controller';
import { AuditTail } from './audit-tail';
import { CheckpointSigner } from './checkpoint-signer';
import { CheckpointsReadModel } from './checkpoints.read-model';

/** Tamper evidence: signed checkpoints, the tenant's export of the log and its live tail. */
@Module({
  controllers: [AuditEvidenceController, AuditStreamController],
  providers: [CheckpointsReadModel, CheckpointSigner, AuditExporter, AuditTail],
})
export class AuditEvidenceModule {}
