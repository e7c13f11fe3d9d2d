import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { HealthView, LiveView } from '@meshgate/contracts';
import { VERSION } from '../config/version';
import { AppConfig, APP_CONFIG } from '../config/app-config';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { DATABASE, Database } from '../storage/database.port';
import { ApiAnswer, ApiRefusals } from '../openapi/api-answer.decorator';

/** A failed write for lack of space keeps readiness down this long, unless a write has committed since. */
const STORAGE_FAULT_HOLD_MS = 10_000;

/**
 * Liveness (`/health/live`: the process answers) is apart from readiness (`/health/ready`, and `/health`): the
 * database answers, and there is room to write — enough free space in the data directory, and no write refused for
 * lack of space in the last few seconds (a quota can refuse writes while the file system reports free space).
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly dataDir: string;

  constructor(
    @Inject(DATABASE) private readonly db: Database,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.dataDir = dirname(config.databasePath);
  }

  @Get('live')
  @HttpCode(200)
  @ApiAnswer(200, 'LiveView')
  live(): LiveView {
    return { status: 'ok' };
  }

  @Get()
  @ApiAnswer(200, 'HealthView')
  @ApiRefusals({ 503: 'The database does not answer, or (SQLite) the disk is full: `message` is the HealthView' })
  check(): Promise<HealthView> {
    return this.ready();
  }

  @Get('ready')
  @ApiAnswer(200, 'HealthView')
  @ApiRefusals({ 503: 'The database does not answer, or (SQLite) the disk is full: `message` is the HealthView' })
  async ready(): Promise<HealthView> {
    let database: HealthView['database'] = 'ok';
    try {
      await this.db.one('SELECT position FROM chain_head WHERE id = 1');
    } catch {
      database = 'unavailable';
    }
    // The data directory holds the SQLite file; PostgreSQL's disk is the database server's, reported by its errors.
    const freeBytes = this.db.dialect === 'sqlite' ? freeSpace(this.dataDir) : null;
    const faultAt = this.store.storageFullSince();
    const recentFault = faultAt !== null && Date.now() - faultAt < STORAGE_FAULT_HOLD_MS;
    const storage: HealthView['storage'] = (freeBytes !== null && freeBytes < this.config.minFreeDiskBytes) || recentFault ? 'full' : 'ok';
    const body: HealthView = { status: database === 'ok' && storage === 'ok' ? 'ok' : 'unavailable', database, storage, freeBytes, version: VERSION };
    if (body.status !== 'ok') throw new ServiceUnavailableException({ statusCode: 503, error: 'Service Unavailable', message: body });
    return body;
  }
}

function freeSpace(dir: string): number {
  const { bavail, bsize } = statfsSync(dir);
  return bavail * bsize;
}
