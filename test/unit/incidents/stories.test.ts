import { assembleStories, storyIncidentId, type KnownStory, type StoryDraft } from '../../../shared/incidents/stories';
import { actorKey, deviceKey, materialKeys, scriptNames } from '../../../shared/incidents/identity';
import type { Finding } from '../../../shared/model/finding';
import {
  at,
  certutilAddStore,
  exportPfxPowerShell,
  makecertCreate,
  makeFinding,
  newSelfSignedCert,
  opensslCreate,
  opensslExportPfx,
  pvk2pfx,
  setAuthenticode,
  signtoolSign,
  T0,
} from '../../support/findings';

const TENANT = 'tenant-1';
const MIN = 60_000;
const HOUR = 60 * MIN;

/** Each step started by its own parent process (an IDE task, a new shell): nothing shared by parent. */
let pid = 20_000;
function own(f: Finding): Finding {
  f.parent = { ...f.parent, fileName: 'cmd.exe', commandLine: '"C:\\Windows\\system32\\cmd.exe"', processId: pid++ };
  return f;
}

function stories(fresh: Finding[], extra: Partial<Parameters<typeof assembleStories>[0]> = {}): StoryDraft[] {
  return assembleStories({ tenantId: TENANT, fresh, ...extra });
}

function ids(draft: StoryDraft): string[] {
  return draft.findings.map((f) => f.id);
}

describe('assembleStories: one actor, one device, related steps', () => {
  test('create, export and sign minutes apart from separate parents are one story', () => {
    const steps = [newSelfSignedCert('CN=Tailspin Scheduler Dev', { minutes: 0 }), exportPfxPowerShell(undefined, 'C:\\src\\dev.pfx', { minutes: 6 }), signtoolSign('app.exe', { pfx: 'dev.pfx' }, { minutes: 13 })].map(own);
    const result = stories(steps);
    expect(result).toHaveLength(1);
    expect(ids(result[0]!)).toEqual(steps.map((f) => f.id));
    expect(result[0]!.incidentId).toBe(storyIncidentId(TENANT, deviceKey(steps[0]!.device), 'contoso\\alice', steps[0]!.id));
  });

  test('two accounts on one device in the same minutes are two stories', () => {
    const bob = { name: 'bob', domain: 'CONTOSO' };
    const result = stories([opensslCreate('/CN=portal', 'portal', { minutes: 0 }), makecertCreate('CN=Macro', 'macro', { minutes: 1, account: bob }), opensslExportPfx('portal', { minutes: 2 }), pvk2pfx('macro', { minutes: 3, account: bob })].map(own));
    expect(result).toHaveLength(2);
    expect(result.map((d) => d.actorKey).sort()).toEqual(['contoso\\alice', 'contoso\\bob']);
    expect(result.every((d) => d.findings.length === 2)).toBe(true);
  });

  test('one account on two devices is two stories', () => {
    const result = stories([newSelfSignedCert('CN=Dev', { minutes: 0 }), certutilAddStore('My', 'qa.pfx', { minutes: 20, device: { id: 'vm-1', name: 'vm-test' } })].map(own));
    expect(result).toHaveLength(2);
  });

  test('hours apart with nothing shared are two stories; the later names the earlier as seen before', () => {
    const morning = [opensslCreate('/CN=api', 'api', { minutes: 0 }), opensslExportPfx('api', { minutes: 2 })].map(own);
    const afternoon = [newSelfSignedCert('CN=Addin Test', { minutes: 405 }), setAuthenticode('C:\\src\\Install-Addin.ps1', { minutes: 412 })].map(own);
    const result = stories([...afternoon, ...morning]);
    expect(result.map(ids)).toEqual([morning.map((f) => f.id), afternoon.map((f) => f.id)]);
    expect(result[1]!.previousIncidentId).toBe(result[0]!.incidentId);
    expect(result[0]!.previousIncidentId).toBeNull();
  });

  test('a file written by one step and read by a later one links them across a long pause (75 min)', () => {
    const steps = [opensslCreate('/CN=Plugin', 'plugin', { minutes: 0 }), opensslExportPfx('plugin', { minutes: 5 }), signtoolSign('Plugin.dll', { pfx: 'C:\\src\\certs\\plugin.pfx' }, { minutes: 80 })].map(own);
    expect(stories(steps)).toHaveLength(1);
  });

  test('the same PFX three days later is a new story (past the grouping window) that links to the first', () => {
    const monday = [makecertCreate('CN=Hansen', 'hansen', { minutes: 0 }), pvk2pfx('hansen', { minutes: 1 }), signtoolSign('Host.exe', { pfx: 'hansen.pfx' }, { minutes: 3 })].map(own);
    const thursday = [signtoolSign('Host.exe', { pfx: 'hansen.pfx' }, { minutes: 3 * 24 * 60 })].map(own);
    const result = stories([...monday, ...thursday]);
    expect(result).toHaveLength(2);
    expect(result[1]!.previousIncidentId).toBe(result[0]!.incidentId);
  });

  test('repetitive work is one story with a count and the distinct files', () => {
    const agent = { fileName: 'cmd.exe', commandLine: 'cmd.exe /c "CALL D:\\agent\\_work\\_temp\\sign.cmd"', processId: 30784 };
    const signs = Array.from({ length: 30 }, (_, i) => signtoolSign(`D:\\out\\Lib${i}.dll`, { sha1: '19966BD56F127F4E56286DD576CD7ADAE92A0096' }, { minutes: i * 1.5, parent: agent }));
    const result = stories(signs);
    expect(result).toHaveLength(1);
    expect(result[0]!.findingCount).toBe(30);
    expect(result[0]!.fileCount).toBe(30);
    expect(result[0]!.files).toContain('lib0.dll');
  });

  test('a story longer than its span opens a new incident naming the previous one', () => {
    // One signing every 20 minutes for 30 hours: linked all along, cut at the 24-hour span.
    const signs = Array.from({ length: 91 }, (_, i) => signtoolSign(`f${i}.exe`, {}, { minutes: i * 20 }));
    const result = stories(signs);
    expect(result).toHaveLength(2);
    expect(result[0]!.lastSeen - result[0]!.firstSeen).toBeLessThanOrEqual(24 * HOUR);
    expect(result[1]!.previousIncidentId).toBe(result[0]!.incidentId);
  });

  test('the result does not depend on input order, and the same findings give the same ids', () => {
    const steps = [makecertCreate('CN=A', 'a', { minutes: 0 }), pvk2pfx('a', { minutes: 2 }), signtoolSign('x.exe', { pfx: 'a.pfx' }, { minutes: 4 }), newSelfSignedCert('CN=B', { minutes: 600 })].map(own);
    const a = stories(steps).map((d) => [d.incidentId, ids(d)]);
    expect(stories([...steps].reverse()).map((d) => [d.incidentId, ids(d)])).toEqual(a);
    expect(stories(steps).map((d) => [d.incidentId, ids(d)])).toEqual(a);
  });

  test('a finding repeated in the batch counts once', () => {
    const create = newSelfSignedCert();
    expect(stories([create, create])[0]!.findings).toHaveLength(1);
  });
});

