/**
 * Structured logging. In Azure the InvocationContext's log methods carry custom dimensions to
 * Application Insights; on the CLI and in the demo a line of text (or JSON) goes to stderr.
 * Messages may hold user data (command lines, account names) and are kept apart from system
 * errors; secrets never reach a logger (settings redact them, delivery errors name channel ids).
 */
import type { CycleLogger } from '../hunt/cycle';

export type Logger = CycleLogger;

interface ContextLike {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Logs through an Azure Functions InvocationContext: message first, dimensions as JSON. */
export function contextLogger(context: ContextLike): Logger {
  return {
    info: (message, properties) => context.log(message, properties ? JSON.stringify(properties) : ''),
    warn: (message, properties) => context.warn(message, properties ? JSON.stringify(properties) : ''),
    error: (message, properties) => context.error(message, properties ? JSON.stringify(properties) : ''),
  };
}

/** CLI logger: human lines on stderr, or JSON lines when `json` is set. */
export function streamLogger(write: (text: string) => void, options: { json?: boolean; quiet?: boolean } = {}): Logger {
  const emit = (level: string, message: string, properties?: Record<string, unknown>): void => {
    if (options.quiet && level === 'info') return;
    if (options.json) write(`${JSON.stringify({ level, message, ...properties })}\n`);
    else write(`[${level}] ${message}\n`);
  };
  return {
    info: (message, properties) => emit('info', message, properties),
    warn: (message, properties) => emit('warn', message, properties),
    error: (message, properties) => emit('error', message, properties),
  };
}

/** Collects log records in memory (tests assert on them, e.g. that no secret was logged). */
export function memoryLogger(): Logger & { records: { level: string; message: string; properties?: Record<string, unknown> }[] } {
  const records: { level: string; message: string; properties?: Record<string, unknown> }[] = [];
  return {
    records,
    info: (message, properties) => records.push({ level: 'info', message, properties }),
    warn: (message, properties) => records.push({ level: 'warn', message, properties }),
    error: (message, properties) => records.push({ level: 'error', message, properties }),
  };
}
