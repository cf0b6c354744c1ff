import { formatTimelineLine, stepObject, storyTimeline } from '../../../shared/enrich/timeline';
import { certutilAddStore, exportPfxPowerShell, makecertCreate, newSelfSignedCert, pvk2pfx, signtoolSign } from '../../support/findings';

describe('storyTimeline', () => {
  test('one line per step with what it touched; repeated work folds into one line', () => {
    const steps = [
      makecertCreate('CN=Dana Whitfield', 'DanaSPC', { minutes: 0 }),
      pvk2pfx('DanaSPC', { minutes: 1 }),
      ...Array.from({ length: 5 }, (_, i) => signtoolSign(`C:\\out\\Setup${i}.exe`, { pfx: 'DanaSPC.pfx' }, { minutes: 2 + i })),
      certutilAddStore('TrustedPublisher', 'DanaSPC.cer', { minutes: 9 }),
    ];
    const timeline = storyTimeline([...steps].reverse());
    expect(timeline.lines.map(formatTimelineLine)).toEqual([
      '#1 10:00:00 makecert / create-cert CN=Dana Whitfield',
      '#2 10:01:00 pvk2pfx / convert-key DanaSPC.pfx',
      '#3-7 10:02:00-10:06:00 signtool / sign x5 Setup0.exe and 4 more',
      '#8 10:09:00 certutil / import-store DanaSPC.cer into TrustedPublisher',
    ]);
    expect(timeline.moreSteps).toBe(0);
  });

  test('a self-signed program that ran reads as a run, not as another signing', () => {
    const signed = signtoolSign('C:\\Temp\\upd.exe', { pfx: 'upd.pfx' }, { minutes: 0 });
    // What the self-signed-binaries rule makes of the same file starting a minute later.
    const ran: typeof signed = { ...signtoolSign('C:\\Temp\\upd.exe', {}, { minutes: 1 }), tool: 'other', branch: 'Binary-SelfSignedExecution' };
    expect(storyTimeline([signed, ran]).lines.map(formatTimelineLine)).toEqual([
      '#1 10:00:00 signtool / sign upd.exe',
      '#2 10:01:00 program / ran self-signed upd.exe',
    ]);
  });

  test('at most maxLines lines; the rest, and steps the evidence does not carry, are counted', () => {
    const steps = [newSelfSignedCert('CN=A', { minutes: 0 }), newSelfSignedCert('CN=B', { minutes: 1 }), newSelfSignedCert('CN=C', { minutes: 2 })];
    const timeline = storyTimeline(steps, { maxLines: 2, totalSteps: 10 });
    expect(timeline.lines).toHaveLength(2);
    expect(timeline.moreSteps).toBe(8);
  });

  test('what a step touched, by action', () => {
    expect(stepObject(exportPfxPowerShell(undefined, 'C:\\Users\\alice\\dev.pfx'))).toBe('dev.pfx');
    expect(stepObject(signtoolSign('C:\\a\\b.exe', { sha1: 'AB' }))).toBe('b.exe');
    expect(stepObject(newSelfSignedCert('CN=Contoso'))).toBe('CN=Contoso');
  });

  test('an unreadable time (evidence off a queue) does not fail the timeline', () => {
    const f = newSelfSignedCert('CN=X');
    f.timestamp = '';
    expect(formatTimelineLine(storyTimeline([f]).lines[0]!)).toBe('#1 --:--:-- powershell / create-cert CN=X');
  });
});