describe('assembleStories across hunt cycles (known stories from the story memory)', () => {
  function knownFrom(draft: StoryDraft): KnownStory {
    return {
      incidentId: draft.incidentId,
      ruleId: draft.ruleId,
      deviceKey: draft.deviceKey,
      actorKey: draft.actorKey,
      firstSeen: draft.firstSeen,
      lastSeen: draft.lastSeen,
      findingCount: draft.findingCount,
      materials: draft.materials,
      files: draft.files,
      fileCount: draft.fileCount,
      previousIncidentId: draft.previousIncidentId,
    };
  }

  test('a later finding of an open story joins its incident and the story is told whole again', () => {
    const first = stories([makecertCreate('CN=Dana', 'dana', { minutes: 0 }), pvk2pfx('dana', { minutes: 2 })].map(own))[0]!;
    const sign = own(signtoolSign('Setup.exe', { pfx: 'dana.pfx' }, { minutes: 70 }));
    const next = stories([sign], { known: [knownFrom(first)], remembered: first.findings.map((finding) => ({ incidentId: first.incidentId, finding })) });
    expect(next).toHaveLength(1);
    expect(next[0]!.incidentId).toBe(first.incidentId);
    expect(ids(next[0]!)).toEqual([...ids(first), sign.id]);
    expect(next[0]!.fresh.map((f) => f.id)).toEqual([sign.id]);
    expect(next[0]!.findingCount).toBe(3);
  });

  test('a row that arrives hours late joins the story it happened in', () => {
    const told = stories([newSelfSignedCert('CN=MS', { minutes: 0 }), certutilAddStore('TrustedPublisher', 'mscorp.cer', { minutes: 1 })].map(own))[0]!;
    const late = own(signtoolSign('sync.exe', { pfx: 'mscorp.pfx' }, { minutes: 1 }));
    expect(stories([late], { known: [knownFrom(told)] })[0]!.incidentId).toBe(told.incidentId);
  });

  test('after the grouping window the story restarts as a new incident naming the previous one', () => {
    const told = stories([signtoolSign('Host.exe', { pfx: 'hansen.pfx' }, { minutes: 0 })].map(own))[0]!;
    const later = own(signtoolSign('Host.exe', { pfx: 'hansen.pfx' }, { minutes: 9 * 60 }));
    const next = stories([later], { known: [knownFrom(told)] })[0]!;
    expect(next.incidentId).not.toBe(told.incidentId);
    expect(next.previousIncidentId).toBe(told.incidentId);
    // The window is a parameter.
    expect(stories([later], { known: [knownFrom(told)], params: { windowMs: 10 * HOUR } })[0]!.incidentId).toBe(told.incidentId);
  });

  test('known stories of other devices or actors are not joined', () => {
    const told = stories([newSelfSignedCert('CN=X', { minutes: 0 })])[0]!;
    const other = signtoolSign('x.exe', {}, { minutes: 2, account: { name: 'bob', domain: 'CONTOSO' } });
    expect(stories([other], { known: [knownFrom(told)] })[0]!.incidentId).not.toBe(told.incidentId);
  });
});

