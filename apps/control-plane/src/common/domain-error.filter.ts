import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import { DomainError, DomainErrorKind } from '@meshgate/domain';
import type { FastifyReply } from 'fastify';
import { ConcurrencyError } from '../event-store/concurrency.error';
import { identityConflict } from '../projections/node-identities.inline';
import { UniqueViolationError } from '../storage/database.port';

const STATUS: Record<DomainErrorKind, number> = {
  NOT_FOUND: HttpStatus.NOT_FOUND,
  CONFLICT: HttpStatus.CONFLICT,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  UNAUTHORIZED: HttpStatus.UNAUTHORIZED,
  PRECONDITION_FAILED: HttpStatus.PRECONDITION_FAILED,
  INVALID: HttpStatus.BAD_REQUEST,
};
const NAMES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 412: 'Precondition Failed',
};

/**
 * Expected refusals from deciders, lost optimistic-concurrency races, and lost races on a unique index (another
 * request, maybe on another replica, took the name or key first), as the API's error shape.
 */
@Catch(DomainError, ConcurrencyError, UniqueViolationError)
export class DomainErrorFilter implements ExceptionFilter {
  catch(caught: DomainError | ConcurrencyError | UniqueViolationError, host: ArgumentsHost): void {
    const error = caught instanceof UniqueViolationError
      ? identityConflict(caught) ?? new DomainError('ALREADY_EXISTS', 'CONFLICT', 'it already exists')
      : caught;
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const statusCode = error instanceof DomainError ? STATUS[error.kind] : HttpStatus.CONFLICT;
    const message = error instanceof DomainError
      ? (error.details?.length ? error.details : error.message)
      : 'the resource was changed concurrently; read it again and retry';
    void reply.status(statusCode).send({ statusCode, message, error: NAMES[statusCode], code: error instanceof DomainError ? error.code : 'CONCURRENT_UPDATE' });
  }
}
