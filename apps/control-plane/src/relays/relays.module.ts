import { Module } from '@nestjs/common';
import { RelayPathHandler } from './relay-path.handler';
import { RelayPathsController } from './relay-paths.controller';

export const relayHandlers = [RelayPathHandler];

@Module({ controllers: [RelayPathsController], providers: [...relayHandlers] })
export class RelaysModule {}
