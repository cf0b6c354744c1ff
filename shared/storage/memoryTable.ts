/**
 * Table storage in memory, for `replay`: the subset of `TableClient` the stores use (entity CRUD
 * with ETags, entity group transactions, queries with the OData `$filter` and `$select` they
 * write, paging), with the service's semantics where the stores depend on them: ETag conflicts
 * answer 412, creating an existing row 409, a missing row 404, a transaction applies all of its
 * actions or none, and queries return rows in PartitionKey, RowKey order. It lets `replay` run
 * the hunt cycle's own code with no storage account and no emulator. The function app never uses
 * it; the replay-equals-deployment test compares it with Azurite.
 */
import { RestError, type TableClient, type TransactionAction } from '@azure/data-tables';

/** The SDK's own error type with the service's status code: the stores test `instanceof RestError`. */
export class MemoryTableError extends RestError {
  constructor(statusCode: number, message: string) {
    super(message, { statusCode });
    this.name = 'RestError';
  }
}

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };
interface Stored {
  properties: Record<string, unknown>;
  etag: string;
  timestamp: string;
}

// ---------------------------------------------------------------------------------------------
// OData $filter: comparisons (eq ne gt ge lt le) of a property with a literal, joined by and/or/not
// and parentheses. Literals: 'strings' ('' escapes a quote), true/false, numbers, datetime'...'.

type Token =
  | { kind: 'ident'; value: string }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'op'; value: string }
  | { kind: 'paren'; value: '(' | ')' };

const KEYWORDS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'and', 'or', 'not']);

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: 'paren', value: c });
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= filter.length) throw new MemoryTableError(400, 'unterminated string in $filter');
        if (filter[i] === "'") {
          if (filter[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += filter[i];
        i++;
      }
      tokens.push({ kind: 'literal', value });
    } else {
      const match = /^[A-Za-z_][A-Za-z0-9_]*|^-?\d+(?:\.\d+)?L?/.exec(filter.slice(i));
      if (!match) throw new MemoryTableError(400, `cannot read $filter at: ${filter.slice(i, i + 20)}`);
      const word = match[0];
      i += word.length;
      if (/^-?\d/.test(word)) tokens.push({ kind: 'literal', value: Number(word.replace(/L$/, '')) });
      else if (word === 'true' || word === 'false') tokens.push({ kind: 'literal', value: word === 'true' });
      else if ((word === 'datetime' || word === 'guid' || word === 'X' || word === 'binary') && filter[i] === "'") {
        // datetime'2025-01-01T00:00:00Z': the quoted text follows; compared as text (ISO sorts).
        continue;
      } else if (KEYWORDS.has(word)) tokens.push({ kind: 'op', value: word });
      else tokens.push({ kind: 'ident', value: word });
    }
  }
  return tokens;
}

type Predicate = (row: Record<string, unknown>) => boolean;

function compare(left: unknown, op: string, right: string | number | boolean): boolean {
  // A row without the property never matches (as in the service).
  if (left === undefined || left === null) return false;
  if (typeof left !== typeof right) return false;
  const l = left as string | number | boolean;
  switch (op) {
    case 'eq':
      return l === right;
    case 'ne':
      return l !== right;
    case 'gt':
      return l > right;
    case 'ge':
      return l >= right;
    case 'lt':
      return l < right;
    case 'le':
      return l <= right;
    default:
      throw new MemoryTableError(400, `unknown operator ${op}`);
  }
}

/** The property a filter names: PartitionKey / RowKey map to the entity's keys. */
function propertyOf(row: Record<string, unknown>, name: string): unknown {
  if (name === 'PartitionKey') return row.partitionKey;
  if (name === 'RowKey') return row.rowKey;
  return row[name];
}

