import { Module } from '@nestjs/common';
import { ApiKeysController } from './api-keys.controller';
import { CreateApiKeyHandler } from './commands/create-api-key.handler';
import { RevokeApiKeyHandler } from './commands/revoke-api-key.handler';

export const apiKeyHandlers = [CreateApiKeyHandler, RevokeApiKeyHandler];

@Module({ controllers: [ApiKeysController], providers: [...apiKeyHandlers] })
export class ApiKeysModule {}
