import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { StorageFaultError } from '../storage/database.port';

/** A write the database could not take (lock held elsewhere, disk full): 503 with when to try again, never 500. */
@Catch(StorageFaultError)
export class StorageFaultFilter implements ExceptionFilter {
  catch(error: StorageFaultError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const statusCode = HttpStatus.SERVICE_UNAVAILABLE;
    void reply
      .status(statusCode)
      .header('retry-after', String(error.retryAfterSeconds))
      .send({ statusCode, message: error.message, error: 'Service Unavailable', code: { busy: 'DATABASE_BUSY', full: 'STORAGE_FULL', unavailable: 'DATABASE_UNAVAILABLE' }[error.reason] });
  }
}
