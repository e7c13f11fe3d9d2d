import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { HeartbeatDto, MAX_CANDIDATES } from '@meshgate/contracts';
import { contractDtos } from '../openapi/dto-schemas';
import { CompiledBody, CompiledBodyPipe } from './compiled-body';
import { StrictValidationPipe } from './validation';

const KEY = 'A'.repeat(42) + 'A=';
const peer = { publicKey: KEY, rxBytes: 0, txBytes: 0 };
const heartbeat = new CompiledBodyPipe(HeartbeatDto);
const strict = new StrictValidationPipe();

/** The 400's messages, or 'accepted'. */
function refusal(check: () => unknown): unknown {
  try {
    check();
    return 'accepted';
  } catch (error) {
    return (error as { getResponse(): { message: unknown } }).getResponse().message;
  }
}
/** What StrictValidationPipe answers for the same body (on a copy: its transform strips keys in place). */
async function strictRefusal(body: unknown): Promise<unknown> {
  try {
    await strict.transform(JSON.parse(JSON.stringify(body)), { type: 'body', metatype: HeartbeatDto, data: undefined });
    return 'accepted';
  } catch (error) {
    return (error as { getResponse(): { message: unknown } }).getResponse().message;
  }
}

describe('CompiledBodyPipe (HeartbeatDto)', () => {
  it.each<[string, Record<string, unknown>]>([
    ['an empty heartbeat', {}],
    ['every field', {
      endpoint: '198.51.100.7:51820', rxBytes: 0, txBytes: Number.MAX_SAFE_INTEGER, candidates: ['[2001:db8::1]:51820', 'node.example:1'],
      peers: [{ ...peer, lastHandshakeAt: '2024-01-31T09:00:00.123+01:00' }, { ...peer, lastHandshakeAt: '2024-01-31' }],
    }],
    [`${MAX_CANDIDATES} candidates and 20,000 peers`, { candidates: Array(MAX_CANDIDATES).fill('10.0.0.1:5'), peers: Array(20_000).fill(peer) }],
  ])('passes %s through as it came: the same plain object, unchanged', (_name, body) => {
    const sent = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
    const passed = heartbeat.transform(sent);
    expect(passed).toBe(sent);
    expect(Object.getPrototypeOf(passed)).toBe(Object.prototype);
    expect(passed).toEqual(body);
  });

  const cases: Array<[string, unknown, string[]]> = [
    ['rxBytes negative', { rxBytes: -1 }, ['rxBytes must not be less than 0']],
    ['rxBytes fractional', { rxBytes: 1.5 }, ['rxBytes must be an integer number']],
    ['rxBytes beyond 2^53', { rxBytes: 1e300 }, ['rxBytes must not be greater than 9007199254740991']],
    ['rxBytes a string', { rxBytes: '1' },
      ['rxBytes must not be greater than 9007199254740991', 'rxBytes must not be less than 0', 'rxBytes must be an integer number']],
    ['txBytes null', { txBytes: null },
      ['txBytes must not be greater than 9007199254740991', 'txBytes must not be less than 0', 'txBytes must be an integer number']],
    ['endpoint malformed', { endpoint: 'nope' }, ['endpoint must be host:port']],
    ['endpoint with port 65536', { endpoint: '198.51.100.1:65536' }, ['endpoint must be host:port']],
    ['endpoint a number', { endpoint: 5 }, ['endpoint must be host:port', 'endpoint must be a string']],
    ['peers a string', { peers: 'x' },
      ['peers must contain no more than 20000 elements', 'peers must be an array', 'each value in nested property peers must be either object or array']],
    ['more than 20,000 peers', { peers: Array(20_001).fill(peer) }, ['peers must contain no more than 20000 elements']],
    ['a peer null', { peers: [null] }, ['peers.each value in nested property peers must be either object or array']],
    ['a peer with a bad key', { peers: [{ ...peer, publicKey: 'bad' }] }, ['peers.0.publicKey must be a base64 WireGuard key (32 bytes)']],
    ['a peer without counters', { peers: [{ publicKey: KEY }] }, [
      'peers.0.rxBytes must not be greater than 9007199254740991', 'peers.0.rxBytes must not be less than 0', 'peers.0.rxBytes must be an integer number',
      'peers.0.txBytes must not be greater than 9007199254740991', 'peers.0.txBytes must not be less than 0', 'peers.0.txBytes must be an integer number',
    ]],
    ...['yesterday', '2021-02-29', '2024-01-31T09:00:00', '2020-W01', null].map((at): [string, unknown, string[]] => [
      `a peer handshake at ${String(at)}`, { peers: [{ ...peer, lastHandshakeAt: at }] },
      ['peers.0.lastHandshakeAt must be a date (2024-01-31) or a date-time with a zone (2024-01-31T09:00:00Z)']]),
    ['problems in two peers', { peers: [{ ...peer, publicKey: 'bad', rxBytes: -1 }, { ...peer, txBytes: 'x' }] }, [
      'peers.0.publicKey must be a base64 WireGuard key (32 bytes)', 'peers.0.rxBytes must not be less than 0',
      'peers.1.txBytes must not be greater than 9007199254740991', 'peers.1.txBytes must not be less than 0', 'peers.1.txBytes must be an integer number',
    ]],
    ['candidates a string', { candidates: '10.0.0.1:5' }, [`candidates must contain no more than ${MAX_CANDIDATES} elements`, 'candidates must be an array']],
    ['too many candidates', { candidates: Array(MAX_CANDIDATES + 1).fill('10.0.0.1:5') }, [`candidates must contain no more than ${MAX_CANDIDATES} elements`]],
    ['candidates malformed', { candidates: ['10.0.0.1:5', 'x', 5, null] }, ['each candidate must be host:port']],
  ];

  it.each(cases)('refuses %s with the message StrictValidationPipe gives', async (_name, body, messages) => {
    expect(refusal(() => heartbeat.transform(body))).toEqual(messages);
    expect(await strictRefusal(body)).toEqual(messages);
  });

  it.each<[string, unknown, string[]]>([
    ['an unknown field', { rxBytes: 1, isAdmin: true }, ['property isAdmin should not exist']],
    ['an unknown field in a peer', { peers: [{ ...peer, extra: { a: 1 } }] }, ['peers.0.property extra should not exist']],
    ...['__proto__', 'constructor', 'prototype', 'toString', 'valueOf'].flatMap((key): Array<[string, unknown, string[]]> => [
      [`a ${key} field`, JSON.parse(`{"${key}":1,"rxBytes":1}`), [`property ${key} should not exist`]],
      [`a ${key} field in a peer`, JSON.parse(`{"peers":[{"${key}":1,"publicKey":"${KEY}","rxBytes":0,"txBytes":0}]}`), [`peers.0.property ${key} should not exist`]],
    ]),
    ['an unknown field beside a bad one', { rxBytes: -1, isAdmin: true }, ['property isAdmin should not exist', 'rxBytes must not be less than 0']],
  ])('refuses %s, naming it', async (_name, body, messages) => {
    expect(refusal(() => heartbeat.transform(body))).toEqual(messages);
    expect(await strictRefusal(body)).toEqual(messages);
  });

  it('refuses a body wrong everywhere with the messages StrictValidationPipe gives, in its order', async () => {
    const body = {
      isAdmin: true, endpoint: 5, rxBytes: -1, txBytes: 1.5, candidates: ['x', '10.0.0.1:5'],
      peers: [peer, { ...peer, extra: 1, rxBytes: 'x', lastHandshakeAt: '2024-13-01' }, null, { publicKey: 'bad', rxBytes: 0 }],
    };
    const messages = refusal(() => heartbeat.transform(body));
    expect(messages).toHaveLength(16);
    expect(messages).toEqual(await strictRefusal(body));
  });

  it.each([[[]], ['x'], [null], [undefined], [5]])('refuses a body that is not a JSON object (%j)', (body) => {
    expect(refusal(() => heartbeat.transform(body))).toBe('request body must be a JSON object');
  });

  it('refuses an array as a peer, which class-validator took for a list of peers and let through', async () => {
    expect(refusal(() => heartbeat.transform({ peers: [[]] }))).toEqual(['peers.each value in nested property peers must be either object or array']);
    expect(await strictRefusal({ peers: [[]] })).toBe('accepted');
  });

  it('cuts the messages of a huge bad body as Nest does, and says so', () => {
    const messages = refusal(() => heartbeat.transform({ peers: Array(20_000).fill({ publicKey: 1 }) })) as string[];
    expect(messages.join('').length).toBeLessThanOrEqual(1_000_000 + 100);
    expect(messages.at(-1)).toBe('Further validation errors were omitted');
  });

  it('compiles every request DTO of the contracts (each rule and format has its mapping) but those with a case-blind pattern', () => {
    const refused = contractDtos().filter((dto) => {
      try {
        new CompiledBodyPipe(dto);
        return false;
      } catch (error) {
        expect(String(error)).toMatch(/a pattern with flags has no JSON Schema form/);
        return true;
      }
    });
    expect(refused.map((dto) => dto.name).sort()).toEqual(['AccessQueryDto', 'ReachabilityQueryDto', 'TimelineQueryDto', 'TopologyQueryDto']);
  });
});

