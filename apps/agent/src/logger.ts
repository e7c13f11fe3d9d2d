import pino from 'pino';

/**
 * Structured JSON logs, one object per line on stdout, in the control plane's schema (its logging/root-logger.ts):
 * `level` as pino's name, `time` in ISO 8601, `msg`, `service: "agent"`, then the fields. Values under secret-looking
 * keys are never written.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SECRET_KEY = /token|secret|private|password|authorization/i;

/** Secret-looking keys redacted; an Error under a key other than `err` (which pino serialises) as its message. */
function scrub(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEY.test(key)) out[key] = '[redacted]';
    else if (value instanceof Error && key !== 'err') out[key] = value.message;
    else out[key] = value;
  }
  return out;
}

export function createLogger(
  options: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {},
): Logger {
  const write = options.write;
  const root = pino(
    {
      level: options.level ?? 'info',
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { service: 'agent' },
      formatters: { level: (label) => ({ level: label }), log: scrub },
    },
    write ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) } : undefined,
  );
  return wrap(options.base ? root.child(scrub(options.base)) : root);
}

/** Our call shape (message first, as the agent's code has it) over pino's (fields first); unbound methods work too. */
function wrap(logger: pino.Logger): Logger {
  const at = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (logger.isLevelEnabled(level)) logger[level](fields ?? {}, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => wrap(logger.child(scrub(fields))) };
}
