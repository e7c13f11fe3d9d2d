/**
 * The OpenAPI document served at /docs, built from libs/contracts — the one place wire shapes are defined — without
 * a decorator in it:
 * - request bodies and queries from the class-validator rules the DTOs already carry (class-validator's
 *   getMetadataStorage, read when the document is first asked for): exactly what the validation pipe enforces;
 * - answers from the TypeScript interfaces of libs/contracts, read with the TypeScript checker (doc comments become
 *   descriptions), so the document cannot drift from the types the code compiles against.
 * Why not @ApiProperty on the contracts classes: the agent imports libs/contracts and is bundled by esbuild into one
 * small file, which would then carry @nestjs/swagger (and @nestjs/common under it); and most answers are interfaces,
 * which decorators cannot describe. The Nest Swagger CLI plugin needs `nest build` (this repo builds with `tsc -b`) and
 * also covers classes only. Operations say what they answer with ApiAnswer / ApiRefusals (api-answer.decorator.ts)
 * and which credentials they take through @Allow; the refusals every operation shares are added here.
 */
import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type {
  OperationObject, ParameterObject, PathItemObject, ReferenceObject, ResponseObject, SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { SSE_EVENT_CONFIG, SSE_EVENT_PATCH } from '@meshgate/contracts';
import { HUJSON, HUJSON_EXTENSION, schemaRef, SSE_EXTENSION } from './api-answer.decorator';
import { SECURITY_SCHEMES } from './api-credentials.decorator';
import { ContractTypes, readContractTypes } from './contract-types';
import { describeDtosToSwagger, dtoSchemas } from './dto-schemas';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } } };
const refusal = (description: string, headers?: ResponseObject['headers']): ResponseObject => ({
  description, ...(headers ? { headers } : {}), content: { 'application/json': { schema: schemaRef('ApiError') } },
});
/** The refusals many operations share, as reusable responses. */
const SHARED_RESPONSES: Record<string, ResponseObject> = {
  BadRequest: refusal('The request is malformed: a field (named in `message`) is missing, of the wrong type or form, unknown, or null'),
  Unauthorized: refusal('No credentials, or credentials that are invalid, expired, revoked, or no longer match the membership'),
  Forbidden: refusal('The credentials are valid but not allowed here (kind of credential, role, or another node)'),
  NotFound: refusal('No such resource in the caller\'s tenant (another tenant\'s ids are answered the same)'),
  TooManyRequests: refusal('The caller\'s rate limit is spent', retryAfter),
  ServiceUnavailable: refusal('The server cannot take it now (database busy, full or unreachable; too many streams)', retryAfter),
};
const sharedRef = (name: keyof typeof SHARED_RESPONSES): ReferenceObject => ({ $ref: `#/components/responses/${name}` });

const POLICY_DOCUMENT: SchemaObject = {
  type: 'object', additionalProperties: true,
  description: 'A Tailscale/headscale policy file (groups, tagOwners, hosts, acls, tests, autoApprovers; MeshGate adds deny, qos, schedules and routes). '
    + 'Checked by the policy parser: refusals name JSON paths.',
  example: { tagOwners: { 'tag:web': ['autogroup:admin'], 'tag:db': ['autogroup:admin'] }, acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db:5432'] }] },
};
const HUJSON_TEXT: SchemaObject = {
  type: 'string', description: 'The policy as HuJSON: JSON with comments and trailing commas',
  example: '{\n  // web talks to the database\n  "acls": [{"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]},],\n}',
};

/** The SSE events of the config stream, as fields of an event: `event:` names it, `id:` is the config version. */
function sseEventSchema(event: string, data: string, what: string): SchemaObject {
  return {
    type: 'object', required: ['event', 'id', 'data'], additionalProperties: false, description: what,
    properties: {
      event: { type: 'string', enum: [event] },
      id: { type: 'string', pattern: '^[0-9]+$', description: 'The config version: send it back as Last-Event-ID to resume' },
      data: { allOf: [schemaRef(data)], description: 'JSON on the data: line' },
    },
  };
}

/** The contracts as schemas: read once per process (one to a few seconds), on the first request for a document. */
let contracts: { types: ContractTypes; dtos: Record<string, SchemaObject> } | undefined;
const documents = new WeakMap<INestApplication, OpenAPIObject>();

/** The app's document, built on first use. */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  let document = documents.get(app);
  if (!document) documents.set(app, (document = buildOpenApiDocument(app)));
  return document;
}

