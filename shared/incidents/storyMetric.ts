/**
 * The story metric: how well incidents match stories an analyst labelled (one story, one
 * incident). Reads a labels file (`labels.json` beside a results file: row index and ReportId to
 * story id) and scores a set of incidents by their finding ids. `replay` prints it; the stories
 * test asserts it. Pure.
 *
 * - exact: share of stories whose findings all land in exactly one incident that holds nothing else
 * - fragmentation: mean number of distinct incidents per story
 * - impure: incidents holding findings of two or more stories
 * - lost: rows the reader rejected, plus findings in no incident
 */

export interface StoryLabel {
  id: string;
  kind?: string;
  summary?: string;
  expectedSeverity?: string;
  separatedFrom?: string[];
}

export interface StoryLabels {
  stories: StoryLabel[];
  /** Row index -> story id (an array, or an object keyed by index). */
  byIndex: readonly string[] | Readonly<Record<string, string>>;
  byReportId?: Readonly<Record<string, string>>;
}

/** A finding as the metric needs it: its id and where it came from. */
export interface LabelledFinding {
  id: string;
  /** Row index in the results file. */
  index: number;
  reportId: number | null;
}

export interface ScoredIncident {
  id: string;
  findingIds: readonly string[];
  severity?: string;
}

export interface StoryScore {
  storyId: string;
  findings: number;
  incidents: string[];
  exact: boolean;
  /** When the label asks for a severity: whether the story's incidents reached it. */
  severityOk: boolean | null;
}

export interface StoryMetric {
  stories: number;
  exactStories: number;
  /** 0..1 */
  exact: number;
  fragmentation: number;
  impure: number;
  impureIncidents: string[];
  lost: number;
  rejectedRows: number;
  findingsInNoIncident: number;
  perStory: StoryScore[];
}

export class LabelsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelsFormatError';
  }
}

/** Checks the shape of a parsed labels file; the error names the field. */
export function parseStoryLabels(value: unknown): StoryLabels {
  if (typeof value !== 'object' || value === null) throw new LabelsFormatError('labels: not a JSON object');
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.stories) || !v.stories.every((s) => typeof s === 'object' && s !== null && typeof (s as { id?: unknown }).id === 'string')) {
    throw new LabelsFormatError('labels.stories: expected a list of {id}');
  }
  const byIndex = v.byIndex;
  const indexOk =
    (Array.isArray(byIndex) && byIndex.every((s) => typeof s === 'string')) ||
    (typeof byIndex === 'object' && byIndex !== null && Object.values(byIndex).every((s) => typeof s === 'string'));
  if (!indexOk) throw new LabelsFormatError('labels.byIndex: expected row index -> story id');
  if (v.byReportId !== undefined && (typeof v.byReportId !== 'object' || v.byReportId === null)) {
    throw new LabelsFormatError('labels.byReportId: expected ReportId -> story id');
  }
  return value as StoryLabels;
}

function storyOf(labels: StoryLabels, finding: LabelledFinding): string | null {
  if (finding.reportId !== null && labels.byReportId) {
    const byReport = labels.byReportId[String(finding.reportId)];
    if (byReport) return byReport;
  }
  const byIndex = Array.isArray(labels.byIndex)
    ? (labels.byIndex as readonly string[])[finding.index]
    : (labels.byIndex as Readonly<Record<string, string>>)[String(finding.index)];
  return byIndex ?? null;
}

const SEVERITY_ORDER = ['informational', 'low', 'medium', 'high'];

