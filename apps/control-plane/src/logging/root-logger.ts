import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';
import type { AppConfig } from '../config/app-config';

/** The app's pino logger (per app, so each of several apps in one process logs through its own). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The log schema both programs write (the agent's logger.ts sets the same options): one JSON object per line with
 * `level` as pino's name (`debug`, `info`, `warn`, `error`), `time` in ISO 8601, `msg`, `service`, then the fields.
 */
export const LOG_SCHEMA: LoggerOptions = {
  messageKey: 'msg',
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
};

/** Synchronous writes to stdout (pino's default): a security event is on disk before the answer that caused it. */
export function createRootLogger(level: AppConfig['logLevel'], destination?: DestinationStream): Logger {
  return pino({ ...LOG_SCHEMA, level, base: { service: 'control-plane' } }, destination);
}
