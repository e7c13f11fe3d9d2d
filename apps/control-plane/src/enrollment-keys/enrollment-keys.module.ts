import { Module } from '@nestjs/common';
import { CreateEnrollmentKeyHandler } from './commands/create-enrollment-key.handler';
import { RevokeEnrollmentKeyHandler } from './commands/revoke-enrollment-key.handler';
import { EnrollmentKeysController } from './enrollment-keys.controller';

export const enrollmentKeyHandlers = [CreateEnrollmentKeyHandler, RevokeEnrollmentKeyHandler];

@Module({ controllers: [EnrollmentKeysController], providers: [...enrollmentKeyHandlers] })
export class EnrollmentKeysModule {}
