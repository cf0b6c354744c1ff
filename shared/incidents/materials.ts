/**
 * Material keys (identity.ts `materialKeys`) interned for one story assembly: every distinct key
 * gets a small integer, and each raw value (a path, a thumbprint, a subject, a parent image, a
 * parent command line) is read into its key once however many findings repeat it. Grouping then
 * works on numbers: no key string is built, flattened and hashed per finding and Map operation.
 * The ids and their order per finding are exactly `materialKeys` (a test holds them together).
 */
import type { Finding } from '../model/finding';
import { baseName, normaliseText, scriptNames, subjectCommonName, thumbprintKey } from './identity';

/** No key (an empty name, a blank value). */
const NONE = -1;

const FILE_PREFIX = 'file:';

export class MaterialIndex {
  /** Key text by id. */
  readonly keys: string[] = [];
  /** The file name of a `file:` key by id; null for other kinds. */
  readonly fileNames: (string | null)[] = [];
  private readonly ids = new Map<string, number>();
  private readonly byPath = new Map<string, number>();
  private readonly byThumbprint = new Map<string, number>();
  private readonly bySubject = new Map<string, number>();
  private readonly byParent = new Map<string, Map<number, number>>();
  private readonly byScriptLine = new Map<string, readonly number[]>();

  get size(): number {
    return this.keys.length;
  }

  /** The id of a key text (known stories hand their materials over as text). */
  idOf(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.keys.push(key);
      this.fileNames.push(key.startsWith(FILE_PREFIX) ? key.slice(FILE_PREFIX.length) : null);
      this.ids.set(key, id);
    }
    return id;
  }

  /** The finding's material ids, in `materialKeys` order, without repeats. */
  ofFinding(finding: Finding): number[] {
    const out: number[] = [];
    for (const file of finding.certificate.files) add(out, this.path(file));
    for (const file of finding.signedFiles) add(out, this.path(file));
    const { thumbprint, subject } = finding.certificate;
    if (thumbprint) add(out, this.thumbprint(thumbprint));
    if (subject) add(out, this.subject(subject));
    const { processId, fileName, commandLine } = finding.parent;
    if (processId !== null && fileName) add(out, this.parent(fileName, processId));
    if (commandLine) for (const id of this.scripts(commandLine)) add(out, id);
    return out;
  }

  private path(path: string): number {
    let id = this.byPath.get(path);
    if (id === undefined) {
      const name = normaliseText(baseName(path));
      id = name === '' ? NONE : this.idOf(`${FILE_PREFIX}${name}`);
      this.byPath.set(path, id);
    }
    return id;
  }

  private thumbprint(thumbprint: string): number {
    let id = this.byThumbprint.get(thumbprint);
    if (id === undefined) {
      id = thumbprint.trim() === '' ? NONE : this.idOf(`thumbprint:${thumbprintKey(thumbprint)}`);
      this.byThumbprint.set(thumbprint, id);
    }
    return id;
  }

  private subject(subject: string): number {
    let id = this.bySubject.get(subject);
    if (id === undefined) {
      const cn = subject.trim() === '' ? '' : subjectCommonName(subject);
      id = cn === '' ? NONE : this.idOf(`subject:${cn}`);
      this.bySubject.set(subject, id);
    }
    return id;
  }

  private parent(fileName: string, processId: number): number {
    let byPid = this.byParent.get(fileName);
    if (byPid === undefined) {
      byPid = new Map();
      this.byParent.set(fileName, byPid);
    }
    let id = byPid.get(processId);
    if (id === undefined) {
      id = this.idOf(`parent:${processId}|${baseName(fileName).toLowerCase()}`);
      byPid.set(processId, id);
    }
    return id;
  }

  private scripts(commandLine: string): readonly number[] {
    let ids = this.byScriptLine.get(commandLine);
    if (ids === undefined) {
      ids = scriptNames(commandLine).map((script) => this.idOf(`script:${script}`));
      this.byScriptLine.set(commandLine, ids);
    }
    return ids;
  }
}

function add(out: number[], id: number): void {
  if (id !== NONE && !out.includes(id)) out.push(id);
}
