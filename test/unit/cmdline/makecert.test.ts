import { analyseMakecert } from '../../../shared/cmdline/makecert';
import { splitArgv } from '../../../shared/cmdline/tokenize';

describe('analyseMakecert', () => {
  it('reads subject, EKU, store and every file by role', () => {
    expect(analyseMakecert(splitArgv('-r -pe -n "CN=Evil, O=Evil" -eku 1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.3 -ss My -sr CurrentUser -sv evil.pvk -ic ca.cer -iv ca.pvk evil.cer'))).toEqual({
      tool: 'makecert',
      action: 'create-cert',
      subject: 'CN=Evil, O=Evil',
      thumbprint: null,
      store: 'My',
      files: ['evil.pvk', 'ca.cer', 'ca.pvk', 'evil.cer'],
      signedFiles: [],
      codeSigningEku: true,
    });
  });

  it('does not take option values for files', () => {
    expect(analyseMakecert(splitArgv('-sk MyKey -ss MyStore -a sha256 -len 2048 -cy end -sky signature out.cer')).files).toEqual(['out.cer']);
    expect(analyseMakecert(splitArgv('-eku 1.3.6.1.5.5.7.3.1 out.cer')).codeSigningEku).toBe(false);
  });

  it('is other without arguments', () => {
    expect(analyseMakecert([]).action).toBe('other');
  });
});
