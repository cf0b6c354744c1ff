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
  /** Key text by id; files and parents get theirs when first asked (most are never written). */
  private readonly texts: (string | undefined)[] = [];
  /** The file name of a `file:` key by id; null for other kinds. */
  readonly fileNames: (string | null)[] = [];
  /** The parent (pid, lower-cased image) of a `parent:` key by id. */
  private readonly parents: ([number, string] | undefined)[] = [];
  private readonly ids = new Map<string, number>();
  private readonly fileIds = new Map<string, number>();
  private readonly parentIds = new Map<string, Map<number, number>>();
  private readonly byPath = new Map<string, number>();
  private readonly byThumbprint = new Map<string, number>();
  private readonly bySubject = new Map<string, number>();
  private readonly byParent = new Map<string, { image: string; byPid: Map<number, number> }>();
  private readonly byScriptLine = new Map<string, readonly number[]>();
  private readonly scratch: number[] = [];

  get size(): number {
    return this.texts.length;
  }

  /** The key text of an id. */
  keyOf(id: number): string {
    let text = this.texts[id];
    if (text === undefined) {
      const file = this.fileNames[id];
      const parent = this.parents[id];
      text = file !== null && file !== undefined ? `${FILE_PREFIX}${file}` : parent !== undefined ? parentKey(parent[0], parent[1]) : '';
      this.texts[id] = text;
    }
    return text;
  }

  /** The id of a key text (known stories hand their materials over as text). */
  idOf(key: string): number {
    if (key.startsWith(FILE_PREFIX)) return this.fileId(key.slice(FILE_PREFIX.length));
    const parent = parseParentKey(key);
    if (parent !== null) return this.parentId(parent[1], parent[0]);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.next(key, null, undefined);
      this.ids.set(key, id);
    }
    return id;
  }

  private next(text: string | undefined, file: string | null, parent: [number, string] | undefined): number {
    const id = this.texts.length;
    this.texts.push(text);
    this.fileNames.push(file);
    this.parents.push(parent);
    return id;
  }

  private fileId(name: string): number {
    let id = this.fileIds.get(name);
    if (id === undefined) {
      id = this.next(undefined, name, undefined);
      this.fileIds.set(name, id);
    }
    return id;
  }

  private parentId(image: string, processId: number): number {
    let byPid = this.parentIds.get(image);
    if (byPid === undefined) {
      byPid = new Map();
      this.parentIds.set(image, byPid);
    }
    let id = byPid.get(processId);
    if (id === undefined) {
      id = this.next(undefined, null, [processId, image]);
      byPid.set(processId, id);
    }
    return id;
  }

  /** The finding's material ids, in `materialKeys` order, without repeats. */
  ofFinding(finding: Finding): number[] {
    // Gathered in one scratch list and copied out at its size: a list grown by push keeps room
    // for 16 ids, and a batch keeps one list per finding until its stories are built.
    const out = this.scratch;
    out.length = 0;
    for (const file of finding.certificate.files) add(out, this.path(file));
    for (const file of finding.signedFiles) add(out, this.path(file));
    const { thumbprint, subject } = finding.certificate;
    if (thumbprint) add(out, this.thumbprint(thumbprint));
    if (subject) add(out, this.subject(subject));
    const { processId, fileName, commandLine } = finding.parent;
    if (processId !== null && fileName) add(out, this.parent(fileName, processId));
    if (commandLine) for (const id of this.scripts(commandLine)) add(out, id);
    return out.slice();
  }

  private path(path: string): number {
    let id = this.byPath.get(path);
    if (id === undefined) {
      const name = normaliseText(baseName(path));
      id = name === '' ? NONE : this.fileId(name);
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
    let known = this.byParent.get(fileName);
    if (known === undefined) {
      known = { image: baseName(fileName).toLowerCase(), byPid: new Map() };
      this.byParent.set(fileName, known);
    }
    let id = known.byPid.get(processId);
    if (id === undefined) {
      id = this.parentId(known.image, processId);
      known.byPid.set(processId, id);
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

const PARENT_PREFIX = 'parent:';

function parentKey(processId: number, image: string): string {
  return `${PARENT_PREFIX}${processId}|${image}`;
}

/** [pid, image] of a text `parentKey` wrote, else null (then the text is a key of its own). */
function parseParentKey(key: string): [number, string] | null {
  if (!key.startsWith(PARENT_PREFIX)) return null;
  const bar = key.indexOf('|', PARENT_PREFIX.length);
  if (bar < 0) return null;
  const pidText = key.slice(PARENT_PREFIX.length, bar);
  const processId = Number(pidText);
  // Only a pid as a number writes itself: anything else keeps its text as it is.
  if (pidText === '' || String(processId) !== pidText) return null;
  return [processId, key.slice(bar + 1)];
}

function add(out: number[], id: number): void {
  if (id !== NONE && !out.includes(id)) out.push(id);
}
