import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { SQL_RUNNER, SqlRunner } from '../database/sql.port';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(SQL_RUNNER) private readonly sql: SqlRunner) {}

  @Get()
  check(): { status: 'ok'; database: 'ok' } {
    try {
      this.sql.get('SELECT 1 AS ok FROM events LIMIT 1');
    } catch (error) {
      throw new ServiceUnavailableException(`database unavailable: ${(error as Error).message}`);
    }
    return { status: 'ok', database: 'ok' };
  }
}
