/**
 * The hunting source interface: anything that answers an Advanced Hunting query the way
 * Microsoft Graph `POST /security/runHuntingQuery` does. The Graph client, the demo's replay
 * source and test doubles all implement it.
 */

export interface HuntingSchemaColumn {
  name: string;
  type: string;
}

/** `huntingQueryResults`, with keys already normalised to camelCase `schema` / `results`. */
export interface HuntingQueryResults {
  schema: HuntingSchemaColumn[];
  results: Record<string, unknown>[];
}

export interface HuntingQueryRequest {
  query: string;
  /** ISO 8601 interval or duration for Graph's `Timespan` (bounds `Timestamp`). */
  timespan?: string;
}

export interface HuntingSource {
  runHuntingQuery(request: HuntingQueryRequest, signal?: AbortSignal): Promise<HuntingQueryResults>;
}
