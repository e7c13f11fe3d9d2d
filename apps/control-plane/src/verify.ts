/**
 * `npm run verify -- --log export.jsonl --key key.pem [--key old.pem] [--checkpoint <position>:<hash> ...]`: checks an
 * audit export (GET /api/v1/audit/export, or the data of GET /api/v1/audit/stream's frames) with no database: every
 * line, the hash chain, every checkpoint's and vouched-for line's signature, and the checkpoints given from outside
 * (kept apart from the log, e.g. from GET /api/v1/audit/checkpoints). Names the first bad position.
 *
 * Exit codes: 0 intact; 1 tampered (the first bad position is printed); 2 bad arguments or input that cannot be read,
 * or a check asked for that this export cannot answer; 3 truncated (cut off, no end line, or a checkpoint given from
 * outside lies beyond its end).
 */
import { createReadStream, readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readPublicKey } from './audit/checkpoint-signature';
import { ExportVerifier, Verdict } from './audit/export-verifier';

export const EXIT = { intact: 0, tampered: 1, usage: 2, unverifiable: 2, truncated: 3 } as const;

function checkpointArg(value: string, previous: Map<number, string> = new Map()): Map<number, string> {
  const match = /^([0-9]{1,15}):([0-9a-f]{64})$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected <position>:<hash> (the hash as 64 lower-case hex digits)');
  return new Map(previous).set(Number(match[1]), match[2]);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Feeds the file to the verifier line by line (never the whole file in memory). */
export async function verifyExport(file: string, keys: readonly KeyObject[], outside: ReadonlyMap<number, string>): Promise<Verdict> {
  const verifier = new ExportVerifier(keys, outside);
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    rest += chunk as string;
    let start = 0;
    let newline: number;
    while ((newline = rest.indexOf('\n', start)) >= 0) {
      const ok = verifier.line(rest.slice(start, newline));
      start = newline + 1;
      if (!ok) return verifier.finish();
    }
    rest = rest.slice(start);
  }
  // Every line of an export ends with a newline: anything after the last one is a line cut off.
  return verifier.finish(rest.length > 0);
}

function describe(verdict: Verdict): string {
  const s = verdict.summary;
  const covered = s.first === null ? 'nothing' : `positions ${s.first + 1}..${s.last}`;
  const counts = `${s.events} events, ${s.redacted} redacted, ${s.hidden} hidden, ${s.checkpoints} checkpoints` +
    (s.lastCheckpoint === null ? '' : ` (the last signs position ${s.lastCheckpoint})`) +
    (s.outsideMatched.length ? `; outside checkpoints matched at ${s.outsideMatched.join(', ')}` : '');
  switch (verdict.status) {
    case 'intact': return `INTACT: ${covered}; ${counts}`;
    case 'tampered': return `TAMPERED at position ${verdict.position}` +
      (verdict.from < verdict.position ? ` (the change may be anywhere in ${verdict.from}..${verdict.position})` : '') +
      ` (line ${verdict.line}): ${verdict.reason}\nchecked before it: ${counts}`;
    case 'truncated': return `TRUNCATED: ${verdict.reason}\nchecked: ${covered}; ${counts}`;
    case 'unverifiable': return `CANNOT VERIFY: ${verdict.reason}\nchecked: ${covered}; ${counts}`;
  }
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('verify')
    .description('Verify a MeshGate audit export offline: hash chain, checkpoint signatures, outside checkpoints.')
    .requiredOption('--log <file>', 'the export (JSON lines)')
    .requiredOption('--key <file>', 'the checkpoint public key, PEM (GET /api/v1/audit/checkpoints/key); repeat for older keys', collect)
    .option('--checkpoint <position:hash>', 'a checkpoint kept outside the log; repeatable', checkpointArg)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT.usage;
    throw error;
  }
  const options = program.opts<{ log: string; key: string[]; checkpoint?: Map<number, string> }>();
  const keys: KeyObject[] = [];
  for (const file of options.key) {
    let key: KeyObject | null = null;
    try {
      key = readPublicKey(readFileSync(file, 'utf8'));
    } catch (error) {
      console.error(`--key ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return EXIT.usage;
    }
    if (!key) {
      console.error(`--key ${file}: not an Ed25519 public key in PEM`);
      return EXIT.usage;
    }
    keys.push(key);
  }
  let verdict: Verdict;
  try {
    verdict = await verifyExport(options.log, keys, options.checkpoint ?? new Map());
  } catch (error) {
    console.error(`--log ${options.log}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return EXIT.usage;
  }
  console.log(describe(verdict));
  return EXIT[verdict.status];
}

if (require.main === module) {
  main(process.argv).then((code) => process.exit(code), (error) => {
    console.error(error);
    process.exit(EXIT.usage);
  });
}