describe('story identity', () => {
  test('actor is domain\\name lower-cased, ? without a name', () => {
    expect(actorKey({ name: 'Alice', domain: 'CONTOSO' })).toBe('contoso\\alice');
    expect(actorKey({ name: 'svc', domain: null })).toBe('svc');
    expect(actorKey({ name: null, domain: 'X' })).toBe('?');
  });

  test('material: files, thumbprint, subject, parent process instance and script', () => {
    const f = makeFinding({
      tool: 'signtool',
      action: 'sign',
      certificate: { files: ['C:\\certs\\Code.PFX'], thumbprint: 'ab cd', subject: 'CN=Contoso, O=X' },
      signedFiles: ['out\\App.exe'],
      parent: { fileName: 'C:\\Windows\\cmd.exe', processId: 77, commandLine: 'cmd.exe /c ""C:\\src\\sign.bat" "' },
    });
    expect(materialKeys(f).sort()).toEqual(['file:app.exe', 'file:code.pfx', 'parent:77|cmd.exe', 'script:sign.bat', 'subject:contoso', 'thumbprint:abcd']);
    expect(scriptNames('powershell -File C:\\x\\release.ps1 -Sign')).toEqual(['release.ps1']);
    expect(scriptNames(null)).toEqual([]);
  });

  test('times are read from the finding, not the clock', () => {
    expect(stories([newSelfSignedCert('CN=X', { timestamp: at(0, T0) })])[0]!.firstSeen).toBe(Date.parse(T0));
  });
});

describe('assembleStories: buckets by device and actor as the keys read them, whatever the spelling', () => {
  test('device ids and accounts differing in case or blanks share a story; a blank id falls back to the name', () => {
    const a = makeFinding({ timestamp: at(0), device: { id: 'ABCDEF', name: 'ws-1' }, account: { name: 'Alice', domain: 'CONTOSO' } });
    const b = makeFinding({ timestamp: at(5), device: { id: ' abcdef ', name: 'renamed' }, account: { name: ' alice', domain: 'contoso ' } });
    const c = makeFinding({ timestamp: at(6), device: { id: '  ', name: 'WS-2' }, account: { name: 'alice', domain: 'contoso' } });
    const d = makeFinding({ timestamp: at(7), device: { id: '  ', name: 'ws-3' }, account: { name: 'alice', domain: 'contoso' } });
    const e = makeFinding({ timestamp: at(8), device: { id: null, name: ' ws-2' }, account: { name: 'alice', domain: 'contoso' } });
    const f = makeFinding({ timestamp: at(9), device: { id: 'abcdef', name: 'ws-1' }, account: { name: null, domain: 'contoso' } });
    const g = makeFinding({ timestamp: at(10), device: { id: 'abcdef', name: 'ws-1' }, account: { name: '', domain: null } });
    const drafts = stories([a, b, c, d, e, f, g]);
    const byKeys = drafts.map((draft) => `${draft.deviceKey} ${draft.actorKey} ${ids(draft).length}`).sort();
    expect(byKeys).toEqual(['id:abcdef ? 2', 'id:abcdef contoso\\alice 2', 'name:ws-2 contoso\\alice 2', 'name:ws-3 contoso\\alice 1']);
    for (const draft of drafts) {
      for (const finding of draft.findings) {
        expect(deviceKey(finding.device)).toBe(draft.deviceKey);
        expect(actorKey(finding.account)).toBe(draft.actorKey);
      }
    }
  });
});
