import { commandFacts, mergeFacts, type CommandFacts } from '../../../shared/cmdline/facts';

const facts = (over: Partial<CommandFacts> & Pick<CommandFacts, 'tool' | 'action'>): CommandFacts => ({ ...commandFacts(over.tool, over.action), ...over });

describe('mergeFacts', () => {
  it('is empty for no commands', () => {
    expect(mergeFacts([])).toEqual({
      tool: 'other',
      action: 'other',
      certificate: { subject: null, thumbprint: null, files: [], store: null, codeSigningEku: false },
      signedFile: null,
      signedFiles: [],
    });
  });

  it('takes tool and action from the furthest stage', () => {
    const merged = mergeFacts([
      facts({ tool: 'makecert', action: 'create-cert', subject: 'CN=a', store: 'My', files: ['a.pvk', 'a.cer'] }),
      facts({ tool: 'pvk2pfx', action: 'convert-key', files: ['a.pvk', 'a.cer', 'a.pfx'] }),
      facts({ tool: 'signtool', action: 'verify' }),
    ]);
    expect(merged).toMatchObject({ tool: 'pvk2pfx', action: 'convert-key', certificate: { subject: 'CN=a', store: 'My', files: ['a.pvk', 'a.cer', 'a.pfx'] } });
  });

  it('ranks sign > import-store > export-pfx > convert-key > create-cert > verify > other', () => {
    const order = ['other', 'verify', 'create-cert', 'convert-key', 'export-pfx', 'import-store', 'sign'] as const;
    for (let i = 1; i < order.length; i++) {
      expect(mergeFacts([facts({ tool: 'powershell', action: order[i]! }), facts({ tool: 'powershell', action: order[i - 1]! })]).action).toBe(order[i]);
      expect(mergeFacts([facts({ tool: 'powershell', action: order[i - 1]! }), facts({ tool: 'powershell', action: order[i]! })]).action).toBe(order[i]);
    }
  });

  it('prefers the decisive command for store and subject, then the first', () => {
    const merged = mergeFacts([
      facts({ tool: 'powershell', action: 'create-cert', subject: 'CN=a', store: 'Cert:\\CurrentUser\\My' }),
      facts({ tool: 'powershell', action: 'import-store', store: 'Cert:\\LocalMachine\\Root' }),
    ]);
    expect(merged.certificate).toMatchObject({ subject: 'CN=a', store: 'Cert:\\LocalMachine\\Root' });
  });

  it('prefers a certificate tool to its shell, and either to an unknown program, at equal stage', () => {
    expect(mergeFacts([facts({ tool: 'other', action: 'other' }), facts({ tool: 'powershell', action: 'other' }), facts({ tool: 'certutil', action: 'other' })]).tool).toBe('certutil');
    expect(mergeFacts([facts({ tool: 'other', action: 'other' }), facts({ tool: 'powershell', action: 'other' })]).tool).toBe('powershell');
  });

  it('unites files and signed files in order, and ORs the EKU', () => {
    const merged = mergeFacts([
      facts({ tool: 'signtool', action: 'sign', signedFiles: ['a.exe', 'b.exe'], files: ['c.pfx'] }),
      facts({ tool: 'signtool', action: 'sign', signedFiles: ['b.exe', 'c.exe'], files: ['c.pfx'], codeSigningEku: true }),
    ]);
    expect(merged).toMatchObject({ signedFile: 'a.exe', signedFiles: ['a.exe', 'b.exe', 'c.exe'], certificate: { files: ['c.pfx'], codeSigningEku: true } });
  });
});
