/**
 * The hunting client's error tree. Every failure of a hunting query surfaces as one of these, so
 * the scheduler can decide what to do (wait, split the window, give up, alert an operator) from
 * the class and `retryable` alone, without reading HTTP details. Each keeps the original failure
 * in `cause` and, where there was an HTTP answer, its status, Graph's error code and message and
 * the request ids Microsoft support asks for.
 */

export type HuntingErrorKind =
  | 'auth'
  | 'quota'
  | 'timeout'
  | 'server'
  | 'query'
  | 'response'
  | 'network'
  | 'configuration'
  | 'http';

/** What Graph said, when it said anything: kept on the error for logs and support tickets. */
export interface GraphErrorDetails {
  /** HTTP status; undefined when no response arrived (credential failure, network, timeout). */
  status?: number;
  /** `error.code` from Graph's JSON error body. */
  graphCode?: string;
  /** `error.message` from Graph's JSON error body, or the start of a non-JSON body. */
  graphMessage?: string;
  /** The `request-id` Graph returned (header, or `innerError` in the body). */
  requestId?: string;
  /** The `client-request-id` this client sent, so a log line can be matched to Graph's side. */
  clientRequestId?: string;
}

export interface HuntingErrorOptions extends GraphErrorDetails {
  cause?: unknown;
}

export class HuntingError extends Error {
  override readonly name: string = 'HuntingError';
  readonly kind: HuntingErrorKind = 'http';
  /** True when the same request may succeed later unchanged; the scheduler still decides when. */
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly graphCode: string | undefined;
  readonly graphMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly clientRequestId: string | undefined;

  constructor(message: string, retryable: boolean, options: HuntingErrorOptions = {}) {
    // Only pass `cause` when there is one, so `'cause' in error` stays meaningful.
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = retryable;
    this.status = options.status;
    this.graphCode = options.graphCode;
    this.graphMessage = options.graphMessage;
    this.requestId = options.requestId;
    this.clientRequestId = options.clientRequestId;
  }
}

export const THREAT_HUNTING_PERMISSION_HINT =
  'The app needs the Microsoft Graph application permission ThreatHunting.Read.All with admin consent ' +
  '(Entra ID > App registrations > API permissions > Microsoft Graph > Application permissions).';

/** 401/403 from Graph, or the credential could not produce a token at all. Not retryable: a person must fix it. */
export class HuntingAuthError extends HuntingError {
  override readonly name: string = 'HuntingAuthError';
  override readonly kind: HuntingErrorKind = 'auth';

  constructor(message: string, options: HuntingErrorOptions = {}) {
    super(`${message} ${THREAT_HUNTING_PERMISSION_HINT}`, false, options);
  }
}

export interface HuntingQuotaErrorOptions extends HuntingErrorOptions {
  /** From the `Retry-After` header (delta-seconds or HTTP-date), in ms. */
  retryAfterMs?: number;
  /** From the body's "You can run queries again in <duration>" text, in ms. */
  runAgainInMs?: number;
}

/**
 * 429: the tenant hit the 45 calls/minute (1,500/hour) limit or its CPU allocation. Defender says
 * which in the body; the CPU quota blocks until the next 15-minute or daily cycle, which is why the
 * body's "run queries again in" duration is kept next to the header's.
 */
export class HuntingQuotaError extends HuntingError {
  override readonly name: string = 'HuntingQuotaError';
  override readonly kind: HuntingErrorKind = 'quota';
  readonly retryAfterMs: number | undefined;
  readonly runAgainInMs: number | undefined;

  constructor(message: string, options: HuntingQuotaErrorOptions = {}) {
    super(message, true, options);
    this.retryAfterMs = options.retryAfterMs;
    this.runAgainInMs = options.runAgainInMs;
  }

  /** The longest wait either source asks for; undefined when neither said anything. */
  get waitMs(): number | undefined {
    const known = [this.retryAfterMs, this.runAgainInMs].filter((ms): ms is number => ms !== undefined);
    return known.length === 0 ? undefined : Math.max(...known);
  }
}

/** The per-request timeout fired (or Graph answered 408). Retryable; a smaller window may help. */
export class HuntingTimeoutError extends HuntingError {
  override readonly name: string = 'HuntingTimeoutError';
  override readonly kind: HuntingErrorKind = 'timeout';
  readonly timeoutMs: number | undefined;

  constructor(message: string, options: HuntingErrorOptions & { timeoutMs?: number } = {}) {
    super(message, true, options);
    this.timeoutMs = options.timeoutMs;
  }
}

/** 5xx. Retryable except 501/505, which will not change on their own. */
export class HuntingServerError extends HuntingError {
  override readonly name: string = 'HuntingServerError';
  override readonly kind: HuntingErrorKind = 'server';

  constructor(message: string, options: HuntingErrorOptions & { status: number }) {
    super(message, options.status !== 501 && options.status !== 505, options);
  }
}

/**
 * 400 (and 413): Defender rejected the query itself — syntax or semantic errors, or a result that
 * is too big. The latter is flagged so the caller can split the time window instead of failing.
 */
export class HuntingQueryError extends HuntingError {
  override readonly name: string = 'HuntingQueryError';
  override readonly kind: HuntingErrorKind = 'query';
  readonly resultSizeExceeded: boolean;

  constructor(message: string, options: HuntingErrorOptions & { resultSizeExceeded: boolean }) {
    super(message, false, options);
    this.resultSizeExceeded = options.resultSizeExceeded;
  }
}

export type HuntingResponseProblem =
  | 'not-json'
  | 'not-object'
  | 'missing-schema'
  | 'missing-results'
  | 'bad-schema'
  | 'bad-results';

/**
 * A 2xx answer that is not a huntingQueryResults. A body that is not JSON at all is usually a cut
 * connection or a proxy page, so that one is retryable; a JSON body of the wrong shape is not.
 */
export class HuntingResponseError extends HuntingError {
  override readonly name: string = 'HuntingResponseError';
  override readonly kind: HuntingErrorKind = 'response';
  readonly problem: HuntingResponseProblem;

  constructor(message: string, problem: HuntingResponseProblem, options: HuntingErrorOptions = {}) {
    super(message, problem === 'not-json', options);
    this.problem = problem;
  }
}

/** No HTTP answer at all: DNS, refused or reset connection, TLS. Retryable. */
export class HuntingNetworkError extends HuntingError {
  override readonly name: string = 'HuntingNetworkError';
  override readonly kind: HuntingErrorKind = 'network';

  constructor(message: string, options: HuntingErrorOptions = {}) {
    super(message, true, options);
  }
}

/** The client was set up wrongly (bad base URL, authentication 'none' off loopback, ...). */
export class HuntingConfigurationError extends HuntingError {
  override readonly name: string = 'HuntingConfigurationError';
  override readonly kind: HuntingErrorKind = 'configuration';

  constructor(message: string, options: HuntingErrorOptions = {}) {
    super(message, false, options);
  }
}
