import { analyseSigntool } from '../../../shared/cmdline/signtool';
import { splitArgv } from '../../../shared/cmdline/tokenize';

describe('analyseSigntool', () => {
  it('reads sign with certificate file, signer name, store and thumbprint', () => {
    expect(analyseSigntool(splitArgv('sign /f c.pfx /p pw /n "Evil Corp" /s My /sha1 07AA8E037F6D1D83CA1B5023318981DDFB546BFB /fd SHA256 /tr http://ts /td sha256 a.exe b.dll'))).toEqual({
      tool: 'signtool',
      action: 'sign',
      subject: 'Evil Corp',
      thumbprint: null,
      store: 'My',
      files: ['c.pfx'],
      signedFiles: ['a.exe', 'b.dll'],
      codeSigningEku: false,
    });
  });

  it('reads dash switches, /ac and two-value /sa', () => {
    expect(analyseSigntool(splitArgv('sign -a -fd sha256 -ac cross.cer -sa 1.2.3 value payload.exe'))).toMatchObject({ files: ['cross.cer'], signedFiles: ['payload.exe'] });
  });

  it('signs nothing when verifying or timestamping', () => {
    expect(analyseSigntool(splitArgv('verify /pa /v a.exe'))).toMatchObject({ action: 'verify', signedFiles: [] });
    expect(analyseSigntool(splitArgv('timestamp /tr http://ts /td sha256 a.exe'))).toMatchObject({ action: 'other', signedFiles: [] });
    expect(analyseSigntool(splitArgv('/?')).action).toBe('other');
  });
});