export function measureStories(input: {
  labels: StoryLabels;
  findings: readonly LabelledFinding[];
  rejectedRows: number;
  incidents: readonly ScoredIncident[];
}): StoryMetric {
  const { labels } = input;
  const storyByFinding = new Map<string, string>();
  const findingsByStory = new Map<string, string[]>();
  for (const finding of input.findings) {
    const story = storyOf(labels, finding);
    if (story === null) continue;
    storyByFinding.set(finding.id, story);
    findingsByStory.set(story, [...(findingsByStory.get(story) ?? []), finding.id]);
  }
  const incidentOf = new Map<string, string>();
  const storiesOfIncident = new Map<string, Set<string>>();
  const severityOf = new Map<string, string | undefined>();
  for (const incident of input.incidents) {
    severityOf.set(incident.id, incident.severity);
    const stories = new Set<string>();
    for (const id of incident.findingIds) {
      incidentOf.set(id, incident.id);
      const story = storyByFinding.get(id);
      if (story) stories.add(story);
    }
    storiesOfIncident.set(incident.id, stories);
  }
  const impureIncidents = [...storiesOfIncident].filter(([, s]) => s.size > 1).map(([id]) => id).sort();
  const perStory: StoryScore[] = labels.stories.map((label) => {
    const ids = findingsByStory.get(label.id) ?? [];
    const incidents = [...new Set(ids.map((id) => incidentOf.get(id)).filter((i): i is string => i !== undefined))].sort();
    const only = incidents[0];
    const exact =
      ids.length > 0 && incidents.length === 1 && only !== undefined && ids.every((id) => incidentOf.has(id)) && (storiesOfIncident.get(only)?.size ?? 0) === 1;
    let severityOk: boolean | null = null;
    if (label.expectedSeverity) {
      const want = SEVERITY_ORDER.indexOf(label.expectedSeverity);
      severityOk = incidents.length > 0 && incidents.every((i) => SEVERITY_ORDER.indexOf(severityOf.get(i) ?? '') >= want);
    }
    return { storyId: label.id, findings: ids.length, incidents, exact, severityOk };
  });
  const findingsInNoIncident = input.findings.filter((f) => !incidentOf.has(f.id)).length;
  const exactStories = perStory.filter((s) => s.exact).length;
  const counted = perStory.filter((s) => s.findings > 0);
  return {
    stories: perStory.length,
    exactStories,
    exact: perStory.length === 0 ? 0 : exactStories / perStory.length,
    fragmentation: counted.length === 0 ? 0 : counted.reduce((sum, s) => sum + s.incidents.length, 0) / counted.length,
    impure: impureIncidents.length,
    impureIncidents,
    lost: input.rejectedRows + findingsInNoIncident,
    rejectedRows: input.rejectedRows,
    findingsInNoIncident,
    perStory,
  };
}

/** Targets of the issue: at least 90% exact, at most 1.1 incidents per story, none impure, none lost. */
export const STORY_TARGETS = { exact: 0.9, fragmentation: 1.1, impure: 0, lost: 0 } as const;

export function meetsStoryTargets(metric: StoryMetric): boolean {
  return (
    metric.exact >= STORY_TARGETS.exact &&
    metric.fragmentation <= STORY_TARGETS.fragmentation &&
    metric.impure <= STORY_TARGETS.impure &&
    metric.lost <= STORY_TARGETS.lost
  );
}

export function formatStoryMetric(metric: StoryMetric): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `Story metric over ${metric.stories} labelled stories:`,
    `  exact          ${pct(metric.exact)} (${metric.exactStories} of ${metric.stories})   target >= ${pct(STORY_TARGETS.exact)}`,
    `  fragmentation  ${metric.fragmentation.toFixed(2)} incidents per story   target <= ${STORY_TARGETS.fragmentation}`,
    `  impure         ${metric.impure} incident(s)${metric.impure ? ` (${metric.impureIncidents.join(', ')})` : ''}   target ${STORY_TARGETS.impure}`,
    `  lost           ${metric.lost} (${metric.rejectedRows} rejected rows, ${metric.findingsInNoIncident} findings in no incident)   target ${STORY_TARGETS.lost}`,
  ];
  const misses = metric.perStory.filter((s) => !s.exact || s.severityOk === false);
  for (const s of misses) {
    const why = !s.exact ? `${s.findings} finding(s) in ${s.incidents.length} incident(s)` : 'below its expected severity';
    lines.push(`  - ${s.storyId}: ${why}`);
  }
  lines.push(`  result: ${meetsStoryTargets(metric) ? 'PASS' : 'MISS'}`);
  return `${lines.join('\n')}\n`;
}