function parseFilter(filter: string): Predicate {
  const tokens = tokenize(filter);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (value: string): boolean => {
    const t = peek();
    return t?.kind === 'op' && t.value === value;
  };

  function primary(): Predicate {
    const t = peek();
    if (t?.kind === 'paren' && t.value === '(') {
      pos++;
      const inner = or();
      const close = peek();
      if (close?.kind !== 'paren' || close.value !== ')') throw new MemoryTableError(400, 'missing ) in $filter');
      pos++;
      return inner;
    }
    if (isOp('not')) {
      pos++;
      const inner = primary();
      return (row) => !inner(row);
    }
    const left = tokens[pos];
    const op = tokens[pos + 1];
    const right = tokens[pos + 2];
    if (left?.kind !== 'ident' || op?.kind !== 'op' || right?.kind !== 'literal') {
      throw new MemoryTableError(400, 'expected <property> <op> <literal> in $filter');
    }
    pos += 3;
    return (row) => compare(propertyOf(row, left.value), op.value, right.value);
  }

  function and(): Predicate {
    let left = primary();
    while (isOp('and')) {
      pos++;
      const l = left;
      const r = primary();
      left = (row) => l(row) && r(row);
    }
    return left;
  }

  function or(): Predicate {
    let left = and();
    while (isOp('or')) {
      pos++;
      const l = left;
      const r = and();
      left = (row) => l(row) || r(row);
    }
    return left;
  }

  const predicate = or();
  if (pos !== tokens.length) throw new MemoryTableError(400, 'unexpected text at the end of $filter');
  return predicate;
}

// ---------------------------------------------------------------------------------------------

function keyOf(pk: string, rk: string): string {
  return `${pk}\u0000${rk}`;
}