function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  if (!contracts) {
    const types = readContractTypes();
    contracts = { types, dtos: dtoSchemas(types.propertyDocs) };
    describeDtosToSwagger(contracts.dtos);
  }
  const { types, dtos } = contracts;
  const document = SwaggerModule.createDocument(app, new DocumentBuilder()
    .setTitle('MeshGate control plane')
    .setDescription('Zero-trust WireGuard mesh: nodes, policies, configs, the topology and the audit log. '
      + 'Every refusal has the ApiError shape; see the README for the flow (register, log in, enroll nodes, write a policy).')
    .setVersion('1')
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addServer('/', 'This control plane')
    .build());

  document.components = {
    ...document.components,
    securitySchemes: SECURITY_SCHEMES,
    responses: SHARED_RESPONSES,
    schemas: {
      ...document.components?.schemas,
      ...dtos,
      PolicyDocument: POLICY_DOCUMENT,
      ConfigEvent: sseEventSchema(SSE_EVENT_CONFIG, 'NodeConfig', 'The full config: first on connect, and whenever the client missed versions'),
      PatchEvent: sseEventSchema(SSE_EVENT_PATCH, 'ConfigPatch', 'A change from baseVersion to version'),
    },
  };
  for (const [path, item] of Object.entries(document.paths) as Array<[string, PathItemObject]>) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) completeOperation(path, method, operation);
    }
  }
  // The contracts' interfaces the document names (and those they name); then only the schemas something refers to:
  // query DTOs are spelled out as parameters.
  const schemas = document.components.schemas!;
  Object.assign(schemas, types.schemasOf([...refsIn(document)].filter((name) => !schemas[name])));
  const used = new Set<string>();
  const pending = [...refsIn({ paths: document.paths, responses: document.components.responses })];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (used.has(name)) continue;
    used.add(name);
    pending.push(...refsIn(schemas[name]));
  }
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  return document;
}

/** What the explorer leaves out: a summary, the shared refusals, the event stream and HuJSON bodies in full. */
function completeOperation(path: string, method: (typeof METHODS)[number], operation: OperationObject): void {
  const extensions = operation as OperationObject & Record<string, unknown>;
  operation.summary ??= summaryOf(operation.operationId ?? `${method} ${path}`);
  const responses = operation.responses;
  const parameters = (operation.parameters ?? []) as ParameterObject[];
  for (const p of parameters) if (p.in === 'path') p.description ??= p.name === 'id' ? 'An id (UUID); nodes also take their name' : undefined;
  // Nest's placeholder for operations that declare their answers: an empty default 200/201.
  for (const status of ['200', '201']) {
    const r = responses[status] as ResponseObject | undefined;
    if (r && !r.content && r.description === '' && Object.keys(responses).some((s) => s !== status && s.startsWith('2'))) delete responses[status];
    else if (r && r.description === '') r.description = 'OK';
  }
  operation.security ??= []; // public: register, login, single sign-on, health
  const secured = operation.security.length > 0;
  const write = method !== 'get';
  if (parameters.length > 0 || operation.requestBody) responses['400'] ??= sharedRef('BadRequest');
  if (secured) {
    responses['401'] ??= sharedRef('Unauthorized');
    responses['403'] ??= sharedRef('Forbidden');
  }
  if (path.includes('{')) responses['404'] ??= sharedRef('NotFound');
  if (write || path.startsWith('/api/v1/auth/')) responses['429'] ??= sharedRef('TooManyRequests');
  if (write) responses['503'] ??= sharedRef('ServiceUnavailable');

  if (extensions[SSE_EXTENSION]) {
    delete extensions[SSE_EXTENSION];
    responses['200'] = {
      description: 'A text/event-stream of `config` and `patch` events, comment pings (`: ping`) between them',
      content: { 'text/event-stream': { schema: { oneOf: [schemaRef('ConfigEvent'), schemaRef('PatchEvent')] } } },
    };
    responses['429'] ??= sharedRef('TooManyRequests');
    responses['503'] ??= sharedRef('ServiceUnavailable');
  }
  const hujson = extensions[HUJSON_EXTENSION] as 'body' | 'answer' | undefined;
  if (hujson) {
    delete extensions[HUJSON_EXTENSION];
    if (hujson === 'body') {
      operation.requestBody = {
        required: true, description: 'The policy: JSON, or HuJSON text (Content-Type application/hujson or text/plain)',
        content: { 'application/json': { schema: schemaRef('PolicyDocument') }, [HUJSON]: { schema: HUJSON_TEXT }, 'text/plain': { schema: HUJSON_TEXT } },
      };
      responses['400'] ??= sharedRef('BadRequest');
    } else {
      const ok = responses['200'] as ResponseObject;
      ok.content = { ...ok.content, [HUJSON]: { schema: { ...HUJSON_TEXT, description: 'The policy as written, with Accept: application/hujson' } } };
    }
  }
}

/** The schema names a part of the document refers to. */
function refsIn(part: unknown): Set<string> {
  return new Set([...JSON.stringify(part ?? null).matchAll(/"#\/components\/schemas\/([A-Za-z0-9_]+)"/g)].map((m) => m[1]));
}

/** `NodesController_approveRoutes` → "Approve routes (nodes)". */
function summaryOf(operationId: string): string {
  const [controller, method = controller] = operationId.split('_');
  const words = method.replace(/([A-Z])/g, ' $1').toLowerCase().trim();
  const area = controller.replace(/Controller$/, '').replace(/([A-Z])/g, ' $1').toLowerCase().trim();
  return `${words.charAt(0).toUpperCase()}${words.slice(1)} (${area})`;
}
