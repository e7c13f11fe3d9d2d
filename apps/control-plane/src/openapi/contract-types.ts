import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type * as TypeScript from 'typescript';

export type Schemas = Record<string, SchemaObject>;

export interface ContractTypes {
  /**
   * The schemas of these exported interfaces (or object type aliases) and of every exported one they refer to (as
   * $ref), by name. Only what the document uses is converted: libs/contracts also exports non-wire helpers (ip.ts).
   */
  schemasOf(names: Iterable<string>): Schemas;
  /** The doc comments of exported classes' properties (the DTOs), by class then property. */
  propertyDocs: Map<string, Map<string, string>>;
}

/** libs/contracts' entry point: the sources in a checkout, else the declarations tsc emitted (comments kept). */
function contractsEntry(): string {
  // src/index.ts under ts-jest, dist/index.js when built: the package's directory either way.
  const root = dirname(dirname(require.resolve('@meshgate/contracts')));
  const source = join(root, 'src', 'index.ts');
  return existsSync(source) ? source : join(root, 'dist', 'index.d.ts');
}

const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` }) as SchemaObject;

/**
 * Reads libs/contracts with the TypeScript checker and turns its exported interfaces into JSON schemas: the wire
 * types stay TypeScript interfaces (no decorators, nothing for the agent's bundle), and the document cannot drift
 * from them. One to a few seconds, once per process, when /docs is first asked for.
 */
export function readContractTypes(): ContractTypes {
  // Loaded here, not at start-up: the compiler is large, and most processes never serve /docs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof TypeScript;
  const docOf = (symbol: TypeScript.Symbol, checker: TypeScript.TypeChecker) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const program = ts.createProgram([contractsEntry()], {
    target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'], types: [], skipLibCheck: true, noEmit: true, strict: true,
    experimentalDecorators: true,
  });
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(contractsEntry())!;
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(entry)!).map((s) =>
    s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const exported = new Set(exports.filter((s) => s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)).map((s) => s.getName()));
  const propertyDocs = new Map<string, Map<string, string>>();

  const wanted: string[] = [];
  const named = (type: TypeScript.Type): string | undefined => {
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const name = symbol?.getName();
    if (!name || !exported.has(name) || type.aliasTypeArguments) return undefined;
    wanted.push(name);
    return name;
  };

  const objectSchema = (type: TypeScript.Type): SchemaObject => {
    const properties: Record<string, SchemaObject> = {};
    const required: string[] = [];
    for (const prop of checker.getPropertiesOfType(type)) {
      const declaration = prop.valueDeclaration ?? prop.declarations?.[0];
      if (!declaration) continue;
      const propType = checker.getTypeOfSymbolAtLocation(prop, declaration);
      const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
      const schema = toSchema(propType);
      const description = docOf(prop, checker);
      properties[prop.getName()] = description ? ('$ref' in schema ? { allOf: [schema], description } : { ...schema, description }) : schema;
      if (!optional) required.push(prop.getName());
    }
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    return {
      type: 'object', properties,
      ...(required.length ? { required } : {}),
      // Answers may grow fields: only maps (index signatures) say what their other keys hold.
      ...(index ? { additionalProperties: toSchema(index.type) } : {}),
    };
  };

  function toSchema(type: TypeScript.Type): SchemaObject {
    if (type.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return {};
    if (type.isUnion()) {
      const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
      // `undefined` is an optional property's (not required); `null` is a value on the wire.
      const nullable = type.types.some((t) => t.flags & ts.TypeFlags.Null);
      let schema: SchemaObject;
      if (members.every((t) => t.isStringLiteral())) schema = { type: 'string', enum: members.map((t) => (t as TypeScript.StringLiteralType).value) };
      else if (members.every((t) => t.flags & ts.TypeFlags.BooleanLiteral)) schema = { type: 'boolean', ...(members.length === 1 ? { enum: [checker.typeToString(members[0]) === 'true'] } : {}) };
      else if (members.length === 1) schema = toSchema(members[0]);
      // anyOf, not oneOf: a TypeScript union does not promise that a value matches one member only.
      else schema = { anyOf: members.map(toSchema) };
      if (!nullable) return schema;
      // OpenAPI 3.0 wants a type beside `nullable`: a nullable reference is an object that is all of the referenced one.
      return '$ref' in schema ? { type: 'object', allOf: [schema], nullable: true } : { ...schema, nullable: true };
    }
    if (type.flags & ts.TypeFlags.StringLiteral) return { type: 'string', enum: [(type as TypeScript.StringLiteralType).value] };
    if (type.flags & ts.TypeFlags.NumberLiteral) return { type: 'number', enum: [(type as TypeScript.NumberLiteralType).value] };
    if (type.flags & ts.TypeFlags.BooleanLiteral) return { type: 'boolean', enum: [checker.typeToString(type) === 'true'] };
    if (type.flags & ts.TypeFlags.String) return { type: 'string' };
    if (type.flags & ts.TypeFlags.Number) return { type: 'number' };
    if (type.flags & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (checker.isArrayType(type) || checker.isTupleType(type)) {
      return { type: 'array', items: toSchema(checker.getTypeArguments(type as TypeScript.TypeReference)[0] ?? checker.getAnyType()) };
    }
    if (type.isIntersection()) return objectSchema(type);
    if (type.flags & ts.TypeFlags.Object) {
      const name = named(type);
      return name ? ref(name) : objectSchema(type);
    }
    throw new Error(`libs/contracts: no JSON schema for the type ${checker.typeToString(type)}`);
  }

  const byName = new Map(exports.map((symbol) => [symbol.getName(), symbol]));
  for (const symbol of exports) {
    const name = symbol.getName();
    if (symbol.flags & ts.SymbolFlags.Class) {
      const docs = new Map<string, string>();
      for (const prop of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
        const doc = docOf(prop, checker);
        if (doc) docs.set(prop.getName(), doc);
      }
      propertyDocs.set(name, docs);
    }
  }

  const schemasOf = (names: Iterable<string>): Schemas => {
    const schemas: Schemas = {};
    wanted.push(...names);
    for (let name = wanted.pop(); name !== undefined; name = wanted.pop()) {
      const symbol = byName.get(name);
      if (schemas[name] || !symbol || !exported.has(name)) continue;
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      // Union and scalar aliases (NodeStatus, RoleName) are written out where they are used; unions of objects as oneOf.
      const schema = type.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection) ? objectSchema(type) : toSchema(type);
      const description = docOf(symbol, checker);
      schemas[name] = description ? { ...schema, description } : schema;
    }
    return schemas;
  };
  return { schemasOf, propertyDocs };
}