function comparePair(a: [string, Stored], b: [string, Stored]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

interface QueryOptions {
  queryOptions?: { filter?: string; select?: string[] };
}

/** One in-memory table; use `MemoryTables` to get one per name. */
export class MemoryTableClient {
  private readonly rows = new Map<string, Stored>();
  private version = 0;

  constructor(readonly tableName: string) {}

  get url(): string {
    return `memory://tables/${this.tableName}`;
  }

  private nextEtag(): string {
    this.version++;
    return `W/"memory-${this.version}"`;
  }

  private view(stored: Stored, select?: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { ...stored.properties, etag: stored.etag, timestamp: stored.timestamp };
    if (!select || select.length === 0) return out;
    const picked: Record<string, unknown> = { etag: stored.etag };
    for (const name of select) {
      if (name === 'PartitionKey') picked.partitionKey = stored.properties.partitionKey;
      else if (name === 'RowKey') picked.rowKey = stored.properties.rowKey;
      else if (name in stored.properties) picked[name] = stored.properties[name];
    }
    return picked;
  }

  async createTable(): Promise<void> {
    // Idempotent here; the service's 409 for an existing table is what callers already accept.
  }

  async getEntity<T extends object>(partitionKey: string, rowKey: string): Promise<T & { etag: string; partitionKey: string; rowKey: string }> {
    const stored = this.rows.get(keyOf(partitionKey, rowKey));
    if (!stored) throw new MemoryTableError(404, 'ResourceNotFound');
    return this.view(stored) as T & { etag: string; partitionKey: string; rowKey: string };
  }

  async createEntity(entity: Entity): Promise<{ etag: string }> {
    return { etag: this.apply([['create', entity]])[0] ?? '' };
  }

  async updateEntity(entity: Entity, mode: 'Merge' | 'Replace' = 'Merge', options: { etag?: string } = {}): Promise<{ etag: string }> {
    return { etag: this.apply([['update', entity, mode, options]])[0] ?? '' };
  }

  /** The service checks a delete's ETag too; the SDK's transaction type has no slot for it. */
  private deleteWithEtag(partitionKey: string, rowKey: string, etag: string | undefined): void {
    const existing = this.rows.get(keyOf(partitionKey, rowKey));
    if (existing && etag && etag !== '*' && existing.etag !== etag) throw new MemoryTableError(412, 'UpdateConditionNotSatisfied');
    this.apply([['delete', { partitionKey, rowKey }]]);
  }

  async upsertEntity(entity: Entity, mode: 'Merge' | 'Replace' = 'Merge'): Promise<{ etag: string }> {
    return { etag: this.apply([['upsert', entity, mode]])[0] ?? '' };
  }

  async deleteEntity(partitionKey: string, rowKey: string, options: { etag?: string } = {}): Promise<void> {
    this.deleteWithEtag(partitionKey, rowKey, options.etag);
  }

  async submitTransaction(actions: TransactionAction[]): Promise<{ status: number }> {
    const partitions = new Set(actions.map((a) => a[1].partitionKey));
    if (partitions.size > 1) throw new MemoryTableError(400, 'a transaction may touch one partition only');
    if (actions.length > 100) throw new MemoryTableError(400, 'a transaction holds at most 100 actions');
    this.apply(actions);
    return { status: 202 };
  }

  /** Checks every action against the current rows, then applies them all (or throws, changing nothing). */
  private apply(actions: readonly TransactionAction[]): string[] {
    const staged = new Map(this.rows);
    const etags: string[] = [];
    const now = new Date().toISOString();
    for (const action of actions) {
      const [kind, raw] = action;
      const entity = raw as Entity;
      const key = keyOf(String(entity.partitionKey), String(entity.rowKey));
      const existing = staged.get(key);
      const options = kind === 'update' ? (action[3]) : undefined;
      const etagMatches = (): boolean => !options?.etag || options.etag === '*' || existing?.etag === options.etag;
      const properties = (): Record<string, unknown> => {
        const mode = kind === 'update' || kind === 'upsert' ? (action[2] as string | undefined) : 'Replace';
        const { etag: _etag, timestamp: _timestamp, ...rest } = entity as Record<string, unknown>;
        return mode === 'Merge' && existing ? { ...existing.properties, ...rest } : { ...rest };
      };
      if (kind === 'create') {
        if (existing) throw new MemoryTableError(409, 'EntityAlreadyExists');
      } else if (kind === 'update') {
        if (!existing) throw new MemoryTableError(404, 'ResourceNotFound');
        if (!etagMatches()) throw new MemoryTableError(412, 'UpdateConditionNotSatisfied');
      } else if (kind === 'delete') {
        if (!existing) throw new MemoryTableError(404, 'ResourceNotFound');
        if (!etagMatches()) throw new MemoryTableError(412, 'UpdateConditionNotSatisfied');
        staged.delete(key);
        etags.push('');
        continue;
      }
      const etag = this.nextEtag();
      staged.set(key, { properties: properties(), etag, timestamp: now });
      etags.push(etag);
    }
    this.rows.clear();
    for (const [k, v] of staged) this.rows.set(k, v);
    return etags;
  }

  listEntities<T extends object = Record<string, unknown>>(options: QueryOptions = {}): AsyncIterableIterator<T> & {
    byPage(settings?: { maxPageSize?: number }): AsyncIterableIterator<T[]>;
  } {
    const predicate = options.queryOptions?.filter ? parseFilter(options.queryOptions.filter) : () => true;
    const select = options.queryOptions?.select;
    // A snapshot at query time, in key order, as the service returns rows.
    const matching = [...this.rows].sort(comparePair).filter(([, stored]) => predicate(stored.properties)).map(([, stored]) => this.view(stored, select) as T);
    async function* items(): AsyncGenerator<T> {
      yield* matching;
    }
    async function* pages(size: number): AsyncGenerator<T[]> {
      for (let i = 0; i < matching.length; i += size) yield matching.slice(i, i + size);
    }
    const iterator = items();
    return Object.assign(iterator, {
      byPage: (settings: { maxPageSize?: number } = {}) => pages(Math.max(1, settings.maxPageSize ?? 1000)),
    }) as AsyncIterableIterator<T> & { byPage(settings?: { maxPageSize?: number }): AsyncIterableIterator<T[]> };
  }

  /** Rows in key order (tests and `replay` read the final state). */
  snapshot(): Record<string, unknown>[] {
    return [...this.rows].sort(comparePair).map(([, stored]) => this.view(stored));
  }
}

/** One in-memory table per name, handed out as `TableClient`s. */
export class MemoryTables {
  private readonly tables = new Map<string, MemoryTableClient>();

  get(name: string): MemoryTableClient {
    let table = this.tables.get(name);
    if (!table) {
      table = new MemoryTableClient(name);
      this.tables.set(name, table);
    }
    return table;
  }

  /** The same table typed as the SDK client the stores take (it implements what they call). */
  table(name: string): TableClient {
    return this.get(name) as unknown as TableClient;
  }
}