describe('@CompiledBody in a Nest app with the global StrictValidationPipe', () => {
  const received: unknown[] = [];

  @Controller()
  class ProbeController {
    @Post('compiled') @HttpCode(202)
    compiled(@CompiledBody(HeartbeatDto) dto: HeartbeatDto): void {
      received.push(dto);
    }

    @Post('classic') @HttpCode(202)
    classic(@Body() dto: HeartbeatDto): void {
      received.push(dto);
    }
  }
  @Module({ controllers: [ProbeController] })
  class ProbeModule {}

  let app: NestFastifyApplication;
  let base: string;
  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(ProbeModule, new FastifyAdapter(), { logger: false });
    app.useGlobalPipes(new StrictValidationPipe());
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(() => app.close());

  const post = (path: string, body: unknown) =>
    fetch(`${base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** class-validator reads a class's rules from its metadata storage each time it validates an instance of it. */
  async function classValidatorLookups(send: () => Promise<Response>): Promise<{ status: number; lookups: number }> {
    const storage = getMetadataStorage();
    const spy = jest.spyOn(storage, 'getTargetValidationMetadatas');
    try {
      const reply = await send();
      await reply.arrayBuffer();
      return { status: reply.status, lookups: spy.mock.calls.filter(([target]) => target === HeartbeatDto).length };
    } finally {
      spy.mockRestore();
    }
  }

  it('hands the handler the parsed body, and class-validator never looks at it (it does for @Body())', async () => {
    const body = { rxBytes: 1, peers: [peer] };
    received.length = 0;
    expect(await classValidatorLookups(() => post('compiled', body))).toEqual({ status: 202, lookups: 0 });
    expect(received).toEqual([body]);
    expect(received[0]).not.toBeInstanceOf(HeartbeatDto);

    const classic = await classValidatorLookups(() => post('classic', body));
    expect(classic.status).toBe(202);
    expect(classic.lookups).toBeGreaterThan(0);
  });

  it('answers a bad body with the 400 the global pipe gives for @Body()', async () => {
    const body = { rxBytes: -1, peers: [{ ...peer, extra: 1 }] };
    const [compiled, classic] = await Promise.all([post('compiled', body), post('classic', body)]);
    expect(compiled.status).toBe(400);
    expect(await compiled.json()).toEqual(await classic.json());
  });

  it('documents the DTO as the operation\'s request body, as for @Body()', () => {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    expect(document.paths['/compiled'].post?.requestBody).toEqual(document.paths['/classic'].post?.requestBody);
  });
});
