/**
 * Accuracy of parseCommandLine on the labelled corpus of real-world certificate command lines
 * (test/fixtures/cert-cmdlines.jsonl), field by field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateFacts } from '../../../shared/model/finding';
import { parseCommandLine } from '../../../shared/cmdline/parse';

interface Label {
  tool: string;
  commandLine: string;
  action: string;
  subject: string | null;
  codeSigningEku: boolean;
  files: string[];
  store: string | null;
  thumbprint: string | null;
  signedFile: string | string[] | null;
  source: string;
}

const FIELDS = ['tool', 'action', 'subject', 'codeSigningEku', 'files', 'store', 'thumbprint', 'signedFile'] as const;
type Field = (typeof FIELDS)[number];

const labels: Label[] = readFileSync(join(__dirname, '../../fixtures/cert-cmdlines.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Label);

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
};

function fieldMatches(field: Field, label: Label, facts: CertificateFacts): boolean {
  switch (field) {
    case 'tool':
      return facts.tool === label.tool;
    case 'action':
      return facts.action === label.action;
    case 'subject':
      return facts.certificate.subject === label.subject;
    case 'codeSigningEku':
      return facts.certificate.codeSigningEku === label.codeSigningEku;
    case 'files':
      return sameSet(facts.certificate.files, label.files);
    case 'store':
      return facts.certificate.store === label.store;
    case 'thumbprint':
      return facts.certificate.thumbprint === label.thumbprint;
    case 'signedFile': {
      const expected = label.signedFile === null ? [] : Array.isArray(label.signedFile) ? label.signedFile : [label.signedFile];
      return JSON.stringify(facts.signedFiles) === JSON.stringify(expected);
    }
  }
}

describe('corpus accuracy', () => {
  it('has labelled lines', () => {
    expect(labels.length).toBeGreaterThan(50);
  });

  it('extracts each field as labelled (overall >= 95%, each field >= 90%)', () => {
    const correct = new Map<Field, number>(FIELDS.map((f) => [f, 0]));
    const misses: string[] = [];
    for (const label of labels) {
      const facts = parseCommandLine(label.commandLine);
      for (const field of FIELDS) {
        if (fieldMatches(field, label, facts)) correct.set(field, correct.get(field)! + 1);
        else misses.push(`${field}: ${label.commandLine}\n  got ${JSON.stringify(facts)}`);
      }
    }
    const rows = FIELDS.map((field) => ({ field, correct: correct.get(field)!, accuracy: `${((100 * correct.get(field)!) / labels.length).toFixed(1)}%` }));
    const total = [...correct.values()].reduce((a, b) => a + b, 0);
    const overall = total / (labels.length * FIELDS.length);
    console.log(
      [
        `corpus: ${labels.length} lines`,
        ...rows.map((r) => `${r.field.padEnd(15)} ${String(r.correct).padStart(3)}/${labels.length}  ${r.accuracy}`),
        `${'overall'.padEnd(15)} ${String(total).padStart(3)}/${labels.length * FIELDS.length}  ${(100 * overall).toFixed(1)}%`,
        ...(misses.length > 0 ? ['misses:', ...misses] : []),
      ].join('\n'),
    );
    expect(overall).toBeGreaterThanOrEqual(0.95);
    for (const field of FIELDS) expect(correct.get(field)! / labels.length).toBeGreaterThanOrEqual(0.9);
  });
});
