/**
 * The baseline for the heartbeat benchmark: the same Nest + Fastify adapter, global validation pipe included, with a
 * route that validates the same body the same way (the compiled validator) and does nothing.
 */
import 'reflect-metadata';
import { Controller, HttpCode, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { HeartbeatDto } from '@meshgate/contracts';
import { CompiledBody } from '../common/compiled-body';
import { StrictValidationPipe } from '../common/validation';

@Controller('bare')
class BareController {
  @Post(':id/heartbeat')
  @HttpCode(202)
  heartbeat(@Param('id') _id: string, @CompiledBody(HeartbeatDto) _dto: HeartbeatDto): { accepted: true } {
    return { accepted: true };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), { logger: false });
  app.useGlobalPipes(new StrictValidationPipe());
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.stdout.write('ready\n');
}

void main();
